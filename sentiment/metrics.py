"""Multi-label metrics: macro-F1 over labels or label groups, binary P/R/F1, expected calibration error."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np


def f1_per_column(pred: np.ndarray, truth: np.ndarray) -> np.ndarray:
    """F1 of each column of two boolean (n, k) matrices; 0 where a column has no positives at all."""
    pred = pred.astype(bool)
    truth = truth.astype(bool)
    tp = (pred & truth).sum(axis=0)
    denom = pred.sum(axis=0) + truth.sum(axis=0)
    return np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)


def macro_f1(pred: np.ndarray, truth: np.ndarray) -> float:
    return float(f1_per_column(pred, truth).mean())


def group_matrix(
    matrix: np.ndarray, labels: Sequence[str], groups: Mapping[str, Sequence[str]]
) -> np.ndarray:
    """Collapse label columns to group columns: a group is on when any of its labels is on."""
    index = {name: i for i, name in enumerate(labels)}
    columns = [matrix[:, [index[name] for name in members]].any(axis=1) for members in groups.values()]
    return np.stack(columns, axis=1)


def binary_prf(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float, float]:
    """Precision, recall and F1 of one boolean vector against another."""
    pred = pred.astype(bool)
    truth = truth.astype(bool)
    tp = float((pred & truth).sum())
    precision = tp / pred.sum() if pred.sum() else 0.0
    recall = tp / truth.sum() if truth.sum() else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, f1


def expected_calibration_error(prob: np.ndarray, truth: np.ndarray, n_bins: int = 15) -> float:
    """ECE with equal-width bins: sum over bins of |mean prob - positive rate| weighted by bin size."""
    prob = np.asarray(prob, dtype=np.float64)
    truth = np.asarray(truth, dtype=np.float64)
    bins = np.minimum((prob * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        in_bin = bins == b
        if in_bin.any():
            ece += in_bin.mean() * abs(prob[in_bin].mean() - truth[in_bin].mean())
    return float(ece)


def best_f1_threshold(prob: np.ndarray, truth: np.ndarray, grid: np.ndarray | None = None) -> float:
    """The threshold on ``prob`` that maximises F1 against ``truth`` (ties: the lowest threshold)."""
    # rounded: np.arange's steps drift (0.37999999999999995), and the value is written to clearline.json
    grid = np.round(np.arange(0.02, 0.96, 0.01), 2) if grid is None else grid
    truth = truth.astype(bool)
    pred = prob[:, None] >= grid[None, :]
    tp = (pred & truth[:, None]).sum(axis=0)
    denom = pred.sum(axis=0) + truth.sum()
    f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
    return float(grid[int(np.argmax(f1))])


def cross_fitted_macro_f1(
    prob: np.ndarray, truth: np.ndarray, rounds: int = 10, seed: int = 0
) -> tuple[float, float]:
    """Macro-F1 of per-label thresholds measured on data they were not tuned on: the rows are split into
    random halves, each label's F1-best threshold is tuned on one half and the macro-F1 measured on the
    other, both ways, ``rounds`` times; returns (mean, standard deviation).

    Thresholds tuned on the rows they are scored on overstate F1 for unseen data, rare labels most (a label
    with six positives gets a threshold fitted to those six); this estimate is what to compare with a
    held-out test split. It is a little pessimistic for thresholds tuned on all the rows (half as many
    rows to tune on)."""
    prob = np.asarray(prob, dtype=np.float64)
    truth = np.asarray(truth).astype(bool)
    if prob.ndim != 2 or prob.shape != truth.shape:
        raise ValueError(f"probabilities {prob.shape} and labels {truth.shape} must be (rows, labels) alike")
    if len(prob) < 4 or rounds < 1:
        raise ValueError("cross-fitting needs at least 4 rows and 1 round")
    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(rounds):
        order = rng.permutation(len(prob))
        halves = (order[: len(prob) // 2], order[len(prob) // 2 :])
        for tune, measure in (halves, halves[::-1]):
            thresholds = np.array(
                [best_f1_threshold(prob[tune, j], truth[tune, j]) for j in range(prob.shape[1])]
            )
            scores.append(macro_f1(prob[measure] >= thresholds[None, :], truth[measure]))
    return float(np.mean(scores)), float(np.std(scores))
