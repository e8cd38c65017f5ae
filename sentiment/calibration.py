"""Stress probability: its definition from the emotion probabilities and its calibration (Platt scaling).

Raw stress = the highest probability among the stress labels (the negative GoEmotions labels, see
``goemotions.STRESS_LABELS``). Calibrated stress = sigmoid(a * logit(raw) + b), ``a`` and ``b`` fitted on
dev by logistic regression against "the utterance has at least one stress label". This is temperature
scaling with a bias (Platt); it stays differentiable, so Integrated Gradients can explain it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import torch

_EPS = 1e-6


@dataclass(frozen=True)
class StressDefinition:
    labels: tuple[str, ...]
    scale: float = 1.0  # Platt "a" (1 / temperature)
    bias: float = 0.0  # Platt "b"
    threshold: float = 0.5  # flag when calibrated stress >= threshold (dev F1-optimal for the shipped model)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["labels"] = list(self.labels)
        data["pooling"] = "max"
        data["calibration"] = "platt"
        return data

    @classmethod
    def from_json(cls, data: dict[str, object]) -> StressDefinition:
        labels = data["labels"]
        if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
            raise ValueError("stress.labels must be a list of label names")
        return cls(
            labels=tuple(labels),
            scale=float(data.get("scale", 1.0)),  # type: ignore[arg-type]
            bias=float(data.get("bias", 0.0)),  # type: ignore[arg-type]
            threshold=float(data.get("threshold", 0.5)),  # type: ignore[arg-type]
        )


def stress_from_logits(
    logits: torch.Tensor, label_index: Sequence[int], definition: StressDefinition
) -> torch.Tensor:
    """Calibrated stress probability from label logits (batch, n_labels) -> (batch,); differentiable.

    max over sigmoid(logit) equals sigmoid(max logit), and logit(sigmoid(x)) = x, so the raw logit is the
    largest stress-label logit.
    """
    raw_logit = logits[:, list(label_index)].max(dim=1).values
    return torch.sigmoid(definition.scale * raw_logit + definition.bias)


def raw_stress_logit(probs: np.ndarray, label_index: Sequence[int]) -> np.ndarray:
    raw = np.clip(probs[:, list(label_index)].max(axis=1), _EPS, 1 - _EPS)
    logit: np.ndarray = np.log(raw / (1 - raw))
    return logit


def fit_platt(raw_logit: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """Fit sigmoid(a * x + b) to binary ``truth`` by (unregularised) logistic regression."""
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=1e6, max_iter=1000)
    model.fit(raw_logit.reshape(-1, 1), truth.astype(int))
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def apply_platt(raw_logit: np.ndarray, scale: float, bias: float) -> np.ndarray:
    prob: np.ndarray = 1.0 / (1.0 + np.exp(-(scale * raw_logit + bias)))
    return prob
