"""The figures' parts that say what they mean (issue #20): flag precision from the latest verdicts with
unflags counted as wrong, escalation rate, time to resolution, and the breakdowns by queue and by agent.

Aggregates in SQL as the overall figures (api/figures.py); per-queue medians with PostgreSQL's
percentile_cont per group, on SQLite from the (queue, seconds) pairs."""

from __future__ import annotations

import statistics
from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, distinct, func, literal_column, or_, select
from sqlalchemy.orm import Session

from api.schemas import AgentFigures, QueueFigures
from triage.storage.db import AuditRecord, Conversation, Escalation, Message, Sender, User


def judged() -> ColumnElement[bool]:
    """An escalation with a verdict: a supervisor's latest, or an unflag (a flag withdrawn was wrong)."""
    return or_(Escalation.unflagged.is_(True), Escalation.feedback_state.is_not(None))


def judged_right() -> ColumnElement[bool]:
    return and_(Escalation.unflagged.is_(False), Escalation.feedback_state == "correct")


def flag_precision(session: Session, *conditions: Any) -> float | None:
    verdicts, right = session.execute(
        select(func.count().filter(judged()), func.count().filter(judged_right())).where(*conditions)
    ).one()
    return round(right / verdicts, 4) if verdicts else None


def _medians_by_queue(session: Session, seconds: Any, *conditions: Any) -> dict[str, float]:
    """The median of ``seconds`` per queue: PostgreSQL's percentile_cont per group; SQLite has none, so
    there the (queue, seconds) pairs are read and the medians taken here."""
    if session.get_bind().dialect.name == "postgresql":
        rows = session.execute(
            select(Conversation.queue, func.percentile_cont(0.5).within_group(seconds))
            .where(*conditions)
            .group_by(Conversation.queue)
        )
        return {str(queue or "none"): round(float(value), 1) for queue, value in rows if value is not None}
    values: dict[str, list[float]] = defaultdict(list)
    for queue, value in session.execute(select(Conversation.queue, seconds).where(*conditions)):
        values[str(queue or "none")].append(float(value))
    return {queue: round(statistics.median(found), 1) for queue, found in values.items()}


def by_queue(
    session: Session, since: datetime, missed: ColumnElement[bool], seconds_between: Any
) -> list[QueueFigures]:
    """Per queue of the escalations in the window: how many, precision, medians, SLA breach rate."""
    escalated = (Conversation.escalated_at.is_not(None), Conversation.escalated_at >= since)
    counts = {
        str(queue or "none"): (int(n), int(breached))
        for queue, n, breached in session.execute(
            select(Conversation.queue, func.count(), func.count().filter(missed))
            .where(*escalated)
            .group_by(Conversation.queue)
        )
    }
    wait = seconds_between(Conversation.escalated_at, Conversation.first_agent_reply_at)
    took = seconds_between(Conversation.escalated_at, Conversation.resolved_at)
    replies = _medians_by_queue(session, wait, *escalated, Conversation.first_agent_reply_at.is_not(None))
    resolutions = _medians_by_queue(session, took, *escalated, Conversation.resolved_at.is_not(None))
    precision = {
        str(queue): (round(right / verdicts, 4) if verdicts else None)
        for queue, verdicts, right in session.execute(
            select(Escalation.queue, func.count().filter(judged()), func.count().filter(judged_right()))
            .where(Escalation.created_at >= since)
            .group_by(Escalation.queue)
        )
    }
    return [
        QueueFigures(
            queue=name,
            escalations=n,
            flag_precision=precision.get(name),
            median_first_reply_s=replies.get(name),
            median_resolution_s=resolutions.get(name),
            sla_breach_rate=round(breached / n, 4),
        )
        for name, (n, breached) in sorted(counts.items())
    ]


def by_agent(session: Session, since: datetime) -> list[AgentFigures]:
    """Per agent in the window: conversations they answered, replies, hand-offs they resolved."""
    answered = {
        agent_id: (int(conversations), int(replies))
        for agent_id, conversations, replies in session.execute(
            select(Message.agent_id, func.count(distinct(Message.conversation_id)), func.count())
            # the literal, as ix_messages_agent_replies' predicate has it (the column stores the name)
            .where(Message.sender == literal_column(f"'{Sender.AGENT.name}'"), Message.created_at >= since)
            .group_by(Message.agent_id)
        )
    }
    resolved = {
        str(actor): int(n)
        for actor, n in session.execute(
            select(AuditRecord.actor, func.count())
            .where(AuditRecord.action == "resolve", AuditRecord.actor_type == "user", AuditRecord.at >= since)
            .group_by(AuditRecord.actor)
        )
    }
    people = session.execute(select(User.id, User.username, User.display_name))
    figures = []
    for user_id, username, display_name in people:
        conversations, replies = answered.get(user_id, (0, 0))
        done = resolved.get(username, 0)
        if conversations or done:
            figures.append(
                AgentFigures(
                    agent_id=user_id,
                    name=display_name or username,
                    conversations_answered=conversations,
                    replies=replies,
                    resolved=done,
                )
            )
    return sorted(figures, key=lambda f: (-f.conversations_answered, f.name))
