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
