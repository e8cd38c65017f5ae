"""Bias rules: Wilson intervals, segment bands and the warnings (no database)."""

from __future__ import annotations

import pytest

from triage.domain.bias import BiasThresholds, SegmentCounts, audit, hour_band, length_band, wilson


def test_wilson_by_hand() -> None:
    # 0 of 10: upper bound z^2/(n+z^2) = 3.8415/13.8415
    assert wilson(0, 10) == (0.0, pytest.approx(0.2775, abs=1e-4))
    low, high = wilson(50, 100) or (0, 0)
    assert low == pytest.approx(0.4038, abs=1e-4) and high == pytest.approx(0.5962, abs=1e-4)
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(5, 3)


@pytest.mark.parametrize(
    ("text", "band"),
    [
        ("hi", "1-5 words"),
        ("one two three four five six", "6-15 words"),
        ("w " * 40, "16-40 words"),
        ("w " * 41, "41+ words"),
        ("", "1-5 words"),
    ],
)
def test_length_bands(text: str, band: str) -> None:
    assert length_band(text) == band


def test_hour_bands() -> None:
    assert [hour_band(h) for h in (0, 5, 6, 12, 23)] == [
        "00-05 UTC",
        "00-05 UTC",
        "06-11 UTC",
        "12-17 UTC",
        "18-23 UTC",
    ]
    with pytest.raises(ValueError):
        hour_band(24)


def counts(messages: int, flagged: int, conversations: int = 0, escalated: int = 0) -> SegmentCounts:
    return SegmentCounts(messages=messages, flagged=flagged, conversations=conversations, escalated=escalated)


def test_a_segment_beyond_the_ratio_warns_and_one_within_does_not() -> None:
    overall = counts(300, 30, 100, 10)  # flag rate 0.10, escalation rate 0.10
    segments = {
        "language": {"en": counts(200, 14, 80, 8), "es": counts(100, 16, 20, 2)},  # 0.07 and 0.16
    }
    report = audit(overall, segments, BiasThresholds(ratio=1.25, min_segment=30), ["language"])
    rows = {row["segment"]: row for row in report.dimensions["language"]}
    assert rows["es"]["flag_rate"] == 0.16 and rows["en"]["flag_rate"] == 0.07
    assert [w.split(" of ")[0] for w in report.warnings] == ["flag rate", "flag rate"]
    assert "1.60x" in rows["es"]["warnings"][0] and "0.70x" in rows["en"]["warnings"][0]
    # escalation: es has 20 conversations, under min_segment; en 0.10 = overall
    assert not any("escalation" in w for w in report.warnings)
    low, high = rows["es"]["flag_rate_ci"]
    assert low < 0.16 < high


def test_small_segments_and_zero_rates_do_not_warn() -> None:
    overall = counts(100, 0)
    report = audit(overall, {"tier": {"gold": counts(100, 0)}}, BiasThresholds(), ["tier"])
    assert report.warnings == []
    assert report.dimensions["tier"][0]["precision"] is None
    assert report.dimensions["tier"][0]["precision_ci"] is None


def test_segments_are_listed_largest_first_and_missing_dimensions_are_empty() -> None:
    overall = counts(10, 1)
    report = audit(
        overall, {"tier": {"a": counts(2, 0), "b": counts(8, 1)}}, BiasThresholds(), ["tier", "hour"]
    )
    assert [row["segment"] for row in report.dimensions["tier"]] == ["b", "a"]
    assert report.dimensions["hour"] == []
