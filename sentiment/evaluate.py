"""Evaluation on a GoEmotions-format file with the model's committed thresholds (no tuning here)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from sentiment.calibration import StressDefinition, apply_platt, raw_stress_logit
from sentiment.goemotions import EKMAN_GROUPS, SENTIMENT_GROUPS, read_tsv
from sentiment.metrics import (
    binary_prf,
    cross_fitted_macro_f1,
    expected_calibration_error,
    group_matrix,
    macro_f1,
)

if TYPE_CHECKING:
    from sentiment.model import EmotionModel


def evaluate_probs(
    probs: np.ndarray,
    targets: np.ndarray,
    labels: Sequence[str],
    thresholds: np.ndarray,
    stress: StressDefinition,
) -> dict[str, float]:
    """Metrics of probabilities (n, n_labels) against multi-hot targets with fixed thresholds."""
    pred = probs >= thresholds[None, :]
    truth = targets.astype(bool)
    stress_index = [list(labels).index(name) for name in stress.labels]
    stress_prob = apply_platt(raw_stress_logit(probs, stress_index), stress.scale, stress.bias)
    stress_truth: np.ndarray = np.asarray(truth[:, stress_index].any(axis=1))
    precision, recall, f1 = binary_prf(stress_prob >= stress.threshold, stress_truth)
    metrics = {
        "n": int(len(probs)),
        "macro_f1": macro_f1(pred, truth),
        "stress_f1": f1,
        "stress_precision": precision,
        "stress_recall": recall,
        "ece": expected_calibration_error(stress_prob, stress_truth),
    }
    if set(EKMAN_GROUPS["joy"]) <= set(labels):  # the grouped taxonomies exist for GoEmotions labels only
        metrics["ekman_macro_f1"] = macro_f1(
            group_matrix(pred, labels, EKMAN_GROUPS), group_matrix(truth, labels, EKMAN_GROUPS)
        )
        metrics["sentiment_macro_f1"] = macro_f1(
            group_matrix(pred, labels, SENTIMENT_GROUPS), group_matrix(truth, labels, SENTIMENT_GROUPS)
        )
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}


def evaluate_file(model: EmotionModel, path: Path, cross_fit: bool = False) -> dict[str, float]:
    """Score every row of a GoEmotions TSV with ``model`` and compute the metrics; with ``cross_fit`` also
    the macro-F1 of thresholds tuned on half the file and measured on the other half
    (:func:`sentiment.metrics.cross_fitted_macro_f1`): on the file the committed thresholds were tuned on
    (GoEmotions dev), that and not ``macro_f1`` is the figure to expect on unseen data."""
    data = read_tsv(path, len(model.labels))
    probs = model.probabilities(data.texts)
    metrics = evaluate_probs(probs, data.targets, model.labels, model.threshold_vector, model.stress)
    if cross_fit:
        mean, sd = cross_fitted_macro_f1(probs, data.targets)
        metrics |= {"macro_f1_cross_fitted": round(mean, 4), "macro_f1_cross_fitted_sd": round(sd, 4)}
    return metrics
