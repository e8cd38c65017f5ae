"""Clearline's own tables for export, erasure, retention and access logging (the adapter: the rules are in
``triage.privacy.rules``). Every function works in the caller's session and never commits."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, Text, and_, cast, delete, func, or_, select, text, update
from sqlalchemy.orm import Session

from triage import audit
from triage.audit import Actor
from triage.domain.lifecycle import WEBHOOK
from triage.privacy import rules
from triage.services.alerts import WEBHOOK_KEY_PREFIX, webhook_key
from triage.storage.conversations import as_utc
from triage.storage.db import (
    Alert,
    AuditRecord,
    ConsumerOffset,
    Conversation,
    ConversationNote,
    ConversationState,
    Escalation,
    EventReceipt,
    Feedback,
    Message,
    MissedFlag,
    OutboxCommand,
)
from triage.storage.search import compact_after_delete
from triage.storage.workplace_tables import CsatRating, SuggestionVerdict, TypingSignal

conversations: Table = Conversation.__table__  # type: ignore[assignment]
alerts: Table = Alert.__table__  # type: ignore[assignment]
messages: Table = Message.__table__  # type: ignore[assignment]
escalations: Table = Escalation.__table__  # type: ignore[assignment]
feedback: Table = Feedback.__table__  # type: ignore[assignment]
outbox: Table = OutboxCommand.__table__  # type: ignore[assignment]
audit_log: Table = AuditRecord.__table__  # type: ignore[assignment]
offsets: Table = ConsumerOffset.__table__  # type: ignore[assignment]
receipts: Table = EventReceipt.__table__  # type: ignore[assignment]
notes: Table = ConversationNote.__table__  # type: ignore[assignment]
missed_flags: Table = MissedFlag.__table__  # type: ignore[assignment]
csat: Table = CsatRating.__table__  # type: ignore[assignment]
suggestions: Table = SuggestionVerdict.__table__  # type: ignore[assignment]
typing_signals: Table = TypingSignal.__table__  # type: ignore[assignment]

# A PostgreSQL advisory lock (this constant, and a hash of the schema Clearline's tables are in, so that
# several Clearline schemas in one database do not wait for each other): a message broker's worker batch
# holds it shared (``triage.worker.receipts.hold_off_erasure``), an erasure alone (``hold_off_worker``).
ERASURE_LOCK = 0x434C_4552  # "CLER"
ERASURE_LOCK_SQL = "(:space, hashtext(current_schema()))"

ERASE = "erase"
ERASE_SETTLE = "erase_settle"
EXPORT = "customer_export"
PURGE = "purge"
# what ``remove`` counts of the audit trail, which it renames and strips rather than deletes
AUDIT_COUNTS = ("audit_log_pseudonymised", "audit_log_references")


def _outbox_keys(ids: Sequence[str]) -> list[str]:
    """A conversation's outbox commands: its own, and its alerts' webhooks not yet delivered."""
    return [*ids, *(webhook_key(conversation_id) for conversation_id in ids)]


def _rowcount(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _escalations_of(ids: Sequence[str]) -> Any:
    return select(escalations.c.id).where(escalations.c.conversation_id.in_(ids))


def _rows(session: Session, stmt: Any) -> list[dict[str, Any]]:
    return [dict(row._mapping) for row in session.execute(stmt)]


def _listing_conversations() -> ColumnElement[bool]:
    """Audit records whose outcome lists conversation ids (``rules.REFERENCE_PATHS``), by shape: which
    ids they list is checked in Python, the same way on SQLite and PostgreSQL."""
    return or_(*(AuditRecord.outcome[(*path, 0)].as_string().is_not(None) for path in rules.REFERENCE_PATHS))


def _referencing(session: Session, ids: Sequence[str]) -> list[dict[str, Any]]:
    wanted = set(ids)
    found = []
    for row in _rows(session, select(audit_log).where(_listing_conversations()).order_by(audit_log.c.id)):
        _, renamed = rules.replace_references(row["outcome"] or {}, {i: i for i in wanted})
        if renamed:
            found.append(row)
    return found


# -- export ------------------------------------------------------------------------------------------


def rows(session: Session, ids: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Every row of Clearline's tables about these conversations, table by table, in id order."""
    return {
        "conversations": _rows(
            session, select(conversations).where(conversations.c.id.in_(ids)).order_by(conversations.c.id)
        ),
        "messages": _rows(
            session, select(messages).where(messages.c.conversation_id.in_(ids)).order_by(messages.c.id)
        ),
        "escalations": _rows(
            session,
            select(escalations).where(escalations.c.conversation_id.in_(ids)).order_by(escalations.c.id),
        ),
        "feedback": _rows(
            session,
            select(feedback)
            .where(feedback.c.escalation_id.in_(_escalations_of(ids)))
            .order_by(feedback.c.id),
        ),
        "outbox": _rows(
            session, select(outbox).where(outbox.c.conversation_id.in_(ids)).order_by(outbox.c.id)
        ),
        "notes": _rows(session, select(notes).where(notes.c.conversation_id.in_(ids)).order_by(notes.c.id)),
        "missed_flags": _rows(
            session,
            select(missed_flags).where(missed_flags.c.conversation_id.in_(ids)).order_by(missed_flags.c.id),
        ),
        "csat_ratings": _rows(
            session, select(csat).where(csat.c.conversation_id.in_(ids)).order_by(csat.c.id)
        ),
        "suggestion_verdicts": _rows(
            session,
            select(suggestions).where(suggestions.c.conversation_id.in_(ids)).order_by(suggestions.c.id),
        ),
        "audit_log": _rows(
            session, select(audit_log).where(audit_log.c.conversation_id.in_(ids)).order_by(audit_log.c.id)
        ),
        # records of other things (an agent going offline) that list these conversations
        "audit_log_references": _referencing(session, ids),
    }


def same_customer(session: Session, ids: Sequence[str]) -> list[str]:
    """The ids given, then every other conversation the bot linked to the same customer (the same
    ``customer_ref``, docs/agent-console.md "Earlier conversations"), oldest first."""
    refs = select(conversations.c.customer_ref).where(
        conversations.c.id.in_(ids), conversations.c.customer_ref.is_not(None)
    )
    linked = session.scalars(
        select(conversations.c.id)
        .where(conversations.c.customer_ref.in_(refs), conversations.c.id.not_in(ids))
        .order_by(conversations.c.started_at, conversations.c.id)
    )
    return [*ids, *linked]


# -- erasure and purge ---------------------------------------------------------------------------------


def hold_off_worker(session: Session) -> None:
    """Keep the worker from committing a batch until this transaction ends.

    The worker locks its ``consumer_offsets`` row (FOR UPDATE) before it reads a batch and keeps it until
    the batch commits: on PostgreSQL this UPDATE waits for a batch in flight and then holds the next one
    back. On SQLite it takes the database's write lock, and the worker, which reads its batch without a
    lock, checks after taking that lock that the events it read are still in the broker
    (``Worker.process_next_batch``).

    A message broker's workers (RabbitMQ, Kafka) hold ``ERASURE_LOCK`` shared through each batch; the
    erasure takes it alone on PostgreSQL, so it waits for their batches in flight and holds the next ones
    back until its audit record, which they read to skip the erased conversation's queued events, is
    committed.
    """
    session.execute(update(offsets).values(last_event_id=offsets.c.last_event_id))
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text(f"SELECT pg_advisory_xact_lock{ERASURE_LOCK_SQL}"), {"space": ERASURE_LOCK})


def worker_offset(session: Session) -> int:
    """The broker event id up to which every consumer has stored what it read (0: none has run). The
    rows of Kafka partitions (``kafka:<topic>:<partition>``) hold Kafka offsets, not ids of Rasa's table."""
    sql_consumers = ~offsets.c.consumer.startswith("kafka:", autoescape=True)
    return int(session.scalar(select(func.min(offsets.c.last_event_id)).where(sql_consumers)) or 0)


def remove(session: Session, ids: Sequence[str], names: Mapping[str, str]) -> dict[str, int]:
    """Delete these conversations and everything that hangs on them; keep their audit records without the
    text, named by pseudonym (``names``: id -> pseudonym). Returns counts per table."""
    counts = {
        # before the escalations and conversations they point at
        "csat_ratings": _rowcount(session.execute(delete(csat).where(csat.c.conversation_id.in_(ids)))),
        "suggestion_verdicts": _rowcount(
            session.execute(delete(suggestions).where(suggestions.c.conversation_id.in_(ids)))
        ),
        "typing_signals": _rowcount(
            session.execute(delete(typing_signals).where(typing_signals.c.conversation_id.in_(ids)))
        ),
        "feedback": _rowcount(
            session.execute(delete(feedback).where(feedback.c.escalation_id.in_(_escalations_of(ids))))
        ),
        "escalations": _rowcount(
            session.execute(delete(escalations).where(escalations.c.conversation_id.in_(ids)))
        ),
        # before the messages they may point at
        "missed_flags": _rowcount(
            session.execute(delete(missed_flags).where(missed_flags.c.conversation_id.in_(ids)))
        ),
        "messages": _rowcount(session.execute(delete(messages).where(messages.c.conversation_id.in_(ids)))),
        "outbox": _rowcount(
            session.execute(delete(outbox).where(outbox.c.conversation_id.in_(_outbox_keys(ids))))
        ),
        "notes": _rowcount(session.execute(delete(notes).where(notes.c.conversation_id.in_(ids)))),
        "alerts": _rowcount(session.execute(delete(alerts).where(alerts.c.conversation_id.in_(ids)))),
        "conversations": _rowcount(session.execute(delete(conversations).where(conversations.c.id.in_(ids)))),
        "event_receipts": _rowcount(session.execute(delete(receipts).where(receipts.c.sender_id.in_(ids)))),
        "audit_log_pseudonymised": 0,
        "audit_log_references": 0,
    }
    own = select(audit_log.c.id, audit_log.c.conversation_id, audit_log.c.inputs, audit_log.c.outcome)
    for row in session.execute(own.where(audit_log.c.conversation_id.in_(ids))):
        inputs, _ = rules.strip_text(row.inputs or {})
        outcome, _ = rules.strip_text(row.outcome or {})
        session.execute(
            update(audit_log)
            .where(audit_log.c.id == row.id)
            .values(conversation_id=names[row.conversation_id], inputs=inputs, outcome=outcome)
        )
        counts["audit_log_pseudonymised"] += 1
    for record in _referencing(session, ids):
        outcome, renamed = rules.replace_references(record["outcome"] or {}, names)
        session.execute(update(audit_log).where(audit_log.c.id == record["id"]).values(outcome=outcome))
        counts["audit_log_references"] += renamed
    compact_after_delete(session)  # the erased messages' words out of the search index too
    return counts


def count(session: Session, ids: Sequence[str]) -> dict[str, int]:
    """What ``remove`` would remove (a dry run)."""

    def number(table: Table, condition: ColumnElement[bool]) -> int:
        return int(session.scalar(select(func.count()).select_from(table).where(condition)) or 0)

    return {
        "csat_ratings": number(csat, csat.c.conversation_id.in_(ids)),
        "suggestion_verdicts": number(suggestions, suggestions.c.conversation_id.in_(ids)),
        "typing_signals": number(typing_signals, typing_signals.c.conversation_id.in_(ids)),
        "feedback": number(feedback, feedback.c.escalation_id.in_(_escalations_of(ids))),
        "escalations": number(escalations, escalations.c.conversation_id.in_(ids)),
        "missed_flags": number(missed_flags, missed_flags.c.conversation_id.in_(ids)),
        "messages": number(messages, messages.c.conversation_id.in_(ids)),
        "outbox": number(outbox, outbox.c.conversation_id.in_(_outbox_keys(ids))),
        "notes": number(notes, notes.c.conversation_id.in_(ids)),
        "alerts": number(alerts, alerts.c.conversation_id.in_(ids)),
        "conversations": number(conversations, conversations.c.id.in_(ids)),
        "event_receipts": number(receipts, receipts.c.sender_id.in_(ids)),
        "audit_log_pseudonymised": number(audit_log, audit_log.c.conversation_id.in_(ids)),
        "audit_log_references": sum(
            rules.replace_references(r["outcome"] or {}, {i: i for i in ids})[1]
            for r in _referencing(session, ids)
        ),
    }


@dataclass(frozen=True)
class Erasure:
    at: datetime
    actor: str


def previous_erasure(session: Session, name: str) -> Erasure | None:
    """The latest erasure recorded under this pseudonym."""
    row = session.execute(
        select(audit_log.c.at, audit_log.c.actor)
        .where(audit_log.c.conversation_id == name, audit_log.c.action == ERASE)
        .order_by(audit_log.c.id.desc())
        .limit(1)
    ).first()
    return Erasure(as_utc(row.at), row.actor) if row is not None else None


def erasure_times(session: Session, names: Sequence[str]) -> dict[str, datetime]:
    """The latest erasure of each of these pseudonyms that was ever erased: a message broker's worker
    skips the queued events of an erased conversation that are older than its erasure."""
    if not names:
        return {}
    rows = session.execute(
        select(audit_log.c.conversation_id, func.max(audit_log.c.at))
        .where(audit_log.c.conversation_id.in_(names), audit_log.c.action == ERASE)
        .group_by(audit_log.c.conversation_id)
    ).all()
    return {name: as_utc(at) for name, at in rows if at is not None}


@dataclass(frozen=True)
class IdleConversation:
    id: str
    state: ConversationState
    last_activity: datetime | None


def idle_conversations(session: Session, cut: datetime, after: str, limit: int) -> list[IdleConversation]:
    """Conversations with no activity since ``cut`` (every activity column older or empty), by id after
    ``after``."""
    columns = [conversations.c[name] for name in rules.ACTIVITY_COLUMNS]
    stmt = (
        select(conversations.c.id, conversations.c.state, *columns)
        .where(conversations.c.id > after, *(or_(c.is_(None), c < cut) for c in columns))
        .order_by(conversations.c.id)
        .limit(limit)
    )
    found = []
    for row in session.execute(stmt):
        stamps = [as_utc(row._mapping[c.name]) if row._mapping[c.name] else None for c in columns]
        found.append(IdleConversation(row.id, ConversationState(row.state), rules.last_activity(*stamps)))
    return found


def existing(session: Session, ids: Sequence[str]) -> set[str]:
    return set(session.scalars(select(conversations.c.id).where(conversations.c.id.in_(ids))))


def _carries_text(column: Any) -> ColumnElement[bool]:
    values = [column[path if len(path) > 1 else path[0]].as_string() for path in rules.TEXT_PATHS]
    at_known_paths = [and_(v.is_not(None), v.not_in(rules.SYSTEM_REASONS)) for v in values]
    # a signal factor's words, in lists of factors: found in the JSON text (SQLite's and PostgreSQL's)
    return or_(*at_known_paths, cast(column, Text).like(f"%{rules.WORD_MARK}%"))


def old_text_records(session: Session, cut: datetime, after_id: int, limit: int) -> list[dict[str, Any]]:
    """Audit records from before ``cut`` that still carry free text, by id after ``after_id``."""
    stmt = (
        select(audit_log.c.id, audit_log.c.inputs, audit_log.c.outcome)
        .where(
            audit_log.c.at < cut,
            audit_log.c.id > after_id,
            or_(_carries_text(AuditRecord.inputs), _carries_text(AuditRecord.outcome)),
        )
        .order_by(audit_log.c.id)
        .limit(limit)
    )
    return _rows(session, stmt)


def strip_old_text(session: Session, records: Sequence[Mapping[str, Any]], *, dry_run: bool = False) -> int:
    """Remove the free text of these records (from ``old_text_records``); how many changed (would)."""
    changed = 0
    for record in records:
        inputs, removed_in = rules.strip_text(record["inputs"] or {})
        outcome, removed_out = rules.strip_text(record["outcome"] or {})
        if not (removed_in or removed_out):
            continue  # the database's filter is wider than the rule (a value that reads "word")
        if not dry_run:
            session.execute(
                update(audit_log).where(audit_log.c.id == record["id"]).values(inputs=inputs, outcome=outcome)
            )
        changed += 1
    return changed


def _settled_webhooks(cut: datetime) -> ColumnElement[bool]:
    """Alert webhooks delivered or given up before ``cut`` whose key names no stored conversation. A
    conversation's go with it (so a purge counts each row once); an alert about an agent going offline or
    about the model's drift has no conversation to be purged with, and without this its rows would pile
    up. By kind, not only by key: a customer's sender id may itself start with "alert:"."""
    subject = func.substr(outbox.c.conversation_id, len(WEBHOOK_KEY_PREFIX) + 1)
    return and_(
        outbox.c.kind == WEBHOOK,
        outbox.c.conversation_id.startswith(WEBHOOK_KEY_PREFIX, autoescape=True),
        or_(outbox.c.sent_at < cut, outbox.c.abandoned_at < cut),
        ~select(conversations.c.id).where(conversations.c.id == subject).exists(),
    )


def purge_settled_webhooks(session: Session, cut: datetime, *, dry_run: bool = False) -> int:
    """Remove (or, in a dry run, count) the outbox rows of alert webhooks settled before ``cut``: what is
    left of them is an alert's id, the tries and the last error (``triage.storage.outbox``); the alert stays.
    One statement: the rows are small and hold no customer's words."""
    if dry_run:
        stmt = select(func.count()).select_from(outbox).where(_settled_webhooks(cut))
        return int(session.scalar(stmt) or 0)
    return _rowcount(session.execute(delete(outbox).where(_settled_webhooks(cut))))


# -- audit records of the privacy actions ------------------------------------------------------------


def record_view(
    session: Session, conversation_id: str, viewer: Actor, now: datetime, action: str = rules.TRANSCRIPT_VIEW
) -> bool:
    """Log that ``viewer`` opened the conversation's transcript (or, with ``action``, another view of it):
    once per ``rules.TRANSCRIPT_VIEW_WINDOW`` (the page re-reads it on every live update). True when a
    record was added."""
    recent = (
        select(audit_log.c.id)
        .where(
            audit_log.c.conversation_id == conversation_id,
            audit_log.c.action == action,
            audit_log.c.actor_type == viewer.kind,
            audit_log.c.actor == viewer.name,
            audit_log.c.at >= now - rules.TRANSCRIPT_VIEW_WINDOW,
        )
        .limit(1)
    )
    if session.scalar(recent) is not None:
        return False
    audit.record(
        session,
        viewer,
        action,
        conversation_id=conversation_id,
        inputs={"user_id": viewer.user_id},
        at=now,
    )
    return True
