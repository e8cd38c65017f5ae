"""Typing signals in the database (table ``typing_signals``, migration 0021), so every api process sees
the same ones: one row per conversation and party, overwritten while they type. The rules (who may
signal, how long a signal counts) are ``triage.domain.typing_indicator``'s; nothing here commits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from triage.domain.typing_indicator import Party, expires, is_live
from triage.storage.conversations import as_utc
from triage.storage.workplace_tables import TypingSignal


@dataclass(frozen=True)
class Signal:
    """A live signal: who sent it (None for the customer) and until when it counts."""

    user_id: int | None
    until: datetime


def record(session: Session, conversation_id: str, party: Party, user_id: int | None, now: datetime) -> None:
    """``party`` is typing in the conversation from ``now`` for the domain's time to live. One statement
    (an upsert), so two processes signalling at once never collide on the primary key."""
    values = {"conversation_id": conversation_id, "party": party, "user_id": user_id, "until": expires(now)}
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(TypingSignal).values(**values)
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[TypingSignal.conversation_id, TypingSignal.party],
            set_={"user_id": statement.excluded.user_id, "until": statement.excluded.until},
        )
    )


def clear(session: Session, conversation_id: str, party: Party) -> None:
    """``party`` stopped typing (their message was sent, or they emptied the box)."""
    mine = (TypingSignal.conversation_id == conversation_id, TypingSignal.party == party)
    session.execute(delete(TypingSignal).where(*mine))


def live(session: Session, conversation_id: str, party: Party, now: datetime) -> Signal | None:
    """``party``'s signal in the conversation if it still counts at ``now``; an expired row is left for
    the next signal to overwrite (or erasure to delete): reading never writes."""
    row = session.execute(
        select(TypingSignal.user_id, TypingSignal.until).where(
            TypingSignal.conversation_id == conversation_id, TypingSignal.party == party
        )
    ).first()
    if row is None:
        return None
    until = as_utc(row.until)  # SQLite hands back naive datetimes
    return Signal(user_id=row.user_id, until=until) if is_live(until, now) else None
