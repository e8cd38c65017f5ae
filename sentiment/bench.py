"""``clearline bench sentiment``: throughput of ``score`` against two baselines, explanation latency and
faithfulness against a reference Captum LIG (n_steps=50), all measured in one run on the same texts."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import torch

from sentiment.bench_data import support_utterances
from sentiment.explain import DEFAULT_STEPS, DELTA_TOLERANCE, explain
from sentiment.model import EmotionModel

REFERENCE_STEPS = 50


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
    reference_n: int = 20,
    explain_max_tokens: int = 32,
    rounds: int = 3,
) -> dict[str, Any]:
    texts = support_utterances(n)
    model.score(texts[:64])  # warm-up (allocator, kernels)
    # score and the raw forward alternate, so both see the same load on a shared machine; medians.
    score_rates, raw_rates = [], []
    for _ in range(rounds):
        score_rates.append(_rate(n, lambda: model.score(texts)))
        raw_rates.append(_rate(n, lambda: raw_forward(model, texts)))
    score_per_s, raw_per_s = float(np.median(score_rates)), float(np.median(raw_rates))
    ratio = float(np.median(np.array(score_rates) / np.array(raw_rates)))
    run_pipeline = pipeline_loop(model)
    run_pipeline(texts[:8])  # warm-up
    pipeline_per_s = _rate(pipeline_n, lambda: run_pipeline(texts[:pipeline_n]))

    short = [t for t in dict.fromkeys(texts) if len(model.tokenizer(t)["input_ids"]) <= explain_max_tokens]
    short = short[:explain_n]
    explain(model, short[0])  # warm-up
    ours = explanation_figures(model, short, DEFAULT_STEPS)
    reference = explanation_figures(model, short[:reference_n], REFERENCE_STEPS, delta_tolerance=None)
    ours_on_reference_texts = explanation_figures(model, short[:reference_n], DEFAULT_STEPS)
    return {
        "model": model.version,
        "threads": torch.get_num_threads(),
        "n": n,
        "score_per_s": round(score_per_s, 1),
        "raw_forward_per_s": round(raw_per_s, 1),
        "pipeline_n": pipeline_n,
        "pipeline_per_s": round(pipeline_per_s, 1),
        "rounds": rounds,
        "score_vs_raw_forward": round(ratio, 2),
        "score_vs_pipeline": round(score_per_s / pipeline_per_s, 2),
        "explain_max_tokens": explain_max_tokens,
        **{f"explain_{key}": value for key, value in ours.items() if key != "random_comprehensiveness"},
        "random_comprehensiveness": ours["random_comprehensiveness"],
        **{f"reference_{key}": value for key, value in reference.items()},
        "explain_comprehensiveness_on_reference_texts": ours_on_reference_texts["comprehensiveness"],
    }


def explanation_figures(
    model: EmotionModel, texts: list[str], n_steps: int, delta_tolerance: float | None = DELTA_TOLERANCE
) -> dict[str, float]:
    """Latency percentiles, convergence and faithfulness of ``explain`` over ``texts``."""
    latencies, deltas, comprehensiveness, sufficiency, randoms, used_steps = [], [], [], [], [], []
    for text in texts:
        started = time.perf_counter()
        result = explain(model, text, n_steps=n_steps, delta_tolerance=delta_tolerance)
        latencies.append((time.perf_counter() - started) * 1000)
        deltas.append(abs(result.delta))
        comprehensiveness.append(result.faithfulness.comprehensiveness)
        sufficiency.append(result.faithfulness.sufficiency)
        randoms.append(result.faithfulness.random_comprehensiveness)
        used_steps.append(result.n_steps)
    return {
        "n": len(texts),
        "n_steps": n_steps,
        "n_steps_mean": round(float(np.mean(used_steps)), 1),  # after convergence-driven retries
        "p50_ms": round(float(np.percentile(latencies, 50)), 1),
        "p95_ms": round(float(np.percentile(latencies, 95)), 1),
        "abs_delta_max": round(max(deltas), 4),
        "abs_delta_mean": round(float(np.mean(deltas)), 4),
        "comprehensiveness": round(float(np.mean(comprehensiveness)), 4),
        "sufficiency": round(float(np.mean(sufficiency)), 4),
        "random_comprehensiveness": round(float(np.mean(randoms)), 4),
    }
