"""The GoEmotions dataset: label names, the paper's label groupings and the TSV reader."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from nlu.datasets import dataset_dir
from sentiment.errors import DatasetError

REPO_ROOT = Path(__file__).resolve().parent.parent

# Groupings from Demszky et al. (2020), as listed in ../shared/datasets/README.md.
EKMAN_GROUPS: dict[str, tuple[str, ...]] = {
    "anger": ("anger", "annoyance", "disapproval"),
    "disgust": ("disgust",),
    "fear": ("fear", "nervousness"),
    "joy": (
        "joy",
        "amusement",
        "approval",
        "excitement",
        "gratitude",
        "love",
        "optimism",
        "relief",
        "pride",
        "admiration",
        "desire",
        "caring",
    ),
    "sadness": ("sadness", "disappointment", "embarrassment", "grief", "remorse"),
    "surprise": ("surprise", "realization", "confusion", "curiosity"),
    "neutral": ("neutral",),
}
SENTIMENT_GROUPS: dict[str, tuple[str, ...]] = {
    "positive": (
        "amusement",
        "excitement",
        "joy",
        "love",
        "desire",
        "optimism",
        "caring",
        "pride",
        "admiration",
        "gratitude",
        "relief",
        "approval",
    ),
    "negative": (
        "fear",
        "nervousness",
        "remorse",
        "embarrassment",
        "disappointment",
        "sadness",
        "grief",
        "disgust",
        "anger",
        "annoyance",
        "disapproval",
    ),
    "ambiguous": ("realization", "surprise", "curiosity", "confusion"),
    "neutral": ("neutral",),
}
# Stress = the utterance expresses a negative emotion (frustration/anger, anxiety, disappointment,
# sadness...): the paper's negative sentiment group. Also used for checkpoints without clearline.json.
STRESS_LABELS: tuple[str, ...] = SENTIMENT_GROUPS["negative"]


def goemotions_dir() -> Path:
    """GoEmotions from the configured datasets folder, else the cache (``clearline datasets fetch``)."""
    return dataset_dir("goemotions")


def read_labels(path: Path | None = None) -> list[str]:
    """The 28 label names; line number = label id."""
    path = path or goemotions_dir() / "labels.txt"
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not names:
        raise DatasetError(f"{path}: no label names")
    return names


@dataclass(frozen=True)
class LabelledTexts:
    texts: list[str]
    targets: np.ndarray  # (n, n_labels) multi-hot float32


def read_tsv(path: Path, n_labels: int) -> LabelledTexts:
    """Read a GoEmotions TSV (``text<TAB>ids<TAB>comment id``); a bad row raises with its line number."""
    texts: list[str] = []
    rows: list[list[int]] = []
    with path.open(encoding="utf-8") as handle:
        for line_no, line in enumerate(handle, start=1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            fields = line.split("\t")
            if len(fields) < 2:
                raise DatasetError(f"{path}:{line_no}: expected text<TAB>label ids")
            try:
                ids = [int(part) for part in fields[1].split(",")]
            except ValueError as exc:
                raise DatasetError(f"{path}:{line_no}: label ids must be integers: {fields[1]!r}") from exc
            if any(i < 0 or i >= n_labels for i in ids):
                raise DatasetError(f"{path}:{line_no}: label id outside 0..{n_labels - 1}")
            texts.append(fields[0])
            rows.append(ids)
    if not texts:
        raise DatasetError(f"{path}: no rows")
    targets = np.zeros((len(texts), n_labels), dtype=np.float32)
    for i, ids in enumerate(rows):
        targets[i, ids] = 1.0
    return LabelledTexts(texts, targets)
