"""How far the audit log can be streamed: the highest id up to which every record is committed or never
will be.

The worker takes audit ids early in long transactions while the api commits higher ones, so on PostgreSQL
a record can commit after a higher id was already visible. The live socket and the REST feed send only
records up to this horizon, so a client's cursor (the last id it received) never passes a record that is
still to come, and a client that resumes from it misses nothing. One horizon per api process, shared by
every socket and request: it remembers the gaps it is waiting for (``triage.storage.commit_order``).
"""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from api.queries import last_audit_id
from triage.storage.commit_order import GapTracker, Witness, read_complete, tracker_for
from triage.storage.db import AuditRecord

# ids read per step: the horizon moves at most this far per call
STEP = 1000


class AuditHorizon:
    """One per app (one database); thread-safe: sockets poll it from worker threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tracker: GapTracker | None = None
        self._engine: Engine | None = None
        self._known: int | None = None  # every id at or below it is final
        self._start: tuple[int, Witness] | None = None  # the newest id at start, and its writers then

    def current(self, session: Session) -> int | None:
        """The horizon now; None while the writers running when this process first looked have not all
        ended (ids below the newest one then may still commit)."""
        with self._lock:
            if self._engine is None:  # first call: the app's database decides how ids commit
                bind = session.get_bind()
                self._engine = bind.engine if isinstance(bind, Connection) else bind
                self._tracker = tracker_for(self._engine, AuditRecord.__tablename__)
            if self._tracker is None:  # SQLite: ids commit in id order, the newest one is the horizon
                return last_audit_id(session)
            if self._known is None and not self._started(session, self._tracker):
                return None
            assert self._known is not None  # noqa: S101 - set by _started
            self._known = self._advance(session, self._known, self._tracker)
            return self._known

    def _started(self, session: Session, tracker: GapTracker) -> bool:
        """A process that has seen no gaps yet: it cannot tell which ids below the newest one are still
        to come, so it waits once for the writers running now (looked up after the newest id was read),
        after which all of them are final."""
        if self._start is None:
            newest = last_audit_id(session)
            self._start = (newest, tracker.writers.running())
        start, witness = self._start
        if witness and tracker.writers.still_running(witness):
            return False
        self._known = start
        return True

    @staticmethod
    def _advance(session: Session, known: int, tracker: GapTracker) -> int:
        def read(after: int) -> list[int]:
            stmt = select(AuditRecord.id).where(AuditRecord.id > after).order_by(AuditRecord.id).limit(STEP)
            return list(session.scalars(stmt))

        ids = read_complete(tracker, known, read, int)
        return ids[-1] if ids else known
