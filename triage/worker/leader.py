"""Which worker leads: the one process that routes, checks SLAs, relays the outbox, explains and purges.

Several ``clearline worker`` processes share the scoring; the jobs that act on the whole database run in
one of them, so that they do not fight over the same rows (a routing plan made twice, a command relayed
twice). On PostgreSQL the leader is the process holding a session-level advisory lock on a connection of
its own: when the process dies its connection closes, the server releases the lock, and another worker
takes it at its next try. On SQLite there is a single worker (SQLite has one writer, and the SQL event
source allows one reader), so it always leads.

``LeaderElection`` is the state machine (no database): ``check()`` is called every ``interval()``
seconds by one thread; the lock behind it is a ``LeaderLock``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import structlog
from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.pool import NullPool

log = structlog.get_logger("triage.worker.leader")

# The advisory lock's key is a pair: this constant, and a hash of the schema Clearline's tables are in.
# Advisory locks belong to a database, and one database may hold several Clearline schemas (the tests'
# temporary schemas, or two deployments): each set of workers elects its own leader.
LEADER_LOCK_SPACE = 0x434C_4C44  # "CLLD"
TRY_LOCK = text("SELECT pg_try_advisory_lock(:space, hashtext(current_schema()))")
# the two-key form of a lock shows in pg_locks as classid, objid and objsubid 2
HOLDS_LOCK = text(
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND pid = pg_backend_pid() AND classid = CAST(CAST(:space AS integer) AS oid)"
    " AND objid = CAST(hashtext(current_schema()) AS oid) AND objsubid = 2)"
)

# libpq connection options of the lock's connection: a leader cut off from the server must find out in
# seconds (its check fails instead of waiting for TCP's minutes), since another worker may lead by then
LOCK_CONNECT_ARGS = {
    "connect_timeout": 5,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 2,
    "tcp_user_timeout": 5000,
}


class LeaderLock(Protocol):
    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; True when this process holds it now."""
        ...

    def still_held(self) -> bool:
        """Whether this process still holds the lock (False, or an exception, once it is lost)."""
        ...

    def release(self) -> None:
        """Give the lock up (and whatever connection held it); never raises."""
        ...


class SingleWorkerLock:
    """SQLite: one worker only (one writer, one reader of the SQL event broker), so it always leads."""

    def try_acquire(self) -> bool:
        return True

    def still_held(self) -> bool:
        return True

    def release(self) -> None:
        return None


class AdvisoryLock:
    """``pg_try_advisory_lock`` held on a dedicated connection, outside the pool the batches use.

    The connection is in autocommit so that it never sits idle inside a transaction (which a server's
    ``idle_in_transaction_session_timeout`` would end); a session-level lock outlives transactions anyway.
    """

    def __init__(self, url: str, space: int = LEADER_LOCK_SPACE) -> None:
        self.space = space
        self._engine: Engine = create_engine(url, poolclass=NullPool, connect_args=LOCK_CONNECT_ARGS)
        self._connection: Connection | None = None

    def try_acquire(self) -> bool:
        if self._connection is None:
            self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        try:
            taken = self._connection.execute(TRY_LOCK, {"space": self.space})
            return bool(taken.scalar_one())
        except Exception:
            self._drop_connection()
            raise

    def still_held(self) -> bool:
        """Asks the server whether this session holds the lock: a dead connection raises here."""
        if self._connection is None:
            return False
        try:
            return bool(self._connection.execute(HOLDS_LOCK, {"space": self.space}).scalar_one())
        except Exception:
            self._drop_connection()
            raise

    def release(self) -> None:
        """Closing the session releases its advisory locks: no unlock call that could fail half-way."""
        self._drop_connection()

    def _drop_connection(self) -> None:
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.invalidate()  # never back to a pool: a connection in doubt is closed for good
            connection.close()
        except Exception as exc:  # already broken: nothing left to close
            log.debug("leader_connection_close_failed", error=f"{type(exc).__name__}: {exc}")


@dataclass(frozen=True)
class LeadershipChange:
    leading: bool
    reason: str  # "elected", "lost" (the lock or its connection is gone), "resigned" (stopping)
    error: str | None = None


class LeaderElection:
    """Whether this process leads, checked every ``interval()`` seconds by one thread.

    A follower tries to take the lock every ``retry_interval`` seconds; the leader confirms it holds the
    lock every ``check_interval`` seconds (shorter, since a lost lock may already be another's) and stops
    leading as soon as a check fails. ``leading`` may be read from any thread. ``on_change`` is called on
    the checking thread after each change; its failures are logged and do not change the outcome.
    """

    def __init__(
        self,
        lock: LeaderLock,
        on_change: Callable[[LeadershipChange], None] | None = None,
        check_interval: float = 1.0,
        retry_interval: float = 2.0,
    ) -> None:
        self.lock = lock
        self.on_change = on_change
        self.check_interval = check_interval
        self.retry_interval = retry_interval
        self._leading = threading.Event()
        self._checking = threading.Lock()  # check() and resign() from different threads: one at a time

    @property
    def leading(self) -> bool:
        return self._leading.is_set()

    def interval(self) -> float:
        return self.check_interval if self.leading else self.retry_interval

    def check(self) -> bool:
        """Confirm (leader) or try to take (follower) the lock; return whether this process leads now."""
        with self._checking:
            if self.leading:
                self._confirm()
            else:
                self._try_to_lead()
            return self.leading

    def resign(self) -> None:
        """Stop leading and give the lock up (a worker that stops), so another takes over at its next try."""
        with self._checking:
            was_leading = self.leading
            self._leading.clear()
            self.lock.release()
            if was_leading:
                self._changed(LeadershipChange(False, "resigned"))

    def _try_to_lead(self) -> None:
        try:
            taken = self.lock.try_acquire()
        except Exception as exc:  # the database is unreachable: try again later, as a follower
            log.warning("leader_lock_unavailable", error=f"{type(exc).__name__}: {exc}")
            return
        if taken:
            self._leading.set()
            self._changed(LeadershipChange(True, "elected"))

    def _confirm(self) -> None:
        error: str | None = None
        try:
            held = self.lock.still_held()
        except Exception as exc:
            held, error = False, f"{type(exc).__name__}: {exc}"
        if held:
            return
        self._leading.clear()  # before anything else: no leader job starts from now on
        self.lock.release()
        log.warning("leadership_lost", error=error)
        self._changed(LeadershipChange(False, "lost", error))

    def _changed(self, change: LeadershipChange) -> None:
        log.info("leadership_changed", leading=change.leading, reason=change.reason)
        if self.on_change is None:
            return
        try:
            self.on_change(change)
        except Exception as exc:  # e.g. the database is down: the change stands, its record is lost
            log.error("leadership_change_not_recorded", error=f"{type(exc).__name__}: {exc}")


def lock_for(database_url: str) -> LeaderLock:
    """The advisory lock on PostgreSQL; on SQLite the single worker leads (see the module's docstring)."""
    if database_url.startswith("postgresql"):
        return AdvisoryLock(database_url)
    return SingleWorkerLock()
