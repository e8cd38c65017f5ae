"""The model's reference distribution: what its scores look like on its own dev set, kept with the model
(``clearline.json``, key ``reference``) so that drift in production is measured against it.

Stored as counts, not scores: the calibrated stress in 100 equal bins over [0, 1] (fine enough for a
two-sample Kolmogorov-Smirnov test on the binned values, merged into 10 for the population stability
index), how often each label was predicted, and the flag rate at the model's threshold.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sentiment.types import UtteranceScore

STRESS_BINS = 100
CONFIG_NAME = "clearline.json"


def stress_bin(stress: float, bins: int = STRESS_BINS) -> int:
    """The bin of a stress probability: [0, 1/bins) is 0, ..., and 1.0 falls in the last bin."""
    return min(bins - 1, max(0, int(stress * bins)))


def stress_counts(stresses: Iterable[float], bins: int = STRESS_BINS) -> list[int]:
    counts = [0] * bins
    for value in stresses:
        counts[stress_bin(value, bins)] += 1
    return counts


def reference_from_scores(scores: Sequence[UtteranceScore], source: str) -> dict[str, Any]:
    """The reference of these scores (one model's, on one data set)."""
    if not scores:
        raise ValueError("a reference needs at least one scored text")
    labels: Counter[str] = Counter(label for score in scores for label in score.labels)
    return {
        "source": source,
        "n": len(scores),
        "stress_bins": STRESS_BINS,
        "stress_counts": stress_counts(score.stress for score in scores),
        "label_counts": dict(sorted(labels.items())),
        "flag_rate": round(sum(score.flag for score in scores) / len(scores), 6),
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def write_reference(model_dir: Path, reference: dict[str, Any]) -> None:
    """Add (or replace) the reference in the model's ``clearline.json``; the rest of the file is kept."""
    path = model_dir / CONFIG_NAME
    config = json.loads(path.read_text(encoding="utf-8"))
    config["reference"] = reference
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    tmp.replace(path)


def read_reference(model_dir: Path) -> dict[str, Any] | None:
    """The reference stored with the model at ``model_dir``, None when it has none."""
    path = model_dir / CONFIG_NAME
    if not path.is_file():
        return None
    reference = json.loads(path.read_text(encoding="utf-8")).get("reference")
    return reference if isinstance(reference, dict) else None
