"""Reading Rasa's event broker. The worker sees only the small ``EventSource`` protocol, so the
embedded SQL broker can be swapped for a Kafka or RabbitMQ reader later."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import Column, Integer, MetaData, String, Table, Text, func, inspect, select

from triage.storage.db import make_engine

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
    id: int
    sender_id: str
    data: dict[str, Any] | None  # None when the row held no valid JSON object

    @property
    def type(self) -> str | None:
        value = self.data.get("event") if self.data else None
        return value if isinstance(value, str) else None


class EventSource(Protocol):
    def read_after(self, offset: int, limit: int) -> list[BrokerEvent]:
        """Events with id > offset, in id order, at most ``limit``."""
        ...

    def last_id(self) -> int:
        """The newest event id (0 when empty), for the lag metric."""
        ...

    def count_present(self, ids: Sequence[int]) -> int:
        """How many of these events are still there (an erasure deletes a customer's events)."""
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
    """Rasa's SQL event broker table, on SQLite or PostgreSQL."""

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url)
        self._table_seen = False

    def _table_exists(self) -> bool:
        """Rasa creates the table when it starts: until then there is simply nothing to read."""
        if not self._table_seen:
            self._table_seen = inspect(self.engine).has_table(events_table.name)
        return self._table_seen

    def ensure_table(self) -> None:
        """Create the table as Rasa would (benchmarks and tests start from an empty database)."""
        events_metadata.create_all(self.engine)

    def read_after(self, offset: int, limit: int) -> list[BrokerEvent]:
        if not self._table_exists():
            return []
        query = (
            select(events_table).where(events_table.c.id > offset).order_by(events_table.c.id).limit(limit)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [BrokerEvent(row.id, row.sender_id, parse_event_data(row.data)) for row in rows]

    def last_id(self) -> int:
        if not self._table_exists():
            return 0
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.coalesce(func.max(events_table.c.id), 0))).scalar_one())

    def count_present(self, ids: Sequence[int]) -> int:
        if not ids or not self._table_exists():
            return 0
        query = select(func.count()).select_from(events_table).where(events_table.c.id.in_(ids))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def close(self) -> None:
        self.engine.dispose()
