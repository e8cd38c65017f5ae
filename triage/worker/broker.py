"""Reading Rasa's event broker. The worker sees only the small ``EventSource`` protocol: the embedded
SQL broker (Rasa's ``events`` table, read by id after a committed offset) is one implementation; a
message broker (RabbitMQ, Kafka) is another, remembering processed events by key instead of offset.

A batch goes: ``fetch`` (inside the batch's transaction) -> process -> ``record`` (same transaction) ->
commit -> ``settle``; on a rollback ``release``. So whatever remembers the position commits with the
results, and a message broker is acknowledged only once both are stored."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, func, inspect, select
from sqlalchemy.orm import Session

from triage.storage.commit_order import read_complete, tracker_for
from triage.storage.db import ConsumerOffset, make_engine, utcnow

# the consumer_offsets row of the SQL source (one reader of Rasa's events table)
CONSUMER = "triage-worker"

# Rasa's SQLEventBroker table (rasa/core/brokers/sql.py): one row per event, JSON in ``data``
events_metadata = MetaData()
events_table = Table(
    "events",
    events_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("data", Text),
)


@dataclass(frozen=True)
class BrokerEvent:
    id: int  # the stored messages' ``source_event_id``: unique per event
    sender_id: str
    data: dict[str, Any] | None  # None when the row held no valid JSON object
    # a message broker's stable key of the event (a redelivery or re-publish carries the same one);
    # None for the SQL broker, whose row id is the identity
    key: str | None = None

    @property
    def type(self) -> str | None:
        value = self.data.get("event") if self.data else None
        return value if isinstance(value, str) else None


class EventSource(Protocol):
    def fetch(self, session: Session, limit: int) -> list[BrokerEvent]:
        """The next events not yet processed, at most ``limit``, in order per conversation. Called inside
        the batch's transaction (the SQL source locks its offset row in it)."""
        ...

    def record(self, session: Session, events: list[BrokerEvent]) -> None:
        """Remember, in the batch's transaction, that these events are processed (offset or keys)."""
        ...

    def settle(self, events: list[BrokerEvent]) -> None:
        """After the batch committed (a message broker acknowledges here)."""
        ...

    def release(self, events: list[BrokerEvent]) -> None:
        """After the batch rolled back: they are fetched again."""
        ...

    def count_present(self, events: Sequence[BrokerEvent]) -> int:
        """How many of these events are still there (an erasure deletes a customer's events)."""
        ...

    def waiting(self, session: Session) -> int:
        """Events not processed yet, for the lag metric."""
        ...

    def close(self) -> None: ...


def parse_event_data(raw: str | bytes | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    return data if isinstance(data, dict) else None


class SqlEventSource:
    """Rasa's SQL event broker table, on SQLite or PostgreSQL.

    Read by id after the committed offset, but never past an id that may still commit (two Rasa processes
    writing to PostgreSQL commit ids out of order): ``triage.storage.commit_order``. So every event at or
    below the offset is processed or will never exist."""

    def __init__(self, url: str, consumer: str = CONSUMER) -> None:
        self.engine = make_engine(url)
        self.consumer = consumer
        self._table_seen = False
        self._gaps = tracker_for(self.engine, events_table.name)

    def _table_exists(self) -> bool:
        """Rasa creates the table when it starts: until then there is simply nothing to read."""
        if not self._table_seen:
            self._table_seen = inspect(self.engine).has_table(events_table.name)
        return self._table_seen

    def ensure_table(self) -> None:
        """Create the table as Rasa would (benchmarks and tests start from an empty database)."""
        events_metadata.create_all(self.engine)

    def read_after(self, offset: int, limit: int) -> list[BrokerEvent]:
        """Events after ``offset`` in id order, up to the first id that may still commit."""
        if not self._table_exists():
            return []

        def read(after: int) -> list[BrokerEvent]:
            query = (
                select(events_table).where(events_table.c.id > after).order_by(events_table.c.id).limit(limit)
            )
            with self.engine.connect() as conn:
                rows = conn.execute(query).all()
            return [BrokerEvent(row.id, row.sender_id, parse_event_data(row.data)) for row in rows]

        return read_complete(self._gaps, offset, read, lambda event: event.id)

    def last_id(self) -> int:
        if not self._table_exists():
            return 0
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(events_table.c.id), 0))).scalar_one())

    def count_present(self, events: Sequence[BrokerEvent]) -> int:
        if not events or not self._table_exists():
            return 0
        ids = [e.id for e in events]
        query = select(func.count()).select_from(events_table).where(events_table.c.id.in_(ids))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    # -- the worker's side ---------------------------------------------------------------------
    def fetch(self, session: Session, limit: int) -> list[BrokerEvent]:
        """Events after the committed offset. The offset row is locked until the batch ends: a second
        reader, or an erasure (``triage.privacy``), waits for this batch on PostgreSQL."""
        offset = session.get(ConsumerOffset, self.consumer, with_for_update=True)
        return self.read_after(offset.last_event_id if offset else 0, limit)

    def record(self, session: Session, events: list[BrokerEvent]) -> None:
        offset = session.get(ConsumerOffset, self.consumer)
        if offset is None:  # added only now: a pending row would take SQLite's write lock early
            offset = ConsumerOffset(consumer=self.consumer)
            session.add(offset)
        offset.last_event_id = max(e.id for e in events)
        offset.updated_at = utcnow()

    def settle(self, events: list[BrokerEvent]) -> None:
        """Nothing to acknowledge: the committed offset is the position."""

    def release(self, events: list[BrokerEvent]) -> None:
        """Nothing to give back: the offset did not move."""

    def waiting(self, session: Session) -> int:
        offset = session.get(ConsumerOffset, self.consumer)
        return max(0, self.last_id() - (offset.last_event_id if offset else 0))

    def close(self) -> None:
        self.engine.dispose()
