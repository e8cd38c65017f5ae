"""Dashboard figures: queues with SLA timers, agents with load, and the supervisor's metrics."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.queries import visible_to
from api.schemas import FiguresOut, HourCount, QueueOut, WaitingOut
from triage.conversations import handling_of
from triage.db import Conversation, ConversationState, Escalation, Feedback, Message, Role, User
from triage.domain.lifecycle import sla_missed as domain_sla_missed

STRESS_BINS = [round(i / 10, 1) for i in range(11)]


def aware(moment: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes; everything Clearline stores is UTC."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def sla_missed(conv: Conversation, now: datetime) -> bool:
    """The domain's one definition of a first-reply SLA breach, on a stored conversation."""
    return domain_sla_missed(handling_of(conv), now)


def queues_overview(session: Session, user: User, now: datetime) -> list[QueueOut]:
    stmt = select(Conversation).where(
        visible_to(user),
        Conversation.queue.is_not(None),
        Conversation.state.in_([ConversationState.QUEUED, ConversationState.ASSIGNED]),
    )
    queues: dict[str, QueueOut] = {}
    if user.role == Role.AGENT:
        for skill in user.skills or []:
            queues[str(skill)] = QueueOut(
                name=str(skill), waiting=[], assigned=0, breaches=0, oldest_wait_s=0
            )
    for conv in session.scalars(stmt):
        queue = queues.setdefault(
            str(conv.queue),
            QueueOut(name=str(conv.queue), waiting=[], assigned=0, breaches=0, oldest_wait_s=0),
        )
        if sla_missed(conv, now):
            queue.breaches += 1
        if conv.state == ConversationState.ASSIGNED:
            queue.assigned += 1
            continue
        queued_at = aware(conv.queued_at or conv.escalated_at)
        deadline = aware(conv.sla_deadline)
        waiting_s = (now - queued_at).total_seconds() if queued_at else 0.0
        queue.waiting.append(
            WaitingOut(
                id=conv.id,
                priority=conv.priority,
                priority_band=conv.priority_band,
                queued_at=queued_at,
                waiting_s=round(waiting_s, 1),
                sla_deadline=deadline,
                sla_remaining_s=round((deadline - now).total_seconds(), 1) if deadline else None,
                sla_breached=sla_missed(conv, now),
            )
        )
        queue.oldest_wait_s = max(queue.oldest_wait_s, round(waiting_s, 1))
    for queue in queues.values():
        queue.waiting.sort(key=lambda w: (-(w.priority or 0), -w.waiting_s))
    return sorted(queues.values(), key=lambda q: q.name)


def list_agents(session: Session) -> list[User]:
    stmt = select(User).where(User.role == Role.AGENT, User.is_active.is_(True)).order_by(User.username)
    return list(session.scalars(stmt))


def figures(session: Session, now: datetime, window_hours: int) -> FiguresOut:
    since = now - timedelta(hours=window_hours)
    escalations = list(session.scalars(select(Escalation).where(Escalation.created_at >= since)))
    per_hour: Counter[datetime] = Counter()
    for esc in escalations:
        created = aware(esc.created_at)
        assert created is not None
        per_hour[created.replace(minute=0, second=0, microsecond=0)] += 1
    first_hour = (now - timedelta(hours=window_hours - 1)).replace(minute=0, second=0, microsecond=0)
    hours = [first_hour + timedelta(hours=i) for i in range(window_hours)]

    verdicts = list(
        session.scalars(
            select(Escalation.feedback_state).where(
                Escalation.created_at >= since, Escalation.feedback_state.is_not(None)
            )
        )
    )
    feedback_count = session.scalar(select(func.count(Feedback.id)).where(Feedback.created_at >= since)) or 0
    correct = sum(1 for v in verdicts if v == "correct")

    escalated = list(
        session.scalars(
            select(Conversation).where(
                Conversation.escalated_at.is_not(None), Conversation.escalated_at >= since
            )
        )
    )
    reply_waits = [
        (aware(c.first_agent_reply_at) - aware(c.escalated_at)).total_seconds()  # type: ignore[operator]
        for c in escalated
        if c.first_agent_reply_at is not None and c.escalated_at is not None
    ]
    breached = sum(1 for c in escalated if sla_missed(c, now))

    stresses = session.scalars(
        select(Message.stress).where(Message.stress.is_not(None), Message.created_at >= since)
    )
    histogram = [0] * (len(STRESS_BINS) - 1)
    for stress in stresses:
        if stress is not None:
            histogram[min(max(int(stress * 10), 0), 9)] += 1

    return FiguresOut(
        window_hours=window_hours,
        escalations=len(escalations),
        escalations_per_hour=[HourCount(hour=h, count=per_hour.get(h, 0)) for h in hours],
        flag_precision=round(correct / len(verdicts), 4) if verdicts else None,
        feedback_count=feedback_count,
        median_first_reply_s=round(statistics.median(reply_waits), 1) if reply_waits else None,
        sla_breach_rate=round(breached / len(escalated), 4) if escalated else None,
        stress_histogram=histogram,
        stress_bins=STRESS_BINS,
    )
