from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from sentiment.calibration import StressDefinition, apply_platt, fit_platt, stress_from_logits
from sentiment.errors import DatasetError
from sentiment.goemotions import read_tsv
from sentiment.metrics import (
    best_f1_threshold,
    binary_prf,
    cross_fitted_macro_f1,
    expected_calibration_error,
    group_matrix,
    macro_f1,
)


def test_macro_f1_by_hand() -> None:
    truth = np.array([[1, 0], [1, 0], [0, 1], [0, 0]], dtype=bool)
    pred = np.array([[1, 0], [0, 0], [0, 1], [1, 1]], dtype=bool)
    # label 0: tp 1, fp 1, fn 1 -> 0.5; label 1: tp 1, fp 1 -> 2/3
    assert macro_f1(pred, truth) == pytest.approx((0.5 + 2 / 3) / 2)


def test_groups_are_on_when_any_member_is_on() -> None:
    matrix = np.array([[1, 0, 0], [0, 0, 1], [0, 0, 0]], dtype=bool)
    grouped = group_matrix(matrix, ["a", "b", "c"], {"ab": ["a", "b"], "c": ["c"]})
    assert grouped.tolist() == [[True, False], [False, True], [False, False]]


def test_binary_prf_and_empty_cases() -> None:
    assert binary_prf(np.array([1, 1, 0, 0]), np.array([1, 0, 1, 0])) == (0.5, 0.5, 0.5)
    assert binary_prf(np.array([0, 0]), np.array([0, 0])) == (0.0, 0.0, 0.0)


def test_ece_by_hand() -> None:
    # bin of 0.9 holds 2 items (1 positive): |0.9 - 0.5| * 0.5; bin of 0.1 holds 2 (0 positive): 0.1 * 0.5
    assert expected_calibration_error(
        np.array([0.9, 0.9, 0.1, 0.1]), np.array([1, 0, 0, 0])
    ) == pytest.approx(0.25)
    assert expected_calibration_error(np.array([1.0, 0.0]), np.array([1, 0])) == pytest.approx(0.0)


def test_best_threshold_separates_the_classes() -> None:
    prob = np.array([0.1, 0.2, 0.35, 0.6, 0.7])
    truth = np.array([0, 0, 1, 1, 1])
    assert 0.2 < best_f1_threshold(prob, truth) <= 0.35


def test_best_threshold_is_a_round_grid_value() -> None:
    """Written to clearline.json as is: 0.38, not 0.37999999999999995."""
    prob = np.array([0.1, 0.2, 0.375, 0.6, 0.7])
    truth = np.array([0, 0, 1, 1, 1])
    threshold = best_f1_threshold(prob, truth)
    assert threshold == round(threshold, 2) and repr(threshold) == "0.21"


def test_platt_recovers_known_parameters() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(size=20000) * 2
    y = rng.random(20000) < apply_platt(x, 0.5, -1.0)
    scale, bias = fit_platt(x, y)
    assert scale == pytest.approx(0.5, abs=0.05)
    assert bias == pytest.approx(-1.0, abs=0.08)


def test_stress_uses_the_largest_stress_logit() -> None:
    logits = torch.tensor([[0.0, 2.0, -1.0], [3.0, -2.0, -3.0]])
    definition = StressDefinition(("b", "c"), scale=2.0, bias=-1.0)
    got = stress_from_logits(logits, [1, 2], definition)
    assert got.tolist() == pytest.approx(torch.sigmoid(torch.tensor([2 * 2.0 - 1, 2 * -2.0 - 1])).tolist())


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("only text\n", r":1: expected text<TAB>label ids"),
        ("ok\t1\tx\nbad\tone\tx\n", r":2: label ids must be integers"),
        ("ok\t28\tx\n", r"label id outside 0..27"),
        ("\n\n", "no rows"),
    ],
)
def test_malformed_tsv_rows_are_reported_with_their_line(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "bad.tsv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DatasetError, match=message):
        read_tsv(path, 28)


def test_cross_fitted_macro_f1_sees_through_thresholds_fitted_to_noise() -> None:
    rng = np.random.default_rng(3)
    n = 80
    # a label the scores know nothing about: tuning on the same rows still finds a threshold that "works"
    rare = np.zeros((n, 1), dtype=bool)
    rare[rng.choice(n, 5, replace=False)] = True
    noise = rng.random((n, 1))
    tuned = best_f1_threshold(noise[:, 0], rare[:, 0])
    in_sample = macro_f1(noise >= tuned, rare)
    mean, sd = cross_fitted_macro_f1(noise, rare, rounds=10, seed=0)
    assert in_sample > 0.1 and mean < in_sample / 1.5
    assert cross_fitted_macro_f1(noise, rare, seed=0) == (mean, sd)  # reproducible by seed
    # a label the scores separate keeps its F1 on the other half
    separable = rng.random((n, 1)) < 0.3
    scores = np.where(separable, 0.8, 0.2) + rng.normal(0, 0.02, (n, 1))
    assert cross_fitted_macro_f1(scores, separable)[0] > 0.9


def test_cross_fitting_refuses_what_it_cannot_split() -> None:
    with pytest.raises(ValueError, match="at least 4 rows"):
        cross_fitted_macro_f1(np.zeros((3, 2)), np.zeros((3, 2)))
    with pytest.raises(ValueError, match="must be"):
        cross_fitted_macro_f1(np.zeros((8, 2)), np.zeros((8, 3)))
