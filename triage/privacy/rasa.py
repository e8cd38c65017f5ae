"""Rasa's two SQL stores for export, erasure and retention: the tracker store and the event broker.

Both are a table ``events`` keyed by ``sender_id`` (Rasa 3.6: ``rasa/core/tracker_store.py`` SQLEvent with
``id, sender_id, type_name, timestamp, intent_name, action_name, data``; ``rasa/core/brokers/sql.py``
with ``id, sender_id, data``). Rasa owns their schema, so rows are read with ``SELECT *`` (whatever
columns this Rasa has) and only the columns named above are used.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, column, delete, func, inspect, select, table, text
from sqlalchemy.engine import make_url

from triage.storage.db import make_engine

EVENTS = "events"
_events = table(EVENTS, column("id"), column("sender_id"), column("timestamp"))


def clearline_url(url: str) -> str:
    """Rasa's URL as Clearline's environment opens it: ``postgresql://`` means psycopg2 to Rasa (SQLAlchemy
    1.4), which this environment does not have; psycopg 3 reads the same database."""
    for prefix in ("postgresql+psycopg2://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass
class RasaStore:
    """One of Rasa's SQL stores; ``name`` is how exports and reports call it."""

    name: str
    url: str
    _engine: Engine | None = field(default=None, repr=False)

    @property
    def engine(self) -> Engine:
        if self._engine is None:
            self._engine = make_engine(clearline_url(self.url))
        return self._engine

    def missing_file(self) -> bool:
        """An SQLite file that is not there (Rasa has not run): nothing held, and nothing to create."""
        parsed = make_url(clearline_url(self.url))
        database = parsed.database
        return parsed.get_backend_name() == "sqlite" and bool(database) and not Path(str(database)).exists()

    @contextmanager
    def begin(self) -> Iterator[Connection | None]:
        """A transaction on the store, or None when it holds nothing (no file, no ``events`` table)."""
        if self.missing_file():
            yield None
            return
        with self.engine.begin() as conn:
            yield conn if inspect(conn).has_table(EVENTS) else None

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def _ids(stmt: str) -> Any:
    return text(stmt).bindparams(bindparam("ids", expanding=True))


def rows(conn: Connection, ids: Sequence[str]) -> list[dict[str, Any]]:
    """Every event of these senders, in id order, ``data`` parsed from its JSON."""
    every_column = _ids(f"SELECT * FROM {EVENTS} WHERE sender_id IN :ids ORDER BY id")  # noqa: S608 - constant
    found = []
    for row in conn.execute(every_column, {"ids": ids}):
        item = dict(row._mapping)
        if isinstance(item.get("data"), str):
            with contextlib.suppress(ValueError):  # else exported as stored
                item["data"] = json.loads(item["data"])
        found.append(item)
    return found


def count(conn: Connection, ids: Sequence[str], *, through: int | None = None) -> int:
    stmt = select(func.count()).select_from(_events).where(_events.c.sender_id.in_(ids))
    if through is not None:
        stmt = stmt.where(_events.c.id <= through)
    return int(conn.scalar(stmt) or 0)


def remove(conn: Connection, ids: Sequence[str], *, through: int | None = None) -> int:
    """Delete these senders' events (only up to id ``through`` when given); how many."""
    stmt = delete(_events).where(_events.c.sender_id.in_(ids))
    if through is not None:
        stmt = stmt.where(_events.c.id <= through)
    return int(conn.execute(stmt).rowcount or 0)


def senders_after(conn: Connection, ids: Sequence[str], offset: int) -> set[str]:
    """Which of these senders have broker events after ``offset`` (not read by the worker yet)."""
    stmt = select(_events.c.sender_id).where(_events.c.sender_id.in_(ids), _events.c.id > offset).distinct()
    return set(conn.scalars(stmt))


def last_timestamps(conn: Connection, ids: Sequence[str]) -> dict[str, float]:
    """The newest event time (Unix seconds) of each of these senders in the tracker store."""
    stmt = (
        select(_events.c.sender_id, func.max(_events.c.timestamp))
        .where(_events.c.sender_id.in_(ids))
        .group_by(_events.c.sender_id)
    )
    return {sender: float(stamp) for sender, stamp in conn.execute(stmt) if stamp is not None}


def idle_senders(conn: Connection, before: float, after: str, limit: int) -> list[str]:
    """Senders of the tracker store whose newest event is older than ``before`` (Unix seconds), after
    ``after`` in id order."""
    newest = func.max(_events.c.timestamp)
    stmt = (
        select(_events.c.sender_id)
        .where(_events.c.sender_id > after)
        .group_by(_events.c.sender_id)
        .having(newest < before)
        .order_by(_events.c.sender_id)
        .limit(limit)
    )
    return list(conn.scalars(stmt))
