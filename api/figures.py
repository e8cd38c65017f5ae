"""Dashboard figures: queues with SLA timers, agents with load, and the supervisor's metrics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.figures_breakdown import by_agent, queue_figures
from api.figures_csat import csat_figures
from api.queries import visible_to
from api.schemas import FiguresOut, HourCount, QueueOut, WaitingOut
from triage.domain.routing import queue_skills
from triage.storage.conversations import as_utc, sla_missed_clause
from triage.storage.db import Conversation, ConversationState, Escalation, Feedback, Message, Role, User

STRESS_BINS = [round(i / 10, 1) for i in range(11)]


def queues_overview(session: Session, user: User, now: datetime) -> list[QueueOut]:
    """Open conversations per queue: the waiting ones with their SLA timers, counts of the assigned
    ones and of breaches. Only the columns shown are read; the breach is the domain's rule in SQL."""
    stmt = select(
        Conversation.id,
        Conversation.queue,
        Conversation.state,
        Conversation.priority,
        Conversation.priority_band,
        func.coalesce(Conversation.queued_at, Conversation.escalated_at),
        Conversation.sla_deadline,
        sla_missed_clause(now),
    ).where(
        visible_to(user),
        Conversation.queue.is_not(None),
        Conversation.state.in_([ConversationState.QUEUED, ConversationState.ASSIGNED]),
    )
    queues: dict[str, QueueOut] = {}
    if user.role == Role.AGENT:
        for skill in queue_skills(str(s) for s in user.skills or []):  # not the languages they speak
            queues[str(skill)] = QueueOut(
                name=str(skill), waiting=[], assigned=0, breaches=0, oldest_wait_s=0
            )
    for cid, name, state, priority, band, since, deadline_at, missed in session.execute(stmt):
        queue = queues.setdefault(
            str(name), QueueOut(name=str(name), waiting=[], assigned=0, breaches=0, oldest_wait_s=0)
        )
        queue.breaches += int(bool(missed))
        if state == ConversationState.ASSIGNED:
            queue.assigned += 1
            continue
        queued_at = as_utc(since) if since is not None else None
        deadline = as_utc(deadline_at) if deadline_at is not None else None
        waiting_s = round((now - queued_at).total_seconds(), 1) if queued_at else 0.0
        queue.waiting.append(
            WaitingOut(
                id=cid,
                priority=priority,
                priority_band=band,
                queued_at=queued_at,
                waiting_s=waiting_s,
                sla_deadline=deadline,
                sla_remaining_s=round((deadline - now).total_seconds(), 1) if deadline else None,
                sla_breached=bool(missed),
            )
        )
        queue.oldest_wait_s = max(queue.oldest_wait_s, waiting_s)
    for queue in queues.values():
        queue.waiting.sort(key=lambda w: (-(w.priority or 0), -w.waiting_s))
    return sorted(queues.values(), key=lambda q: q.name)


def list_agents(session: Session) -> list[User]:
    stmt = select(User).where(User.role == Role.AGENT, User.is_active.is_(True)).order_by(User.username)
    return list(session.scalars(stmt))


def _hour(column: Any, dialect: str) -> Any:
    """The hour a timestamp falls in, computed by the database."""
    if dialect == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", column))
    return func.strftime("%Y-%m-%d %H:00:00", column)


def _seconds_between(start: Any, end: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.extract("epoch", end - start)
    return (func.julianday(end) - func.julianday(start)) * 86400.0


def _as_hour(value: Any) -> datetime:
    """An hour bucket as the database returns it (SQLite: text) as an aware UTC datetime."""
    return as_utc(value if isinstance(value, datetime) else datetime.fromisoformat(str(value))).astimezone(
        UTC
    )


def figures(session: Session, now: datetime, window_hours: int) -> FiguresOut:
    """The supervisor's figures for the last ``window_hours``, as aggregates computed in SQL."""
    since = now - timedelta(hours=window_hours)
    dialect = session.get_bind().dialect.name
    hour = _hour(Escalation.created_at, dialect)
    per_hour = {
        _as_hour(bucket): int(count)
        for bucket, count in session.execute(
            select(hour, func.count()).where(Escalation.created_at >= since).group_by(hour)
        )
    }
    first_hour = (now - timedelta(hours=window_hours - 1)).replace(minute=0, second=0, microsecond=0)
    hours = [first_hour + timedelta(hours=i) for i in range(window_hours)]

    feedback_count = session.scalar(select(func.count(Feedback.id)).where(Feedback.created_at >= since)) or 0
    seconds = lambda a, b: _seconds_between(a, b, dialect)  # noqa: E731
    totals, per_queue = queue_figures(session, since, sla_missed_clause(now), seconds)
    started = session.scalar(select(func.count()).where(Conversation.started_at >= since)) or 0

    stress = Message.stress
    bins = [
        func.count().filter(stress < STRESS_BINS[1]),
        *(
            func.count().filter(stress >= lo, stress < hi)
            for lo, hi in zip(STRESS_BINS[1:-2], STRESS_BINS[2:-1], strict=True)
        ),
        func.count().filter(stress >= STRESS_BINS[-2]),
    ]
    scored_since = (Message.created_at >= since, Message.stress.is_not(None))  # ix_messages_scored covers it
    histogram = [int(n) for n in session.execute(select(*bins).where(*scored_since)).one()]
    satisfaction = csat_figures(session, since)

    return FiguresOut(
        window_hours=window_hours,
        conversations=started,
        escalations=sum(per_hour.values()),
        # conversations escalated in the window over those started in it (an escalation of a
        # conversation started before the window counts too, so the rate may pass 1 on a short window)
        escalation_rate=round(totals.escalated / started, 4) if started else None,
        escalations_per_hour=[HourCount(hour=h, count=per_hour.get(h, 0)) for h in hours],
        flag_precision=totals.flag_precision,
        feedback_count=feedback_count,
        median_first_reply_s=totals.median_first_reply_s,
        median_resolution_s=totals.median_resolution_s,
        sla_breach_rate=round(totals.breached / totals.escalated, 4) if totals.escalated else None,
        stress_histogram=histogram,
        stress_bins=STRESS_BINS,
        by_queue=per_queue,
        by_agent=by_agent(session, since),
        csat_average=satisfaction.average,
        csat_responses=satisfaction.responses,
        csat=satisfaction,
    )
