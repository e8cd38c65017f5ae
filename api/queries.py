"""Read-only queries over the ORM for the console and dashboard: visibility, lists, detail, audit."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, false, func, literal_column, or_, select
from sqlalchemy.orm import Session, selectinload

from api.schemas import ConversationSummary
from triage.storage.conversations import is_supervisor
from triage.storage.db import AuditRecord, Conversation, ConversationState, Escalation, User
from triage.storage.search import Search, conversations_matching


def visible_to(user: User) -> ColumnElement[bool]:
    """Supervisors and admins see every conversation; agents their queues and their own assignments."""
    if is_supervisor(user):
        return Conversation.id.is_not(None)
    skills = [str(s) for s in (user.skills or [])]
    own = Conversation.assigned_agent_id == user.id
    return or_(own, Conversation.queue.in_(skills)) if skills else own


def find_visible(session: Session, user: User, conversation_id: str) -> Conversation | None:
    stmt = (
        select(Conversation)
        .where(Conversation.id == conversation_id, visible_to(user))
        .options(selectinload(Conversation.messages), selectinload(Conversation.escalations))
    )
    return session.scalars(stmt).first()


def can_see(session: Session, user: User, conversation_id: str) -> bool:
    stmt = select(Conversation.id).where(Conversation.id == conversation_id, visible_to(user))
    return session.scalar(stmt) is not None


# The list's order, matched by the ix_conversations_urgency index: highest priority first (none counts
# below 0), then the newest escalation or message.
URGENCY = func.coalesce(Conversation.priority, literal_column("-1"))  # inline: the index has -1
URGENT_SINCE = func.coalesce(Conversation.escalated_at, Conversation.last_message_at)


@dataclass(frozen=True)
class ConversationFilter:
    since: datetime | None = None
    until: datetime | None = None
    queue: str | None = None
    state: ConversationState | None = None
    priority_min: int | None = None
    priority_band: str | None = None
    stress_min: float | None = None
    feedback: str | None = None  # none | correct | wrong
    flagged: bool | None = None  # has a live (not unflagged) escalation
    assigned_to_me: bool = False
    search: Search | None = None  # words and phrases in the (redacted) transcript


Conditions = list[ColumnElement[bool]]


def _conditions(user: User, f: ConversationFilter) -> tuple[Conditions, Conditions]:
    """The filters on the conversation row, and those on its newest escalation."""
    on_row: Conditions = [visible_to(user)]
    if f.since is not None:
        on_row.append(f.since <= URGENT_SINCE)
    if f.until is not None:
        on_row.append(f.until >= URGENT_SINCE)
    if f.queue is not None:
        on_row.append(Conversation.queue == f.queue)
    if f.state is not None:
        on_row.append(Conversation.state == f.state)
    if f.priority_min is not None:
        on_row.append(Conversation.priority >= f.priority_min)
    if f.priority_band is not None:
        on_row.append(Conversation.priority_band == f.priority_band)
    if f.stress_min is not None:
        on_row.append(Conversation.max_stress >= f.stress_min)
    if f.assigned_to_me:
        on_row.append(Conversation.assigned_agent_id == user.id)
    on_escalation: Conditions = []
    if f.feedback == "none":
        on_escalation.append(Escalation.id.is_not(None) & Escalation.feedback_state.is_(None))
    elif f.feedback is not None:
        on_escalation.append(Escalation.feedback_state == f.feedback)
    if f.flagged is True:
        on_escalation.append(Escalation.id.is_not(None) & (Escalation.unflagged == false()))
    elif f.flagged is False:
        on_escalation.append(or_(Escalation.id.is_(None), Escalation.unflagged.is_(True)))
    return on_row, on_escalation


def list_conversations(
    session: Session, user: User, filters: ConversationFilter, *, limit: int, offset: int
) -> tuple[list[ConversationSummary], int]:
    """One page in the list's order (an index walk, ix_conversations_urgency) and the total; the newest
    escalation and the highest stress are kept on the row, so nothing is grouped."""
    on_row, on_escalation = _conditions(user, filters)
    if filters.search is not None:  # its SQL depends on the database: the session knows which
        on_row.append(conversations_matching(session, filters.search))
    newest_escalation = Escalation.id == Conversation.latest_escalation_id
    counted = select(func.count()).select_from(Conversation)
    if on_escalation:  # the count joins the escalation only when a filter needs it
        counted = counted.outerjoin(Escalation, newest_escalation)
    total = session.scalar(counted.where(*on_row, *on_escalation)) or 0
    stmt = (
        select(Conversation, Escalation, User.username)
        .outerjoin(Escalation, newest_escalation)
        .outerjoin(User, User.id == Conversation.assigned_agent_id)
        .where(*on_row, *on_escalation)
        .order_by(URGENCY.desc(), URGENT_SINCE.desc(), Conversation.id)
        .limit(limit)
        .offset(offset)
    )
    items = [summarise(conv, esc, conv.max_stress, agent) for conv, esc, agent in session.execute(stmt)]
    return items, total


def summarise(
    conv: Conversation, esc: Escalation | None, max_stress: float | None, agent: str | None
) -> ConversationSummary:
    summary = ConversationSummary.model_validate(conv)
    trajectory = [float(x) for x in (conv.stress_trajectory or []) if isinstance(x, int | float)]
    return summary.model_copy(
        update={
            "assigned_agent_name": agent,
            "max_stress": max_stress if max_stress is not None else (max(trajectory) if trajectory else None),
            "last_stress": trajectory[-1] if trajectory else None,
            "escalation_id": esc.id if esc else None,
            "feedback_state": esc.feedback_state if esc else None,
            "unflagged": esc.unflagged if esc else False,
        }
    )


def audit_trail(session: Session, conversation_id: str, *, limit: int) -> list[AuditRecord]:
    stmt = (
        select(AuditRecord)
        .where(AuditRecord.conversation_id == conversation_id)
        .order_by(AuditRecord.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def _audit_visible_to(user: User) -> ColumnElement[bool]:
    if is_supervisor(user):
        return AuditRecord.id.is_not(None)
    visible_ids = select(Conversation.id).where(visible_to(user))
    own = (AuditRecord.actor_type == "user") & (AuditRecord.actor == user.username)
    return or_(AuditRecord.conversation_id.in_(visible_ids), own)


def audit_after(
    session: Session, user: User, after_id: int, *, through: int, limit: int = 200
) -> list[AuditRecord]:
    """Audit records newer than ``after_id`` and at most ``through`` that this user may see (the live
    feed's query; ``through``: the audit horizon, ``api.audit_horizon``)."""
    stmt = (
        select(AuditRecord)
        .where(AuditRecord.id > after_id, AuditRecord.id <= through, _audit_visible_to(user))
        .order_by(AuditRecord.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def newest_audit(session: Session, user: User, *, through: int, limit: int) -> list[AuditRecord]:
    """The newest audit records at most ``through`` (the audit horizon) this user may see, newest first."""
    stmt = (
        select(AuditRecord)
        .where(AuditRecord.id <= through, _audit_visible_to(user))
        .order_by(AuditRecord.id.desc())
        .limit(limit)
    )
    return list(session.scalars(stmt))


def last_audit_id(session: Session) -> int:
    return session.scalar(select(func.max(AuditRecord.id))) or 0
