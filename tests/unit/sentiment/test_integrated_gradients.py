"""The adaptive path integration on functions whose integral is known exactly."""

from __future__ import annotations

import pytest
import torch

from sentiment.integrated_gradients import _first_spans, integrate

TOKENS, DIM = 3, 4
WEIGHTS = torch.tensor([[1.0, 0.5, -0.2, 0.1], [0.3, -1.0, 0.8, 0.0], [0.2, 0.2, 0.2, 0.2]])


def step_score(sharpness: float, centre: float):  # type: ignore[no-untyped-def]
    """A score that jumps from ~0 to ~1 at ``centre`` of the path from zeros to ones, like an upset text."""

    def score(embeds: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        z = (embeds * WEIGHTS).sum(dim=(1, 2)) / WEIGHTS.sum()  # z = alpha on the path from 0 to 1
        return torch.sigmoid(sharpness * (z - centre))

    return score


def run(  # type: ignore[no-untyped-def]
    sharpness: float,
    n_steps: int,
    tolerance: float | None,
    budget: int = 64,
    probes: int = 0,
    min_first_pass: int = 0,
    min_single_segment: int = 0,
):
    score = step_score(sharpness, 0.43)
    start, end = torch.zeros(1, TOKENS, DIM), torch.ones(1, TOKENS, DIM)
    mask = torch.ones(1, TOKENS, dtype=torch.long)
    alphas = [0.0, 1.0] + [j / (probes + 1) for j in range(1, probes + 1)]
    with torch.no_grad():
        known = [(a, float(score(start + a * (end - start), mask)[0])) for a in alphas]
    total = known[1][1] - known[0][1]
    result = integrate(
        score, start, end, mask, known, n_steps, tolerance, budget, min_first_pass, min_single_segment
    )
    return result, total


def test_completeness_on_a_smooth_path_in_one_pass() -> None:
    result, total = run(sharpness=3.0, n_steps=4, tolerance=0.01)
    assert result.passes == 1 and result.evaluations == 4
    assert result.per_token.shape == (TOKENS,)
    assert float(result.per_token.sum()) == pytest.approx(total, abs=0.01)
    assert result.delta == pytest.approx(float(result.per_token.sum()) - total, abs=1e-6)


def test_a_step_is_caught_by_refined_passes_where_a_fixed_rule_fails() -> None:
    fixed, _ = run(sharpness=150.0, n_steps=64, tolerance=None)
    adaptive, _ = run(sharpness=150.0, n_steps=4, tolerance=0.01)
    assert abs(fixed.delta) > 0.05  # 64 evenly spread nodes still miss the jump
    assert abs(adaptive.delta) <= 0.01
    assert adaptive.passes > 1 and adaptive.evaluations < 64


def test_probes_put_the_first_segments_around_the_step() -> None:
    blind, _ = run(sharpness=60.0, n_steps=4, tolerance=0.01)
    probed, _ = run(sharpness=60.0, n_steps=2, tolerance=0.01, probes=5)
    assert abs(probed.delta) <= 0.01 and abs(blind.delta) <= 0.01
    assert probed.evaluations < blind.evaluations and probed.passes < blind.passes


def test_the_budget_caps_the_passes() -> None:
    result, _ = run(sharpness=400.0, n_steps=4, tolerance=1e-9, budget=14)
    assert result.evaluations == 14 and result.passes == 2  # 4, then the 5 pieces cut at 4 nodes x 2


def test_flat_pieces_between_known_points_are_merged() -> None:
    known = [(0.0, 0.02), (0.2, 0.021), (0.4, 0.025), (0.6, 0.9), (0.8, 0.91), (1.0, 0.912)]
    spans = _first_spans(known, flat=0.0125)
    assert [(s.low, s.high) for s in spans] == [(0.0, 0.4), (0.4, 0.6), (0.6, 1.0)]
    assert [(s.f_low, s.f_high) for s in spans] == [(0.02, 0.025), (0.025, 0.9), (0.9, 0.912)]
    assert len(_first_spans(known, flat=0.0)) == 5


def test_a_first_pass_of_few_segments_gets_more_nodes_each() -> None:
    coarse, total = run(sharpness=3.0, n_steps=2, tolerance=None)
    fine, _ = run(sharpness=3.0, n_steps=2, tolerance=None, min_first_pass=8)
    converged, _ = run(sharpness=3.0, n_steps=64, tolerance=None)
    assert (coarse.evaluations, fine.evaluations) == (2, 8)  # one segment: 8 nodes instead of 2
    fine_error = abs(fine.per_token - converged.per_token).max()
    assert fine_error < abs(coarse.per_token - converged.per_token).max() / 10
    # segments enough already: the minimum adds nothing
    probed, _ = run(sharpness=60.0, n_steps=2, tolerance=None, probes=5)
    probed_min, _ = run(sharpness=60.0, n_steps=2, tolerance=None, probes=5, min_first_pass=4)
    assert probed.evaluations == probed_min.evaluations >= 4
    # uneven shares round up: 3 segments and a minimum of 8 -> 3 nodes each
    three, _ = run(sharpness=60.0, n_steps=2, tolerance=None, probes=2, min_first_pass=8)
    assert three.evaluations == 9


def test_a_single_segment_first_pass_gets_its_own_minimum() -> None:
    one, _ = run(sharpness=3.0, n_steps=2, tolerance=None, min_first_pass=8, min_single_segment=12)
    assert one.evaluations == 12  # the score hardly moves: one segment, 12 nodes
    plain_min, _ = run(sharpness=60.0, n_steps=2, tolerance=None, probes=2, min_first_pass=8)
    both, _ = run(
        sharpness=60.0, n_steps=2, tolerance=None, probes=2, min_first_pass=8, min_single_segment=12
    )
    assert both.evaluations == plain_min.evaluations == 9  # several segments: only min_first_pass counts
