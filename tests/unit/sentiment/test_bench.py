from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from sentiment.bench import attribution_agreement, explanation_figures, machine_probe_ms, run_benchmark
from sentiment.bench_data import support_utterances
from sentiment.model import EmotionModel
from sentiment.types import Explanation, Faithfulness, WordAttribution

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
    assert figures["explain_vs_converged_same_top_word"] in (0.0, 0.5, 1.0)  # a share of the 2 texts
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


def explanation(attributions: list[float], top_word: str, delta: float = 0.0) -> Explanation:
    words = [WordAttribution(f"w{i}", 3 * i, 3 * i + 2, a) for i, a in enumerate(attributions)]
    faithfulness = Faithfulness(1, 0.9, 0.5, 0.1, 0.05, 0.4)
    return Explanation("a text", "stress", words, delta, faithfulness, "m", 8, False, [top_word])


def test_attribution_agreement_on_explanations_worked_by_hand() -> None:
    converged = [
        explanation([0.2, 0.4, 0.6], "w2", delta=1.2),  # sum - delta = 0: the score did not move
        explanation([0.1, 0.3, 0.2], "w1"),  # moved by 0.6
        explanation([0.1], "w0"),  # one word: no correlation
        explanation([0.1, 0.2], "w1"),
    ]
    ours = [
        explanation([0.1, 0.2, 0.3], "w2"),  # r = 1 (b = 2a); largest difference 0.3
        explanation([0.1, 0.2, 0.3], "w2"),  # centred (-1, 0, 1) vs (-1, 1, 0): r = 1/2; top word differs
        explanation([0.5], "w0"),  # difference 0.4, the largest
        explanation([0.0, 0.0], "w1"),  # no spread: no correlation
    ]
    assert attribution_agreement("ours", ours, converged) == pytest.approx(
        {
            "ours_vs_converged_pearson_mean": 0.75,  # (1 + 1/2) / 2
            "ours_vs_converged_pearson_moved": 0.5,  # the second text only
            "ours_vs_converged_max_word_difference": 0.4,
            "ours_vs_converged_same_top_word": 0.75,  # 3 of 4
        }
    )
