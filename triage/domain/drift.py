"""Is the model still seeing what it was made for? Pure rules: one day of production scores against the
model's reference distribution (``sentiment.reference``, its dev set's scores).

- Stress: population stability index (PSI) over 10 equal-width bins of the calibrated stress, and a
  two-sample Kolmogorov-Smirnov test on the binned values (100 bins; the statistic is exact at the bin
  edges, so it can only understate the unbinned one by the mass of one bin).
- Labels: PSI over the share of each predicted label among all predicted labels.
- Flag rate (flagged / scored) and flag precision (of the day's escalations with a verdict, the share
  judged correct; an unflag counts as wrong), reported, not alerted on: precision needs verdicts, which
  come days later.

A day alerts when it has enough messages and the stress PSI crosses its threshold with a significant KS
test, or the label PSI crosses its threshold. PSI reading by convention: under 0.1 stable, 0.1-0.25 a
moderate shift, over 0.25 a large one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from triage.domain.alerts import AlertDraft, AlertKind

PSI_BINS = 10
PSI_FLOOR = 1e-4  # an empty bin's share, so that the logarithm stays finite


@dataclass(frozen=True)
class DriftThresholds:
    stress_psi: float = 0.25
    label_psi: float = 0.25
    ks_alpha: float = 0.01  # the KS test is significant below this p-value
    min_messages: int = 50  # fewer scored messages in a day: figures only, no alert


@dataclass(frozen=True)
class Reference:
    """A model's reference distribution as stored in its clearline.json."""

    n: int
    stress_counts: tuple[int, ...]
    label_counts: Mapping[str, int]
    flag_rate: float
    source: str

    @classmethod
    def from_json(cls, raw: Mapping[str, Any]) -> Reference:
        counts = raw.get("stress_counts")
        labels = raw.get("label_counts")
        if not isinstance(counts, list) or not counts or len(counts) % PSI_BINS:
            raise ValueError(
                f"the reference's stress_counts must be a list of a multiple of {PSI_BINS} counts"
            )
        if not isinstance(labels, dict):
            raise ValueError("the reference has no label_counts")
        if any(not isinstance(c, int) or c < 0 for c in [*counts, *labels.values()]):
            raise ValueError("the reference's counts must be non-negative integers")
        if sum(counts) == 0:
            raise ValueError("the reference is empty")
        return cls(
            n=int(raw.get("n", sum(counts))),
            stress_counts=tuple(counts),
            label_counts=dict(labels),
            flag_rate=float(raw.get("flag_rate", 0.0)),
            source=str(raw.get("source", "")),
        )


@dataclass
class DayCounts:
    """What one day of production gives the rules (the service counts it from the stored messages)."""

    day: date
    stress_counts: list[int]  # same bins as the reference
    label_counts: dict[str, int] = field(default_factory=dict)
    flagged: int = 0
    judged: int = 0  # the day's escalations with a verdict
    judged_right: int = 0

    @property
    def messages(self) -> int:
        return sum(self.stress_counts)


@dataclass(frozen=True)
class DayDrift:
    day: date
    messages: int
    mean_stress: float | None
    stress_psi: float | None
    ks_statistic: float | None
    ks_pvalue: float | None
    label_psi: float | None
    flag_rate: float | None
    flag_precision: float | None
    judged: int
    alert: bool
    reasons: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        out = {name: getattr(self, name) for name in self.__dataclass_fields__}
        out["day"] = self.day.isoformat()
        out["reasons"] = list(self.reasons)
        return out


def shares(counts: Sequence[float], floor: float = PSI_FLOOR) -> list[float]:
    total = float(sum(counts))
    if total <= 0:
        raise ValueError("no counts")
    raw = [max(c / total, floor) for c in counts]
    norm = sum(raw)
    return [r / norm for r in raw]


def psi(expected_counts: Sequence[float], actual_counts: Sequence[float]) -> float:
    """Population stability index: sum of (actual - expected) * ln(actual / expected) over the bins."""
    if len(expected_counts) != len(actual_counts):
        raise ValueError("PSI needs the same bins on both sides")
    expected, actual = shares(expected_counts), shares(actual_counts)
    return sum((a - e) * math.log(a / e) for e, a in zip(expected, actual, strict=True))


def merge_bins(counts: Sequence[int], into: int) -> list[int]:
    if len(counts) % into:
        raise ValueError(f"{len(counts)} bins do not merge into {into}")
    width = len(counts) // into
    return [sum(counts[i : i + width]) for i in range(0, len(counts), width)]


def kolmogorov_survival(x: float) -> float:
    """P(K > x) for the Kolmogorov distribution (the KS statistic's limit), by its alternating series."""
    if x <= 0:
        return 1.0
    if x < 0.2:  # the series converges slowly there, and the value is 1 to 12 decimals
        return 1.0
    total = sum((1.0 if k % 2 else -1.0) * math.exp(-2 * k * k * x * x) for k in range(1, 101))
    return min(1.0, max(0.0, 2 * total))


def ks_two_sample(reference: Sequence[int], observed: Sequence[int]) -> tuple[float, float]:
    """The two-sample KS statistic on binned samples (largest gap between the two empirical CDFs at the
    bin edges) and its asymptotic p-value."""
    if len(reference) != len(observed):
        raise ValueError("the KS test needs the same bins on both sides")
    n, m = sum(reference), sum(observed)
    if not n or not m:
        raise ValueError("the KS test needs two non-empty samples")
    cdf_ref = cdf_obs = 0.0
    statistic = 0.0
    for r, o in zip(reference, observed, strict=True):
        cdf_ref += r / n
        cdf_obs += o / m
        statistic = max(statistic, abs(cdf_ref - cdf_obs))
    effective = math.sqrt(n * m / (n + m))
    return statistic, kolmogorov_survival(effective * statistic)


def label_psi(reference: Mapping[str, int], observed: Mapping[str, int]) -> float | None:
    """PSI over the labels' shares of all predicted labels (None when the day predicted none)."""
    if not sum(observed.values()):
        return None
    names = sorted(set(reference) | set(observed))
    return psi([reference.get(n, 0) for n in names], [observed.get(n, 0) for n in names])


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def day_drift(reference: Reference, day: DayCounts, thresholds: DriftThresholds) -> DayDrift:
    if len(day.stress_counts) != len(reference.stress_counts):
        raise ValueError("the day's stress bins differ from the reference's")
    n = day.messages
    if n == 0:
        return DayDrift(day.day, 0, None, None, None, None, None, None, None, day.judged, False, ())
    bins = len(day.stress_counts)
    mean = sum((i + 0.5) / bins * c for i, c in enumerate(day.stress_counts)) / n
    stress = psi(merge_bins(reference.stress_counts, PSI_BINS), merge_bins(day.stress_counts, PSI_BINS))
    statistic, pvalue = ks_two_sample(reference.stress_counts, day.stress_counts)
    labels = label_psi(reference.label_counts, day.label_counts)
    reasons: list[str] = []
    if n >= thresholds.min_messages:
        if stress >= thresholds.stress_psi and pvalue < thresholds.ks_alpha:
            reasons.append(
                f"stress PSI {stress:.3f} >= {thresholds.stress_psi} (KS {statistic:.3f}, p {pvalue:.2g})"
            )
        if labels is not None and labels >= thresholds.label_psi:
            reasons.append(f"label PSI {labels:.3f} >= {thresholds.label_psi}")
    return DayDrift(
        day=day.day,
        messages=n,
        mean_stress=round(mean, 4),
        stress_psi=round(stress, 4),
        ks_statistic=round(statistic, 4),
        ks_pvalue=pvalue,
        label_psi=None if labels is None else round(labels, 4),
        flag_rate=_rate(day.flagged, n),
        flag_precision=_rate(day.judged_right, day.judged),
        judged=day.judged,
        alert=bool(reasons),
        reasons=tuple(reasons),
    )


def drift_alert(model_version: str, drift: DayDrift) -> AlertDraft | None:
    """One alert per model and day (the check runs every hour; the key keeps it to one)."""
    if not drift.alert:
        return None
    return AlertDraft(
        AlertKind.DRIFT,
        f"drift:{model_version}:{drift.day.isoformat()}",
        f"Model drift on {drift.day.isoformat()} ({drift.messages} messages, model {model_version}): "
        + "; ".join(drift.reasons),
    )
