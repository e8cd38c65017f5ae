"""Drift figures from the stored scores, and the check the worker's leader runs: counts each day's
customer messages scored by one model version, compares them with the model's reference
(``triage.domain.drift``), raises an alert for a day that crosses the thresholds and sets the gauges."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from sentiment.reference import read_reference, stress_bin
from triage import audit
from triage.domain.drift import DayCounts, DayDrift, DriftThresholds, Reference, day_drift, drift_alert
from triage.registry.active import active_model
from triage.services.alerts import raise_alert
from triage.settings import CoreSettings, get_settings
from triage.storage.conversations import as_utc
from triage.storage.db import Escalation, Message, Sender, utcnow


class NoReference(LookupError):
    """The model has no reference distribution (the message says how to make one)."""


@dataclass(frozen=True)
class MonitoredModel:
    version: str
    path: Path
    reference: Reference


def thresholds_from(settings: CoreSettings) -> DriftThresholds:
    return DriftThresholds(
        stress_psi=settings.drift_stress_psi,
        label_psi=settings.drift_label_psi,
        ks_alpha=settings.drift_ks_alpha,
        min_messages=settings.drift_min_messages,
    )


def model_at(path: Path, version: str | None = None) -> MonitoredModel:
    """The model at ``path`` with its reference; its version from its clearline.json unless given."""
    import json

    config_path = path / "clearline.json"
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise NoReference(f"{path}: no readable clearline.json ({exc})") from exc
    raw = read_reference(path)
    if raw is None:
        raise NoReference(
            f"the model at {path} has no reference distribution: run "
            f"`clearline reference-emotions --model-dir {path}`"
        )
    return MonitoredModel(version or str(config.get("version", path.name)), path, Reference.from_json(raw))


def monitored_model(session: Session, path: Path | None, default_path: Path) -> MonitoredModel:
    """``path`` when given; else the active registered model; else the configured model directory."""
    if path is not None:
        return model_at(path)
    active = active_model(session)
    if active is not None:
        return model_at(Path(active.path), active.version)
    return model_at(default_path)


def day_counts(
    session: Session, model: MonitoredModel, since: datetime, until: datetime
) -> dict[date, DayCounts]:
    """Each UTC day's counts of the customer messages this model scored, and of its escalations' verdicts."""
    bins = len(model.reference.stress_counts)
    days: dict[date, DayCounts] = {}

    def on(moment: datetime) -> DayCounts:
        day = as_utc(moment).date()
        if day not in days:
            days[day] = DayCounts(day, [0] * bins)
        return days[day]

    messages = session.execute(
        select(Message.created_at, Message.stress, Message.flagged, Message.labels).where(
            Message.sender == Sender.CUSTOMER,
            Message.stress.is_not(None),
            Message.model_version == model.version,
            Message.created_at >= since,
            Message.created_at < until,
        )
    )
    for created_at, stress, flagged, labels in messages:
        counts = on(created_at)
        counts.stress_counts[stress_bin(float(stress), bins)] += 1
        counts.flagged += int(bool(flagged))
        for label in labels or ():
            counts.label_counts[str(label)] = counts.label_counts.get(str(label), 0) + 1
    verdicts = session.execute(
        select(Escalation.created_at, Escalation.unflagged, Escalation.feedback_state).where(
            Escalation.model_version == model.version,
            Escalation.created_at >= since,
            Escalation.created_at < until,
        )
    )
    for created_at, unflagged, feedback in verdicts:
        if unflagged or feedback is not None:  # the latest verdict; an unflag says the flag was wrong
            counts = on(created_at)
            counts.judged += 1
            counts.judged_right += int(not unflagged and feedback == "correct")
    return days


def drift_report(
    session: Session, model: MonitoredModel, since: datetime, until: datetime, thresholds: DriftThresholds
) -> dict[str, Any]:
    """The figures ``clearline drift --json`` prints: one row per day with scored messages, and the window."""
    days = day_counts(session, model, since, until)
    rows = [day_drift(model.reference, days[day], thresholds) for day in sorted(days)]
    return {
        "model_version": model.version,
        "reference": {
            "source": model.reference.source,
            "n": model.reference.n,
            "flag_rate": model.reference.flag_rate,
        },
        "since": since.isoformat(),
        "until": until.isoformat(),
        "thresholds": thresholds.__dict__,
        "days": [row.as_dict() for row in rows],
        "alerts": sum(row.alert for row in rows),
    }


GaugeSetter = Callable[[str, DayDrift], None]


class DriftCheck:
    """The leader's hourly check: yesterday and today so far for the active model; an alert per drifting
    day (the alert's key makes it once), and the latest day's figures to the gauges."""

    def __init__(self, default_model_dir: Path, set_gauges: GaugeSetter | None = None) -> None:
        self.default_model_dir = default_model_dir
        self.set_gauges = set_gauges

    def __call__(self, session: Session, now: datetime | None = None) -> list[DayDrift]:
        now = as_utc(now or utcnow())
        try:
            model = monitored_model(session, None, self.default_model_dir)
        except (NoReference, ValueError):
            return []  # a model without a reference is not monitored (the docs say how to add one)
        start = datetime.combine(now.date() - timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)
        thresholds = thresholds_from(get_settings())
        days = day_counts(session, model, start, now)
        found = [day_drift(model.reference, days[day], thresholds) for day in sorted(days)]
        for drift in found:
            draft = drift_alert(model.version, drift)
            if draft is not None:
                raise_alert(session, draft, audit.DRIFT_MONITOR, at=now)
        if found and self.set_gauges is not None:
            self.set_gauges(model.version, found[-1])
        return found
