"""Exports for a time range as CSV or JSON, streamed: rows are read in batches and written as they come,
so an export of a year weighs a batch in memory, not the year.

Six kinds: conversations (those active in the range), escalations with their factors and explanations,
feedback (verdicts, unmarked and added words), missed flags, agents' verdicts on suggested next actions (with
the reasons shown), and the audit trail. What is exported is
what is stored: redacted texts and placeholders.
"""

from __future__ import annotations

import csv
import enum
import io
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from triage.storage.conversations import as_utc
from triage.storage.db import AuditRecord, Conversation, Escalation, Feedback, MissedFlag, User
from triage.storage.workplace_tables import SuggestionVerdict

BATCH = 500
# A spreadsheet reads a cell that starts with one of these as a formula (CSV injection): such a text cell
# gets a leading apostrophe, which spreadsheets show as text. JSON is left exactly as stored.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportKind(enum.StrEnum):
    CONVERSATIONS = "conversations"
    ESCALATIONS = "escalations"
    FEEDBACK = "feedback"
    MISSED_FLAGS = "missed_flags"
    SUGGESTION_VERDICTS = "suggestion_verdicts"
    AUDIT = "audit"


class ExportFormat(enum.StrEnum):
    CSV = "csv"
    JSON = "json"


Row = dict[str, Any]
Query = Select[*tuple[Any, ...]]  # a select of any columns


@dataclass(frozen=True)
class Shape:
    """One kind's columns, in order, and its statement for a range: a row of the statement is the kind's
    entity first, then any joined values labelled with their column's name."""

    columns: tuple[str, ...]
    statement: Callable[[datetime, datetime], Query]

    def row(self, result: Any) -> Row:
        entity, joined = result[0], result._mapping
        return {name: joined[name] if name in joined else getattr(entity, name) for name in self.columns}


def _conversations(since: datetime, until: datetime) -> Query:
    # active in the range: started before its end and last wrote after its start
    return (
        select(Conversation, User.username.label("assigned_agent"))
        .outerjoin(User, User.id == Conversation.assigned_agent_id)
        .where(Conversation.started_at < until, Conversation.last_message_at >= since)
        .order_by(Conversation.started_at, Conversation.id)
    )


def _escalations(since: datetime, until: datetime) -> Query:
    created = Escalation.created_at
    return select(Escalation).where(created >= since, created < until).order_by(created, Escalation.id)


def _feedback(since: datetime, until: datetime) -> Query:
    author = aliased(User)
    return (
        select(Feedback, Escalation.conversation_id.label("conversation_id"), author.username.label("by"))
        .join(Escalation, Escalation.id == Feedback.escalation_id)
        .outerjoin(author, author.id == Feedback.user_id)
        .where(Feedback.created_at >= since, Feedback.created_at < until)
        .order_by(Feedback.created_at, Feedback.id)
    )


def _missed_flags(since: datetime, until: datetime) -> Query:
    author = aliased(User)
    return (
        select(MissedFlag, author.username.label("by"))
        .outerjoin(author, author.id == MissedFlag.user_id)
        .where(MissedFlag.created_at >= since, MissedFlag.created_at < until)
        .order_by(MissedFlag.created_at, MissedFlag.id)
    )


def _suggestion_verdicts(since: datetime, until: datetime) -> Query:
    author = aliased(User)
    created = SuggestionVerdict.created_at
    return (
        select(SuggestionVerdict, author.username.label("by"))
        .outerjoin(author, author.id == SuggestionVerdict.user_id)
        .where(created >= since, created < until)
        .order_by(created, SuggestionVerdict.id)
    )


def _audit(since: datetime, until: datetime) -> Query:
    # by id: ids follow commit order closely enough, and the primary key orders without a sort
    return select(AuditRecord).where(AuditRecord.at >= since, AuditRecord.at < until).order_by(AuditRecord.id)


SHAPES: Mapping[ExportKind, Shape] = {
    ExportKind.CONVERSATIONS: Shape(
        (
            "id",
            "channel",
            "state",
            "queue",
            "priority",
            "priority_band",
            "customer_tier",
            "language",
            "latest_intent",
            "max_stress",
            "assigned_agent",
            "sla_breached",
            "started_at",
            "last_message_at",
            "escalated_at",
            "assigned_at",
            "first_agent_reply_at",
            "resolved_at",
        ),
        _conversations,
    ),
    ExportKind.ESCALATIONS: Shape(
        (
            "id",
            "conversation_id",
            "created_at",
            "trigger",
            "queue",
            "priority",
            "priority_band",
            "score",
            "policy_version",
            "model_version",
            "feedback_state",
            "unflagged",
            "explanations_pending",
            "factors",
            "explanations",
        ),
        _escalations,
    ),
    ExportKind.FEEDBACK: Shape(
        (
            "id",
            "escalation_id",
            "conversation_id",
            "created_at",
            "by",
            "verdict",
            "comment",
            "unmarked_words",
            "added_words",
        ),
        _feedback,
    ),
    ExportKind.MISSED_FLAGS: Shape(
        ("id", "conversation_id", "message_id", "created_at", "by", "comment", "words"),
        _missed_flags,
    ),
    ExportKind.SUGGESTION_VERDICTS: Shape(
        (
            "id",
            "conversation_id",
            "created_at",
            "by",
            "suggestion_key",
            "action",
            "verdict",
            "reasons",
            "comment",
        ),
        _suggestion_verdicts,
    ),
    ExportKind.AUDIT: Shape(
        ("id", "at", "actor_type", "actor", "action", "conversation_id", "inputs", "outcome", "versions"),
        _audit,
    ),
}


def rows(factory: sessionmaker[Session], kind: ExportKind, since: datetime, until: datetime) -> Iterator[Row]:
    """The kind's rows in the range, read ``BATCH`` at a time in a session of the export's own (the
    request's session is closed before a streamed body is written)."""
    shape = SHAPES[kind]
    with factory() as session:
        result = session.execute(shape.statement(since, until).execution_options(yield_per=BATCH))
        for found in result:
            yield shape.row(found)


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    return value


def _csv_cell(value: Any) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return value
    if isinstance(value, datetime):
        return as_utc(value).isoformat()
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def as_csv(columns: Sequence[str], found: Iterator[Row]) -> Iterator[bytes]:
    """A header line, then a line per row; written in batches of lines."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for count, row in enumerate(found, start=1):
        writer.writerow([_csv_cell(row[name]) for name in columns])
        if count % BATCH == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def as_json(found: Iterator[Row]) -> Iterator[bytes]:
    """A JSON array, an object per line, written in batches of objects."""
    parts = ["["]
    for count, row in enumerate(found):
        parts.append(("," if count else "") + "\n" + json.dumps({k: _json_value(v) for k, v in row.items()}))
        if len(parts) >= BATCH:
            yield "".join(parts).encode()
            parts = []
    parts.append("\n]\n")
    yield "".join(parts).encode()
