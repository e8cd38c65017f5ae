"""Alerts for supervisors: the feed (newest first) and acknowledging one. New alerts and
acknowledgements also reach the dashboard through the live feed (audit actions ``alert``, ``alert_ack``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import BaseModel, ConfigDict

from api.deps import SessionDep, SupervisorUser
from api.schemas import UtcDateTime
from triage.services.alerts import AlertNotFound, acknowledge, recent_alerts
from triage.storage.db import Alert

router = APIRouter(prefix="/alerts", tags=["alerts"])


class AlertOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    kind: str
    severity: str
    text: str
    conversation_id: str | None
    agent_id: int | None
    created_at: UtcDateTime
    acknowledged_at: UtcDateTime | None
    acknowledged_by_name: str | None = None


def _out(alert: Alert, by: str | None) -> AlertOut:
    return AlertOut.model_validate(alert).model_copy(update={"acknowledged_by_name": by})


@router.get("", response_model=list[AlertOut])
def alerts(
    _user: SupervisorUser,
    session: SessionDep,
    open: bool = False,  # noqa: A002 - the query parameter's name
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[AlertOut]:
    """Alerts, newest first (``open=true``: not acknowledged yet); supervisors and admins."""
    return [_out(alert, by) for alert, by in recent_alerts(session, only_open=open, limit=limit)]


@router.post("/{alert_id}/acknowledge", response_model=AlertOut)
def acknowledge_alert(
    alert_id: Annotated[int, Path(ge=1, le=2**31 - 1)], user: SupervisorUser, session: SessionDep
) -> AlertOut:
    """Acknowledge an alert (once; again changes nothing); audited."""
    try:
        alert = acknowledge(session, alert_id, user)
    except AlertNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    session.commit()
    return _out(alert, user.display_name or user.username)
