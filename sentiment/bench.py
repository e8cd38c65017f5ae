"""``clearline bench sentiment``: throughput of ``score`` against two baselines, explanation latency and
faithfulness against a reference Captum LIG (n_steps=50), all measured in one run on the same texts."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from sentiment.bench_data import support_utterances
from sentiment.explain import DEFAULT_STEPS, explain, explain_with_layer_ig
from sentiment.model import EmotionModel
from sentiment.train import default_backbone
from sentiment.types import Explanation

REFERENCE_STEPS = 50
# The latency target (p95 <= 150 ms) was set on a 2-vCPU machine where Captum's LIG (n_steps=50) on
# all-MiniLM-L6 takes about 450 ms for a 21-token utterance. Each run times that same workload (the
# 6-layer backbone, whatever model is configured) on its own machine, so the p95 can be scaled to that
# machine: faster or slower hardware, not a smaller model, moves the scale.
TARGET_MACHINE_LIG_21_TOKENS_MS = 450.0
SPEED_PROBE_TOKENS = 21
SPEED_PROBE_TEXT = (
    "why has my card payment been declined again when the money is in my account "
    "and the shop says it failed twice"
)
CONVERGED_DELTA = 0.002
MOVED = 0.1  # f(text) - f(baseline) at least this: there is a score change to explain


def _rate(n: int, run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return n / (time.perf_counter() - started)


def raw_forward(model: EmotionModel, texts: list[str], batch_size: int = 64) -> None:
    """The baseline: the same model on batches in input order, tokenized and padded per batch."""
    with torch.inference_mode():
        for start in range(0, len(texts), batch_size):
            batch = model.tokenizer(
                texts[start : start + batch_size],
                padding=True,
                truncation=True,
                max_length=model.max_length,
                return_tensors="pt",
            )
            model.model(**batch)


def pipeline_loop(model: EmotionModel) -> Callable[[list[str]], None]:
    """The other baseline: a transformers text-classification pipeline called once per utterance."""
    from transformers import pipeline

    classify = pipeline(  # type: ignore[call-overload]
        "text-classification",
        model=model.model,
        tokenizer=model.tokenizer,
        top_k=None,
        function_to_apply="sigmoid",
        device=-1,
    )

    def run(texts: list[str]) -> None:
        for text in texts:
            classify(text, truncation=True, max_length=model.max_length)

    return run


def run_benchmark(
    model: EmotionModel,
    n: int = 1000,
    pipeline_n: int = 300,
    explain_n: int = 60,
    reference_n: int = 60,
    explain_max_tokens: int = 32,
    rounds: int = 3,
    latency_rounds: int = 3,
    speed_probe_model: Path | None = None,
) -> dict[str, Any]:
    texts = support_utterances(n)
    model.score(texts[:64])  # warm-up (allocator, kernels)
    run_pipeline = pipeline_loop(model)
    run_pipeline(texts[:8])  # warm-up
    # every k-th utterance, so the pipeline's sample has the lengths of the whole set
    sample = texts[:: max(1, n // pipeline_n)][:pipeline_n]
    # score, the raw forward and the pipeline loop alternate, so all see the same load on a shared
    # machine; figures are medians over the rounds, ratios medians of the per-round ratios.
    score_rates, raw_rates, pipeline_rates = [], [], []
    for _ in range(rounds):
        score_rates.append(_rate(n, lambda: model.score(texts)))
        raw_rates.append(_rate(n, lambda: raw_forward(model, texts)))
        pipeline_rates.append(_rate(len(sample), lambda: run_pipeline(sample)))
    scores = np.array(score_rates)
    score_per_s, raw_per_s = float(np.median(score_rates)), float(np.median(raw_rates))
    pipeline_per_s = float(np.median(pipeline_rates))
    ratio = float(np.median(scores / np.array(raw_rates)))
    pipeline_ratio = float(np.median(scores / np.array(pipeline_rates)))

    short = [t for t in dict.fromkeys(texts) if len(model.tokenizer(t)["input_ids"]) <= explain_max_tokens]
    short = short[:explain_n]
    explain(model, short[0])  # warm-up
    ours, our_results = explanation_figures(short, lambda t: explain(model, t), latency_rounds)
    # The reference runs on the same texts as ours (by default all of them): on the first 20, 16 of them
    # calm (stress < 0.1), one near-tied word of one calm text moved the comparison by 0.0002.
    reference, reference_results = explanation_figures(
        short[:reference_n],
        lambda t: explain_with_layer_ig(model, t, n_steps=REFERENCE_STEPS),
        latency_rounds,
    )
    # Both against a converged integral (|delta| <= 0.002) on the reference's texts.
    converged = [
        explain(model, t, n_steps=4, probes=9, delta_tolerance=CONVERGED_DELTA, max_steps=2000)
        for t in short[:reference_n]
    ]
    lig_21_ms = reference_ms_at_length(model, short, SPEED_PROBE_TOKENS)
    probe_ms = machine_probe_ms(speed_probe_model or default_backbone())
    speed = TARGET_MACHINE_LIG_21_TOKENS_MS / probe_ms  # > 1: this machine is faster
    agreement = {
        **attribution_agreement("explain", our_results[:reference_n], converged),
        **attribution_agreement("reference", reference_results, converged),
    }
    return {
        "model": model.version,
        "scoring_runtime": model.runtime,  # score_per_s; the baselines and explanations run on torch
        "threads": torch.get_num_threads(),
        "n": n,
        "score_per_s": round(score_per_s, 1),
        "raw_forward_per_s": round(raw_per_s, 1),
        "pipeline_n": len(sample),
        "pipeline_per_s": round(pipeline_per_s, 1),
        "rounds": rounds,
        "score_vs_raw_forward": round(ratio, 2),
        "score_vs_pipeline": round(pipeline_ratio, 2),
        "explain_max_tokens": explain_max_tokens,
        "explain_first_pass_steps": DEFAULT_STEPS,
        **{f"explain_{key}": value for key, value in ours.items() if key != "random_comprehensiveness"},
        "random_comprehensiveness": ours["random_comprehensiveness"],
        "reference_21_tokens_ms": round(lig_21_ms, 1),
        "speed_probe_21_tokens_ms": round(probe_ms, 1),
        "target_machine_speed_probe_21_tokens_ms": TARGET_MACHINE_LIG_21_TOKENS_MS,
        "machine_speed_vs_target_machine": round(speed, 2),
        "explain_p95_ms_on_target_machine": round(ours["p95_ms"] * speed, 1),
        "reference_n_steps": REFERENCE_STEPS,
        **{f"reference_{key}": value for key, value in reference.items()},
        "explain_comprehensiveness_on_reference_texts": round(
            float(np.mean([r.faithfulness.comprehensiveness for r in our_results[:reference_n]])), 4
        ),
        **agreement,
    }


def reference_ms_at_length(model: EmotionModel, texts: list[str], tokens: int, count: int = 3) -> float:
    """Median time of the reference LIG on up to ``count`` texts of the token count nearest ``tokens``
    (best of two runs each: the machine's speed, not a passing stall)."""
    lengths = {t: len(model.tokenizer(t)["input_ids"]) for t in texts}
    nearest = min(lengths.values(), key=lambda n: (abs(n - tokens), n))
    chosen = [t for t in texts if lengths[t] == nearest][:count]
    times = []
    for text in chosen:
        runs = []
        for _ in range(2):
            started = time.perf_counter()
            explain_with_layer_ig(model, text, n_steps=REFERENCE_STEPS)
            runs.append((time.perf_counter() - started) * 1000)
        times.append(min(runs) * tokens / nearest)  # cost grows about linearly with the length
    return float(np.median(times))


def machine_probe_ms(model_dir: Path, runs: int = 3, text: str = SPEED_PROBE_TEXT) -> float:
    """Best time of Captum's LIG (n_steps=50, one batch) on a 21-token text through the encoder at
    ``model_dir`` with a 28-label head: the workload the target machine's 450 ms was measured on."""
    from captum.attr import LayerIntegratedGradients
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)  # the head is random; its values do not change the time
    network = AutoModelForSequenceClassification.from_pretrained(str(model_dir), num_labels=28)
    network.train(False)
    tokenizer = AutoTokenizer.from_pretrained(str(model_dir))
    ids = tokenizer(text, truncation=True, max_length=SPEED_PROBE_TOKENS)["input_ids"]
    if len(ids) != SPEED_PROBE_TOKENS:
        raise ValueError(f"speed probe text has {len(ids)} tokens, not {SPEED_PROBE_TOKENS}")
    input_ids = torch.tensor([ids])
    pad = tokenizer.pad_token_id or 0
    baseline = torch.tensor([[ids[0], *[pad] * (len(ids) - 2), ids[-1]]])

    def forward(batch_ids: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(network(input_ids=batch_ids).logits).amax(dim=-1)

    lig = LayerIntegratedGradients(forward, network.get_input_embeddings())
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        lig.attribute(
            input_ids, baselines=baseline, n_steps=REFERENCE_STEPS, internal_batch_size=REFERENCE_STEPS
        )
        times.append((time.perf_counter() - started) * 1000)
    return min(times)


def explanation_figures(
    texts: list[str],
    run: Callable[[str], Explanation],
    rounds: int = 1,
    clock: Callable[[], float] = time.perf_counter,
) -> tuple[dict[str, float], list[Explanation]]:
    """Latency percentiles, convergence and faithfulness of one explanation method over ``texts``.

    Every text is timed once per round, the rounds one after the other over all texts, and its latency
    is the median of its rounds: on a shared host a neighbour's burst lands on a few consecutive
    texts of one round, and a single round's p95 (the 3rd-slowest of 60) moved by up to a third between
    runs. ``p95_ms_first_round`` is the p95 of the first round alone. Results are the first round's.
    """
    rounds_ms: list[list[float]] = []
    results: list[Explanation] = []
    for round_index in range(rounds):
        times = []
        for text in texts:
            started = clock()
            explanation = run(text)
            times.append((clock() - started) * 1000)
            if round_index == 0:
                results.append(explanation)
        rounds_ms.append(times)
    latencies = np.median(np.array(rounds_ms), axis=0)
    deltas = [abs(r.delta) for r in results]
    figures = {
        "n": len(texts),
        "n_steps_mean": round(float(np.mean([r.n_steps for r in results])), 1),  # gradient evaluations
        "p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "p95_ms": round(float(np.percentile(latencies, 95)), 1),
        "max_ms": round(float(latencies.max()), 1),
        "latency_rounds": rounds,
        "p95_ms_first_round": round(float(np.percentile(rounds_ms[0], 95)), 1),
        "abs_delta_max": round(max(deltas), 4),
        "abs_delta_mean": round(float(np.mean(deltas)), 4),
        "comprehensiveness": round(float(np.mean([r.faithfulness.comprehensiveness for r in results])), 4),
        "sufficiency": round(float(np.mean([r.faithfulness.sufficiency for r in results])), 4),
        "random_comprehensiveness": round(
            float(np.mean([r.faithfulness.random_comprehensiveness for r in results])), 4
        ),
    }
    return figures, results


def attribution_agreement(
    name: str, results: list[Explanation], converged: list[Explanation]
) -> dict[str, float]:
    """How close word attributions are to a converged integral's on the same texts: mean Pearson
    correlation over all texts and over those whose score moved by at least ``MOVED`` along the path
    (near-zero attributions correlate poorly whatever their error), the largest absolute difference of
    one word's attribution, and the share of texts with the same top word."""
    correlations, moved, differences, same_top = [], [], [], []
    for mine, truth in zip(results, converged, strict=True):
        a = np.array([w.attribution for w in mine.words])
        b = np.array([w.attribution for w in truth.words])
        if len(a) > 1 and a.std() > 0 and b.std() > 0:
            correlations.append(float(np.corrcoef(a, b)[0, 1]))
            if abs(b.sum() - truth.delta) >= MOVED:
                moved.append(correlations[-1])
        differences.append(float(np.abs(a - b).max()))
        same_top.append(mine.top_words[:1] == truth.top_words[:1])
    return {
        f"{name}_vs_converged_pearson_mean": round(float(np.mean(correlations)), 4) if correlations else 1.0,
        f"{name}_vs_converged_pearson_moved": round(float(np.mean(moved)), 4) if moved else 1.0,
        f"{name}_vs_converged_max_word_difference": round(max(differences), 4),
        f"{name}_vs_converged_same_top_word": round(float(np.mean(same_top)), 4),
    }
