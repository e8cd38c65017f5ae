"""Does the triage treat some customers differently? Pure rules over counts per segment (customer tier,
channel, language, message length, hour of day): flag rate, escalation rate and flag precision, each
with a 95 % Wilson interval, and a warning where a segment's rate differs from the overall rate by more
than the configured ratio (either way) on enough items to mean something.

A warning is a prompt to look, not a verdict: a segment can differ for good reasons (customers who write
long messages may be more upset), and small segments have wide intervals, which the report shows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

Z_95 = 1.959963984540054

# message length in words -> segment; hour of day (UTC) -> segment
LENGTH_BANDS: tuple[tuple[int, str], ...] = ((5, "1-5 words"), (15, "6-15 words"), (40, "16-40 words"))
LONGEST_BAND = "41+ words"
HOUR_BANDS = ("00-05 UTC", "06-11 UTC", "12-17 UTC", "18-23 UTC")
DIMENSIONS = ("tier", "channel", "language", "length", "hour")


def length_band(text: str) -> str:
    words = len(text.split())
    for limit, name in LENGTH_BANDS:
        if words <= limit:
            return name
    return LONGEST_BAND


def hour_band(hour: int) -> str:
    if not 0 <= hour <= 23:
        raise ValueError(f"hour {hour} is not 0..23")
    return HOUR_BANDS[hour // 6]


def wilson(successes: int, trials: int, z: float = Z_95) -> tuple[float, float] | None:
    """The Wilson score interval of a proportion (sound for small counts and rates near 0 or 1)."""
    if trials <= 0:
        return None
    if not 0 <= successes <= trials:
        raise ValueError(f"{successes} successes of {trials} trials")
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return round(max(0.0, centre - half), 4), round(min(1.0, centre + half), 4)


@dataclass
class SegmentCounts:
    messages: int = 0
    flagged: int = 0
    conversations: int = 0
    escalated: int = 0
    judged: int = 0
    judged_right: int = 0


# metric -> (numerator field, denominator field, what it is called in a warning)
METRICS: dict[str, tuple[str, str, str]] = {
    "flag_rate": ("flagged", "messages", "flag rate"),
    "escalation_rate": ("escalated", "conversations", "escalation rate"),
    "precision": ("judged_right", "judged", "flag precision"),
}


@dataclass(frozen=True)
class BiasThresholds:
    ratio: float = 1.25
    min_segment: int = 30


@dataclass
class BiasReport:
    overall: dict[str, Any]
    dimensions: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"overall": self.overall, "dimensions": self.dimensions, "warnings": self.warnings}


def _figures(counts: SegmentCounts) -> dict[str, Any]:
    out: dict[str, Any] = dict(counts.__dict__)
    for metric, (part, whole, _) in METRICS.items():
        k, n = getattr(counts, part), getattr(counts, whole)
        out[metric] = round(k / n, 4) if n else None
        out[f"{metric}_ci"] = wilson(k, n)
    return out


def _differs(rate: float, overall: float, ratio: float) -> float | None:
    """How many times the overall rate ``rate`` is, when beyond ``ratio`` either way (None if not)."""
    if overall <= 0:
        return None
    times = rate / overall
    return times if times > ratio or times < 1 / ratio else None


def audit(
    overall: SegmentCounts,
    segments: Mapping[str, Mapping[str, SegmentCounts]],
    thresholds: BiasThresholds,
    dimensions: Sequence[str] = DIMENSIONS,
) -> BiasReport:
    """Figures per dimension and segment (largest first), and the warnings."""
    report = BiasReport(overall=_figures(overall))
    for dimension in dimensions:
        rows = []
        for name, counts in sorted(segments.get(dimension, {}).items(), key=lambda kv: -kv[1].messages):
            row = {"segment": name, **_figures(counts), "warnings": []}
            for metric, (_part, whole, label) in METRICS.items():
                n, rate, base = getattr(counts, whole), row[metric], report.overall[metric]
                if rate is None or base is None or n < thresholds.min_segment:
                    continue
                times = _differs(rate, base, thresholds.ratio)
                if times is None:
                    continue
                low, high = row[f"{metric}_ci"]
                text = (
                    f"{label} of {dimension} {name!r} is {rate:.3f} ({low:.3f}-{high:.3f}, n {n}), "
                    f"{times:.2f}x the overall {base:.3f}"
                )
                row["warnings"].append(text)
                report.warnings.append(text)
            rows.append(row)
        report.dimensions[dimension] = rows
    return report
