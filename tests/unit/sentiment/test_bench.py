from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sentiment.bench import explanation_figures, machine_probe_ms, run_benchmark
from sentiment.bench_data import support_utterances
from sentiment.model import EmotionModel

REQUIRED = {
    "score_per_s",
    "raw_forward_per_s",
    "pipeline_per_s",
    "score_vs_raw_forward",
    "score_vs_pipeline",
    "explain_p50_ms",
    "explain_p95_ms",
    "explain_abs_delta_max",
    "explain_comprehensiveness",
    "reference_p95_ms",
    "reference_comprehensiveness",
    "random_comprehensiveness",
}


def test_benchmark_utterances_are_varied_and_reproducible() -> None:
    texts = support_utterances(1000)
    assert len(texts) == 1000 and texts == support_utterances(1000)
    lengths = sorted(len(t.split()) for t in texts)
    assert lengths[0] <= 5 and lengths[-1] >= 40


def test_benchmark_reports_every_required_figure(plain_model: EmotionModel, plain_dir: Path) -> None:
    figures = run_benchmark(
        plain_model, n=64, pipeline_n=10, explain_n=5, reference_n=2, speed_probe_model=plain_dir
    )
    assert set(figures) >= REQUIRED
    assert figures["explain_n"] == 5 and figures["reference_n"] == 2
    assert figures["explain_latency_rounds"] == figures["reference_latency_rounds"] == 3
    assert figures["reference_n_steps"] == 50
    assert figures["rounds"] == 3 and figures["score_vs_raw_forward"] > 0
    # the stock LIG reference and ours integrate the same path as the converged integral
    assert figures["explain_vs_converged_pearson_mean"] > 0.9
    assert figures["reference_vs_converged_pearson_mean"] > 0.9
    assert 0.0 <= figures["explain_vs_converged_same_top_word"] <= 1.0
    # the p95 scaled to the target machine by one fixed workload's time on each machine
    assert figures["speed_probe_21_tokens_ms"] > 0 and figures["reference_21_tokens_ms"] > 0
    speed = figures["target_machine_speed_probe_21_tokens_ms"] / figures["speed_probe_21_tokens_ms"]
    assert figures["machine_speed_vs_target_machine"] == pytest.approx(speed, rel=0.01)
    assert figures["explain_p95_ms_on_target_machine"] == pytest.approx(
        figures["explain_p95_ms"] * speed, rel=0.01
    )


def test_speed_probe_refuses_a_text_shorter_than_its_length(plain_dir: Path) -> None:
    with pytest.raises(ValueError, match="not 21"):
        machine_probe_ms(plain_dir, runs=1, text="my card")


def test_latency_is_each_texts_median_over_the_rounds(plain_model: EmotionModel) -> None:
    explanation = plain_model.explain("my card is blocked")
    elapsed_ms = [[10, 500, 30], [12, 20, 31], [11, 21, 29]]  # rounds x texts; a burst in round one
    ticks: list[float] = []
    for round_index, row in enumerate(elapsed_ms):
        for text_index, ms in enumerate(row):
            start = round_index * 10 + text_index
            ticks += [start, start + ms / 1000]
    figures, results = explanation_figures(
        ["a", "b", "c"], lambda _: explanation, rounds=3, clock=iter(ticks).__next__
    )
    medians = [11, 21, 30]
    assert figures["p95_ms"] == pytest.approx(np.percentile(medians, 95), abs=0.05)
    assert figures["max_ms"] == pytest.approx(30, abs=0.05)
    assert figures["p95_ms_first_round"] == pytest.approx(np.percentile([10, 500, 30], 95), abs=0.05)
    assert figures["latency_rounds"] == 3 and len(results) == 3
