"""A support-domain check of the stress flag on a hand-labelled set of support messages (issue #21).

The set (``tests/data/support_stress.tsv``) is ``label<TAB>text`` rows after a ``#`` comment block and the
header line ``label<TAB>text``. Stressed messages (angry, abusive, anxious) should be flagged and calm ones
should not; annoyed messages are reported on their own (flag rate) and left out of precision and recall.
The model's own flag threshold is used: the set is a check, nothing is tuned on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from sentiment.errors import DatasetError
from sentiment.metrics import binary_prf

if TYPE_CHECKING:
    from sentiment.model import EmotionModel

LABELS = ("calm", "annoyed", "angry", "abusive", "anxious")
STRESSED = frozenset({"angry", "abusive", "anxious"})  # must be flagged
NOT_STRESSED = frozenset({"calm"})  # must not be flagged; "annoyed" is in neither
HEADER = "label\ttext"
MAX_EXAMPLES = 20


@dataclass(frozen=True)
class Row:
    line: int  # 1-based line number in the file
    label: str
    text: str


class Scored(Protocol):
    """What the report needs of a score (an :class:`~sentiment.types.UtteranceScore` has both)."""

    @property
    def stress(self) -> float: ...

    @property
    def flag(self) -> bool: ...


def parse_rows(lines: Sequence[str], source: str = "<data>") -> list[Row]:
    """Rows of the set's lines (without line ends); comments and blank lines are skipped.

    Raises:
        DatasetError (a ValueError): a missing header, a line without exactly one tab, an unknown label
        or an empty text; the message names the line.
    """
    rows: list[Row] = []
    header_seen = False
    for number, line in enumerate(lines, start=1):
        where = f"{source}, line {number}"
        if line.startswith("#") or not line.strip():
            continue
        if not header_seen:
            if line != HEADER:
                raise DatasetError(f"{where}: expected the header line 'label<TAB>text', got {line!r}")
            header_seen = True
            continue
        if "\t" not in line:
            raise DatasetError(f"{where}: no tab between the label and the text")
        label, text = line.split("\t", 1)
        if "\t" in text:
            raise DatasetError(f"{where}: more than one tab (texts may not contain tabs)")
        if label not in LABELS:
            raise DatasetError(f"{where}: unknown label {label!r} (expected one of {', '.join(LABELS)})")
        if not text.strip():
            raise DatasetError(f"{where}: empty text")
        rows.append(Row(number, label, text))
    if not header_seen:
        raise DatasetError(f"{source}: no header line 'label<TAB>text'")
    return rows


def read_rows(path: Path) -> list[Row]:
    """Rows of the UTF-8 file at ``path`` (see :func:`parse_rows`)."""
    return parse_rows(path.read_text(encoding="utf-8").splitlines(), str(path))


def build_report(
    rows: Sequence[Row], scores: Sequence[Scored], threshold: float, version: str
) -> dict[str, Any]:
    """The check's figures from rows and their scores (same order); pure, so any scorer can be used.

    Positives are the stressed rows, negatives the calm ones; a prediction is the score's own flag.
    False positives are listed most confident first (highest stress), false negatives lowest stress first.
    """
    if len(rows) != len(scores):
        raise ValueError(f"{len(rows)} rows but {len(scores)} scores")
    by_label: dict[str, dict[str, Any]] = {}
    for label in LABELS:
        stress = [s.stress for r, s in zip(rows, scores, strict=True) if r.label == label]
        flagged = sum(s.flag for r, s in zip(rows, scores, strict=True) if r.label == label)
        by_label[label] = {
            "n": len(stress),
            "flagged": flagged,
            "flag_rate": round(flagged / len(stress), 4) if stress else None,
            "mean_stress": round(sum(stress) / len(stress), 4) if stress else None,
        }
    judged = [(r, s) for r, s in zip(rows, scores, strict=True) if r.label in STRESSED | NOT_STRESSED]
    pred = np.array([s.flag for _, s in judged], dtype=bool)
    truth = np.array([r.label in STRESSED for r, _ in judged], dtype=bool)
    precision, recall, f1 = binary_prf(pred, truth)
    false_positives = sorted((s.stress, r.text) for r, s in judged if s.flag and r.label in NOT_STRESSED)
    false_negatives = sorted((s.stress, r.text) for r, s in judged if not s.flag and r.label in STRESSED)
    return {
        "n": len(rows),
        "by_label": by_label,
        "positives": sorted(STRESSED),
        "negatives": sorted(NOT_STRESSED),
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
        "confusion": {
            "tp": int((pred & truth).sum()),
            "fp": int((pred & ~truth).sum()),
            "fn": int((~pred & truth).sum()),
            "tn": int((~pred & ~truth).sum()),
        },
        "false_positives": [text for _, text in reversed(false_positives)][:MAX_EXAMPLES],
        "false_negatives": [text for _, text in false_negatives][:MAX_EXAMPLES],
        "threshold": threshold,
        "model_version": version,
    }


def score_rows(model: EmotionModel, rows: Sequence[Row]) -> list[Scored]:
    """The model's scores of the rows' texts, in order."""
    return list(model.score([row.text for row in rows]))


def run_check(path: Path, model_dir: Path | str | None = None) -> dict[str, Any]:
    """Read the set at ``path``, score it with the model at ``model_dir`` (default: the configured one)
    and report; the flag threshold is the model's (``CLEARLINE_STRESS_THRESHOLD`` if set)."""
    from sentiment.model import load_model

    rows = read_rows(path)
    model = load_model(model_dir)
    return build_report(rows, score_rows(model, rows), model.flag_threshold, model.version)
