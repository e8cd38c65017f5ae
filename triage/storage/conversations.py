"""The adapter between conversation rows and the domain core: lookups, ownership, and the one place
that copies a conversation's ``Handling`` in and out of its row and stores the domain's effects."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, or_
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from triage import audit
from triage.audit import Actor
from triage.domain.csat import ASKED_SLOT as CSAT_ASKED_SLOT
from triage.domain.lifecycle import ASK_CSAT, Effects, Handling, Lifecycle
from triage.domain.policy import DEFAULT_TIER, PolicyInput
from triage.domain.signals import Finding
from triage.errors import ConversationNotFound, EscalationNotFound, NotAssignedToYou, StaleUpdate
from triage.storage.db import SUPERVISING_ROLES, Conversation, Escalation, User, utcnow
from triage.storage.outbox import enqueue

# the row's columns the domain owns: everything in Handling except its key
HANDLING_FIELDS = tuple(f.name for f in dataclasses.fields(Handling) if f.name != "conversation_id")


def as_utc(moment: datetime) -> datetime:
    """The moment in UTC: SQLite hands back naive datetimes (everything Clearline stores is UTC);
    PostgreSQL's come in the session's time zone, and an ISO option may name any zone."""
    return moment.astimezone(UTC) if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise StaleUpdate("the conversation was changed by someone else; reload and retry") from exc


def new_conversation(conversation_id: str, at: datetime | None = None) -> Conversation:
    """A conversation with its defaults set now (column defaults only apply at INSERT); its hand-off
    state is the domain's initial one."""
    at = at or utcnow()
    initial = Handling(conversation_id)
    return Conversation(
        id=conversation_id,
        customer_tier=DEFAULT_TIER,
        stress_trajectory=[],
        started_at=at,
        last_message_at=at,
        **{name: getattr(initial, name) for name in HANDLING_FIELDS},
    )


def get_conversation(session: Session, conversation_id: str) -> Conversation:
    conversation = session.get(Conversation, conversation_id)
    if conversation is None:
        raise ConversationNotFound(f"conversation {conversation_id!r} not found")
    return conversation


def get_escalation(session: Session, escalation_id: int) -> Escalation:
    escalation = session.get(Escalation, escalation_id)
    if escalation is None:
        raise EscalationNotFound(f"escalation {escalation_id} not found")
    return escalation


def is_supervisor(user: User | None) -> bool:
    """Supervisors and admins: they see every conversation and may override automatic decisions."""
    return user is not None and user.role in SUPERVISING_ROLES


def require_owner_or_supervisor(session: Session, conversation: Conversation, actor: Actor) -> None:
    """Agents act on their own conversations only; supervisors, admins and the system on any."""
    if actor.kind != "user":
        return
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if is_supervisor(user):
        return
    if conversation.assigned_agent_id is None or conversation.assigned_agent_id != actor.user_id:
        raise NotAssignedToYou(f"conversation {conversation.id!r} is not assigned to you")


def policy_input(
    conversation: Conversation, now: datetime | None = None, *, signals: Sequence[Finding] = ()
) -> PolicyInput:
    """What the policy sees of a stored conversation; ``signals``: what ``Policy.detect`` found in its
    latest customer text, for the callers that have it (the worker)."""
    trajectory = [float(s) for s in conversation.stress_trajectory or []]
    started = conversation.started_at
    elapsed = ((now or utcnow()) - as_utc(started)).total_seconds() / 60 if started is not None else 0.0
    return PolicyInput(
        latest_stress=trajectory[-1] if trajectory else None,
        stress_trajectory=trajectory,
        fallback_count=conversation.fallback_count,
        human_requested=conversation.human_requested,
        intent=conversation.latest_intent,
        customer_tier=conversation.customer_tier,
        minutes_elapsed=max(0.0, elapsed),
        recent_intents=tuple(conversation.recent_intents or ()),
        signals=tuple(signals),
        # the latest customer message's: its own when the detector judged it, else the conversation's
        language=conversation.language,
    )


def handling_of(conversation: Conversation) -> Handling:
    """The domain's view of a row (datetimes as UTC, whatever the database handed back)."""
    values: dict[str, Any] = {}
    for name in HANDLING_FIELDS:
        value = getattr(conversation, name)
        values[name] = as_utc(value) if isinstance(value, datetime) else value
    return Handling(conversation_id=conversation.id, **values)


@contextmanager
def lifecycle(conversation: Conversation) -> Iterator[Lifecycle]:
    """The conversation's state machine; what it changed is copied back to the row when the block ends
    without an error (a refused action leaves the row as it was)."""
    machine = Lifecycle(handling_of(conversation))
    yield machine
    for name in HANDLING_FIELDS:
        value, stored = getattr(machine.h, name), getattr(conversation, name)
        if isinstance(stored, datetime):
            stored = as_utc(stored)
        if stored != value:
            setattr(conversation, name, value)


def store_effects(
    session: Session,
    conversation_id: str,
    actor: Actor,
    effects: Effects,
    *,
    at: datetime | None = None,
    versions: dict[str, object] | None = None,
    extra_outcome: dict[str, object] | None = None,
) -> None:
    """Write the domain's audit notes and outbox commands into the caller's unit of work."""
    for command in effects.commands:
        payload = command.payload
        if command.kind == "agent_joined":
            agent = session.get(User, payload.get("agent_id"))
            payload = payload | {"agent_name": (agent.display_name or agent.username) if agent else None}
        if command.kind in ("agent_joined", "utter"):
            # the customer's words go in their language where the bot has them (triage/rasa/responses.py)
            conversation = session.get(Conversation, conversation_id)
            if conversation is not None and conversation.language:
                payload = payload | {"language": conversation.language}
            if conversation is not None and payload.get("name") == ASK_CSAT:
                # the bot keeps what the question is about and sends it back with the rating
                asked = f"escalation:{conversation.latest_escalation_id}"
                payload = payload | {"slots": {CSAT_ASKED_SLOT: asked}}
        enqueue(session, conversation_id, command.kind, payload)
    for note in effects.audit:
        audit.record(
            session,
            actor,
            note.action,
            conversation_id=conversation_id,
            inputs=note.inputs,
            outcome=note.outcome | (extra_outcome or {}),
            versions=note.versions | (versions or {}),
            at=at,
        )


def sla_missed_clause(now: datetime) -> ColumnElement[bool]:
    """``triage.domain.lifecycle.sla_missed`` as a SQL condition, for counting in the database; a test
    checks that both give the same answer on every combination of the fields involved."""
    return or_(
        Conversation.sla_breached.is_(True),
        and_(
            Conversation.sla_deadline.is_not(None),
            func.coalesce(Conversation.first_agent_reply_at, now) > Conversation.sla_deadline,
        ),
    )
