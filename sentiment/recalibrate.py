"""Refit the stress calibration on people's verdicts: a candidate model with the same weights and a new
Platt scaling, measured before and after on held-out feedback.

- Examples: a flag judged correct is a stressed text, one judged wrong (or unflagged) a calm one; a missed
  flag, where recorded, a stressed one. The database side is ``triage.learning``.
- Split by time: the oldest ``1 - holdout`` share fits, the newest ``holdout`` share measures, as the
  candidate would meet tomorrow's feedback after today's.
- Prior: feedback exists almost only for flagged texts (the flag is what people judge), so alone it says
  nothing about the low-stress region and little when it is scarce. GoEmotions dev (each text stressed
  when it has a stress label) joins the fit with a total weight of ``prior_weight`` examples, each
  feedback example weighing 1: with 50 verdicts the dev set dominates; with 2,000 the feedback does.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from sentiment.calibration import apply_platt
from sentiment.metrics import expected_calibration_error
from sentiment.model import EmotionModel
from sentiment.reference import CONFIG_NAME, stress_counts

DEFAULT_HOLDOUT = 0.3
DEFAULT_PRIOR_WEIGHT = 200.0


class NotEnoughFeedback(ValueError):
    """Too little feedback to fit and measure (the message says how much there is)."""


@dataclass(frozen=True)
class Example:
    text: str  # redacted, as stored
    stressed: bool
    at: datetime  # when the verdict was given


@dataclass(frozen=True)
class Prior:
    """Texts with known truth that anchor the fit (GoEmotions dev), and their predicted labels' counts."""

    texts: list[str]
    stressed: np.ndarray  # (n,) 0/1
    source: str


def time_split(examples: Sequence[Example], holdout: float) -> tuple[list[Example], list[Example]]:
    """The oldest examples to fit, the newest ``holdout`` share to measure (at least one each)."""
    if not 0 < holdout < 1:
        raise ValueError("the held-out share must be between 0 and 1")
    ordered = sorted(examples, key=lambda e: e.at)
    if len(ordered) < 2:
        raise NotEnoughFeedback(
            f"{len(ordered)} verdict(s): at least 2 are needed (one to fit, one to measure)"
        )
    cut = min(len(ordered) - 1, max(1, round(len(ordered) * (1 - holdout))))
    return ordered[:cut], ordered[cut:]


def fit_weighted_platt(raw_logit: np.ndarray, truth: np.ndarray, weight: np.ndarray) -> tuple[float, float]:
    """sigmoid(a * x + b) by weighted logistic regression (one class alone cannot be fitted)."""
    from sklearn.linear_model import LogisticRegression

    if len(set(truth.astype(int).tolist())) < 2:
        raise NotEnoughFeedback("the examples to fit are all stressed or all calm: both are needed")
    model = LogisticRegression(C=1e6, max_iter=1000)
    model.fit(raw_logit.reshape(-1, 1), truth.astype(int), sample_weight=weight)
    return float(model.coef_[0, 0]), float(model.intercept_[0])


def measure(prob: np.ndarray, truth: np.ndarray, threshold: float) -> dict[str, Any]:
    """ECE (15 bins), precision, recall and F1 at the flag threshold, on held-out examples."""
    flagged = prob >= threshold
    positive = truth.astype(bool)
    tp = int((flagged & positive).sum())
    precision = tp / int(flagged.sum()) if flagged.any() else None
    recall = tp / int(positive.sum()) if positive.any() else None
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else None
    return {
        "n": len(truth),
        "stressed": int(positive.sum()),
        "ece": round(expected_calibration_error(prob, truth), 4),
        "precision": None if precision is None else round(precision, 4),
        "recall": None if recall is None else round(recall, 4),
        "f1": None if f1 is None else round(f1, 4),
    }


@dataclass
class Recalibration:
    scale: float
    bias: float
    threshold: float
    before: dict[str, Any]
    after: dict[str, Any]
    fit: dict[str, Any]
    base_version: str
    labels_of_prior: dict[str, int] = field(default_factory=dict)
    prior_stress: list[float] = field(default_factory=list)  # the prior's calibrated stress, new scaling

    @property
    def version(self) -> str:
        digest = hashlib.sha256(f"{self.scale:.6f}|{self.bias:.6f}".encode()).hexdigest()[:8]
        return f"{self.base_version.split('+cal.')[0]}+cal.{digest}"

    def as_dict(self) -> dict[str, Any]:
        return {
            "candidate_version": self.version,
            "base_version": self.base_version,
            "scale": round(self.scale, 6),
            "bias": round(self.bias, 6),
            "threshold": self.threshold,
            "before": self.before,
            "after": self.after,
            "fit": self.fit,
        }


def _raw_logits(model: EmotionModel, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
    """The largest stress-label logit per text (what the Platt scaling maps), and the label probabilities."""
    _encoded, logits = model.logits(list(texts))
    raw = logits[:, model.stress_index].max(dim=1).values.numpy().astype(np.float64)
    return raw, 1.0 / (1.0 + np.exp(-logits.numpy()))


def recalibrate(
    model: EmotionModel,
    examples: Sequence[Example],
    prior: Prior | None,
    *,
    holdout: float = DEFAULT_HOLDOUT,
    prior_weight: float = DEFAULT_PRIOR_WEIGHT,
) -> Recalibration:
    """Fit on the older feedback (and the prior), measure the current and the new scaling on the newer."""
    train, test = time_split(examples, holdout)
    train_raw, _ = _raw_logits(model, [e.text for e in train])
    test_raw, _ = _raw_logits(model, [e.text for e in test])
    train_truth = np.array([e.stressed for e in train], dtype=np.float64)
    test_truth = np.array([e.stressed for e in test], dtype=np.float64)
    raw, truth, weight = train_raw, train_truth, np.ones(len(train))
    labels: dict[str, int] = {}
    prior_raw = np.empty(0)
    if prior is not None and prior_weight > 0:
        prior_raw, prior_probs = _raw_logits(model, prior.texts)
        raw = np.concatenate([raw, prior_raw])
        truth = np.concatenate([truth, prior.stressed.astype(np.float64)])
        weight = np.concatenate([weight, np.full(len(prior.texts), prior_weight / len(prior.texts))])
        predicted = prior_probs >= model.threshold_vector
        labels = {
            name: int(predicted[:, j].sum()) for j, name in enumerate(model.labels) if predicted[:, j].any()
        }
    scale, bias = fit_weighted_platt(raw, truth, weight)
    threshold = model.flag_threshold
    current = model.stress
    return Recalibration(
        scale=scale,
        bias=bias,
        threshold=threshold,
        before=measure(apply_platt(test_raw, current.scale, current.bias), test_truth, threshold),
        after=measure(apply_platt(test_raw, scale, bias), test_truth, threshold),
        fit={
            "feedback_fit": len(train),
            "feedback_fit_stressed": int(train_truth.sum()),
            "feedback_held_out": len(test),
            "held_out_from": test[0].at.isoformat(),
            "prior": prior.source if prior is not None and prior_weight > 0 else None,
            "prior_texts": len(prior.texts) if prior is not None and prior_weight > 0 else 0,
            "prior_weight": prior_weight if prior is not None else 0,
            "feedback_share_of_weight": round(len(train) / float(weight.sum()), 4),
        },
        base_version=model.version,
        labels_of_prior=labels,
        prior_stress=apply_platt(prior_raw, scale, bias).tolist() if len(prior_raw) else [],
    )


def _copy(source: Path, target: Path) -> None:
    try:
        os.link(source, target)  # the weights are the same: a hard link where the file system allows
    except OSError:
        shutil.copy2(source, target)


def write_candidate(model_dir: Path, out_dir: Path, result: Recalibration) -> Path:
    """A new model directory: the base's files, clearline.json with the new scaling, its version, the
    recalibration's record and (with the prior) a reference recomputed under the new scaling; a section
    appended to its model card."""
    if out_dir.exists() and any(out_dir.iterdir()):
        raise FileExistsError(f"{out_dir} exists and is not empty")
    out_dir.mkdir(parents=True, exist_ok=True)
    for item in model_dir.iterdir():
        if item.is_file() and item.name != CONFIG_NAME:
            _copy(item, out_dir / item.name)
    config = json.loads((model_dir / CONFIG_NAME).read_text(encoding="utf-8"))
    config["version"] = result.version
    config["stress"] = {**config.get("stress", {}), "scale": result.scale, "bias": result.bias}
    config["recalibration"] = {
        **result.as_dict(),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if result.prior_stress:
        stress = result.prior_stress
        config["reference"] = {
            "source": str(result.fit["prior"]),
            "n": len(stress),
            "stress_bins": 100,
            "stress_counts": stress_counts(stress),
            "label_counts": result.labels_of_prior,
            "flag_rate": round(sum(s >= result.threshold for s in stress) / len(stress), 6),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    else:
        config.pop("reference", None)  # the base's reference was counted under the old scaling
    (out_dir / CONFIG_NAME).write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    card = out_dir / "MODEL_CARD.md"
    if card.exists():
        card.unlink()  # a hard link to the base's card: write a new file, never through the link
    base_card = model_dir / "MODEL_CARD.md"
    text = base_card.read_text(encoding="utf-8") if base_card.exists() else f"# {result.base_version}\n"
    card.write_text(text + "\n" + card_section(result), encoding="utf-8")
    return out_dir


def _row(name: str, before: Any, after: Any) -> str:
    return f"| {name} | {before if before is not None else '-'} | {after if after is not None else '-'} |"


def card_section(result: Recalibration) -> str:
    fit, b, a = result.fit, result.before, result.after
    prior = (
        f"{fit['prior']} ({fit['prior_texts']} texts) with a total weight of {fit['prior_weight']} examples"
        if fit["prior"]
        else "none"
    )
    return "\n".join(
        [
            f"## Recalibration from feedback: candidate `{result.version}`",
            "",
            f"Same weights as `{result.base_version}`; the stress calibration refitted by "
            "`clearline recalibrate --from-feedback` on people's verdicts (flag correct = stressed, "
            "flag wrong or unflagged = calm, missed flag = stressed).",
            f"- Platt scaling: a = {result.scale:.4f}, b = {result.bias:.4f}; flag threshold kept at "
            f"{result.threshold}.",
            f"- Fitted on the {fit['feedback_fit']} oldest verdicts "
            f"({fit['feedback_fit_stressed']} stressed); prior: {prior}; the feedback's share of the "
            f"fit's weight: {fit['feedback_share_of_weight']}.",
            f"- Measured on the {fit['feedback_held_out']} newest verdicts (from {fit['held_out_from']}), "
            "never used to fit:",
            "",
            "| held-out figure | current calibration | candidate |",
            "|---|---|---|",
            _row("ECE (15 bins)", b["ece"], a["ece"]),
            _row("precision at the threshold", b["precision"], a["precision"]),
            _row("recall at the threshold", b["recall"], a["recall"]),
            _row("F1", b["f1"], a["f1"]),
            "",
            "Feedback comes almost only from flagged texts, so these figures say how the candidate would "
            "judge texts like those people were shown, not the calm traffic nobody reviewed.",
            "",
        ]
    )
