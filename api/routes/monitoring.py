"""Model health for supervisors: the drift figures and the bias audit of ``triage.monitoring`` over the
last days (the same as ``clearline drift --json`` and ``clearline bias --json``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Query, status

from api.deps import SessionDep, SupervisorUser
from sentiment.settings import SentimentSettings
from triage.monitoring.bias import bias_report
from triage.monitoring.bias import thresholds_from as bias_thresholds
from triage.monitoring.drift import NoReference, drift_report, monitored_model
from triage.monitoring.drift import thresholds_from as drift_thresholds
from triage.monitoring.shadow import shadow_report
from triage.settings import get_settings

router = APIRouter(prefix="/monitoring", tags=["monitoring"])
Days = Annotated[int, Query(ge=1, le=90, description="how many days back from now")]


def _window(days: int) -> tuple[datetime, datetime]:
    until = datetime.now(UTC)
    return until - timedelta(days=days), until


@router.get("/drift")
def drift(_user: SupervisorUser, session: SessionDep, days: Days = 7) -> dict[str, Any]:
    """Per day: the active model's stress and label distributions against its reference (PSI, KS test),
    flag rate, flag precision, and whether the day crosses the configured thresholds."""
    try:
        model = monitored_model(session, None, SentimentSettings().model_dir)
    except (NoReference, ValueError) as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    return drift_report(session, model, *_window(days), drift_thresholds(get_settings()))


@router.get("/bias")
def bias(_user: SupervisorUser, session: SessionDep, days: Days = 7) -> dict[str, Any]:
    """Flag rate, escalation rate and flag precision by tier, channel, language, message length and hour,
    with 95 % Wilson intervals and warnings where a segment differs beyond the configured ratio."""
    return bias_report(session, *_window(days), bias_thresholds(get_settings()))


@router.get("/shadow")
def shadow(
    _user: SupervisorUser,
    session: SessionDep,
    days: Days = 7,
    limit: Annotated[int, Query(ge=0, le=500, description="disagreements listed, newest first")] = 50,
) -> dict[str, Any]:
    """The shadow model's scores against the active model's on the same messages: agreement on the flag,
    the mean stress difference and the latest disagreements (no shadow: ``shadow_version`` is null)."""
    return shadow_report(session, *_window(days), limit=limit)
