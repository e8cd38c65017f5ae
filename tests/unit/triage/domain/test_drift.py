"""Drift rules: PSI, the binned two-sample KS test and when a day alerts (no database)."""

from __future__ import annotations

import math
from datetime import date

import numpy as np
import pytest
from scipy import special, stats

from triage.domain.alerts import AlertKind
from triage.domain.drift import (
    DayCounts,
    DriftThresholds,
    Reference,
    day_drift,
    drift_alert,
    kolmogorov_survival,
    ks_two_sample,
    label_psi,
    merge_bins,
    psi,
)

DAY = date(2026, 12, 6)


def reference(counts: list[int], labels: dict[str, int] | None = None) -> Reference:
    return Reference.from_json(
        {"n": sum(counts), "stress_counts": counts, "label_counts": labels or {"neutral": 10}, "source": "t"}
    )


def test_psi_of_a_distribution_against_itself_is_zero() -> None:
    assert psi([10, 20, 30], [1, 2, 3]) == pytest.approx(0.0)


def test_psi_by_hand() -> None:
    # shares 0.5/0.5 against 0.25/0.75: (0.25-0.5)ln(0.5) + (0.75-0.5)ln(1.5)
    expected = (0.25 - 0.5) * math.log(0.25 / 0.5) + (0.75 - 0.5) * math.log(0.75 / 0.5)
    assert psi([50, 50], [25, 75]) == pytest.approx(expected)


def test_psi_stays_finite_when_a_bin_is_empty() -> None:
    assert math.isfinite(psi([100, 0], [0, 100]))
    with pytest.raises(ValueError, match="same bins"):
        psi([1, 2], [1, 2, 3])


def test_merge_bins() -> None:
    assert merge_bins(list(range(100)), 10)[0] == sum(range(10))
    with pytest.raises(ValueError):
        merge_bins([1, 2, 3], 2)


@pytest.mark.parametrize("x", [0.3, 0.5, 0.8, 1.0, 1.36, 2.0, 3.0])
def test_kolmogorov_survival_matches_scipy(x: float) -> None:
    assert kolmogorov_survival(x) == pytest.approx(float(special.kolmogorov(x)), abs=1e-9)


def test_binned_ks_statistic_is_scipys_on_the_bin_centres() -> None:
    rng = np.random.default_rng(7)
    a = np.clip(rng.beta(2, 5, 400), 0, 0.999)
    b = np.clip(rng.beta(2, 3, 300), 0, 0.999)
    bins = 100
    ca = np.bincount((a * bins).astype(int), minlength=bins).tolist()
    cb = np.bincount((b * bins).astype(int), minlength=bins).tolist()
    statistic, pvalue = ks_two_sample(ca, cb)
    centres_a = (np.floor(a * bins) + 0.5) / bins
    centres_b = (np.floor(b * bins) + 0.5) / bins
    assert statistic == pytest.approx(stats.ks_2samp(centres_a, centres_b).statistic)
    assert pvalue == pytest.approx(float(special.kolmogorov(math.sqrt(400 * 300 / 700) * statistic)))
    assert pvalue < 0.01


def test_label_psi_uses_the_union_of_labels_and_none_without_labels() -> None:
    assert label_psi({"anger": 5, "neutral": 5}, {"anger": 5, "neutral": 5}) == pytest.approx(0.0)
    assert label_psi({"neutral": 10}, {"anger": 10}) > 1
    assert label_psi({"neutral": 10}, {}) is None


def test_a_day_like_the_reference_does_not_alert() -> None:
    ref = reference([30, 20, 10, 10, 10, 5, 5, 4, 3, 3], {"neutral": 60, "anger": 20})
    day = DayCounts(DAY, [300, 200, 100, 100, 100, 50, 50, 40, 30, 30], {"neutral": 600, "anger": 200}, 90)
    drift = day_drift(ref, day, DriftThresholds())
    assert drift.stress_psi == pytest.approx(0.0, abs=1e-9)
    assert drift.label_psi == pytest.approx(0.0, abs=1e-9)
    assert drift.ks_statistic == pytest.approx(0.0, abs=1e-9)
    assert drift.flag_rate == pytest.approx(0.09)
    assert drift.alert is False and drift_alert("m@1", drift) is None


def test_a_shifted_day_alerts_with_its_reasons() -> None:
    ref = reference([90, 5, 5, 0, 0, 0, 0, 0, 0, 0])
    day = DayCounts(
        DAY, [0, 0, 0, 0, 0, 0, 0, 0, 20, 80], {"anger": 100}, flagged=100, judged=4, judged_right=1
    )
    drift = day_drift(ref, day, DriftThresholds())
    assert drift.alert
    assert [r.split(" ")[0] for r in drift.reasons] == ["stress", "label"]
    assert drift.flag_precision == 0.25 and drift.judged == 4
    draft = drift_alert("m@1", drift)
    assert draft is not None and draft.kind is AlertKind.DRIFT
    assert draft.key == "drift:m@1:2026-12-06" and "stress PSI" in draft.text


def test_too_few_messages_give_figures_but_no_alert() -> None:
    ref = reference([90, 5, 5, 0, 0, 0, 0, 0, 0, 0])
    day = DayCounts(DAY, [0, 0, 0, 0, 0, 0, 0, 0, 0, 10])
    drift = day_drift(ref, day, DriftThresholds(min_messages=50))
    assert drift.stress_psi is not None and drift.stress_psi > 1
    assert drift.alert is False


def test_the_thresholds_come_from_the_caller() -> None:
    ref = reference([50, 50, 0, 0, 0, 0, 0, 0, 0, 0])
    day = DayCounts(DAY, [40, 60, 0, 0, 0, 0, 0, 0, 0, 0], {"neutral": 100})
    mild = day_drift(ref, day, DriftThresholds(min_messages=1))
    strict = day_drift(ref, day, DriftThresholds(stress_psi=0.001, ks_alpha=0.99, min_messages=1))
    assert not mild.alert and strict.alert


def test_an_empty_day_and_mismatched_bins() -> None:
    ref = reference([1] * 10)
    assert day_drift(ref, DayCounts(DAY, [0] * 10), DriftThresholds()).messages == 0
    with pytest.raises(ValueError, match="bins"):
        day_drift(ref, DayCounts(DAY, [1] * 20), DriftThresholds())


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        ({"label_counts": {}}, "stress_counts"),
        ({"stress_counts": [1] * 7, "label_counts": {}}, "multiple of 10"),
        ({"stress_counts": [1] * 10}, "label_counts"),
        ({"stress_counts": [-1] + [1] * 9, "label_counts": {}}, "non-negative"),
        ({"stress_counts": [0] * 10, "label_counts": {}}, "empty"),
    ],
)
def test_a_malformed_reference_is_refused(raw: dict[str, object], said: str) -> None:
    with pytest.raises(ValueError, match=said):
        Reference.from_json(raw)
