"""Queues with SLA timers and the supervisor's figures."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentUser, SessionDep, SupervisorUser
from api.figures import figures, queues_overview
from api.schemas import FiguresOut, QueueOut
from triage.registry.active import active_policy

router = APIRouter(tags=["dashboard"])


@router.get("/queues", response_model=list[QueueOut])
def queues(user: CurrentUser, session: SessionDep) -> list[QueueOut]:
    """Waiting conversations per queue with waiting times, SLA timers and breaches (agents: own queues)."""
    return queues_overview(session, user, datetime.now(UTC))


@router.get("/queue-names", response_model=list[str])
def queue_names(_user: CurrentUser, session: SessionDep) -> list[str]:
    """Every queue the active triage policy routes to (targets for a transfer)."""
    return list(active_policy(session).config.queue_names)


@router.get("/metrics", response_model=FiguresOut)
def metrics(
    _user: SupervisorUser, session: SessionDep, window_hours: Annotated[int, Query(ge=1, le=24 * 31)] = 24
) -> FiguresOut:
    """Escalations per hour, flag precision, median time to first agent reply, SLA breach rate, stress."""
    return figures(session, datetime.now(UTC), window_hours)
