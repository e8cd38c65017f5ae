"""Which RabbitMQ partitions this worker consumes: leases that split the partitions evenly between workers.

The partition queues have a single active consumer, so a queue delivers only to the consumer that
registered first: were every worker to consume every queue, the first one started would take them all
and the others would wait as standbys. Instead each worker consumes only the partitions it holds a lease
on, and the workers share them out among themselves.

On PostgreSQL a lease is a session-level advisory lock on a connection of the worker's own (as the
leader's, ``triage.worker.leader``): every worker holds a shared lock on a membership key, so the number
of workers is the number of granted locks on that key in ``pg_locks``; each partition is an exclusive
lock. Every ``interval`` seconds a worker takes free partitions up to its fair share, ceil(partitions /
workers), and gives back those beyond it, which a newcomer then takes. A worker whose connection dies
(its process, or the server ending the session) holds nothing: the server has released its locks, so
it stops consuming at once and joins again at its next rebalance. Single active consumer stays as the
safety net for the seconds in which a lock has moved and its previous holder has not noticed yet.

On SQLite there is one worker, and without a database lease a worker consumes every partition, as
before: the source then gets no ``PartitionLeases`` at all.

``PartitionLeases`` is the state machine (no database); the locks behind it are ``PartitionLocks``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from sqlalchemy import Connection, Engine, TextClause, create_engine, text
from sqlalchemy.pool import NullPool

from triage.worker.leader import LEADER_LOCK_SPACE, LOCK_CONNECT_ARGS

log = structlog.get_logger("triage.worker.partitions")

# Keys are pairs, as the leader's: a space, and a hash of the schema Clearline's tables are in, so that
# the tests' temporary schemas and deployments sharing a database never share leases. The membership key
# and the partitions' keys (one space per partition number) lie outside the leader's space.
MEMBERSHIP_SPACE = 0x434C_4D42  # "CLMB"
PARTITION_SPACE = 0x434C_5000  # "CLP" followed by the partition's number, up to MAX_PARTITIONS - 1
MAX_PARTITIONS = 0x1000
assert MEMBERSHIP_SPACE != LEADER_LOCK_SPACE  # noqa: S101 - a constant, checked where it is defined
assert not PARTITION_SPACE <= LEADER_LOCK_SPACE < PARTITION_SPACE + MAX_PARTITIONS  # noqa: S101
assert not PARTITION_SPACE <= MEMBERSHIP_SPACE < PARTITION_SPACE + MAX_PARTITIONS  # noqa: S101

JOIN = text("SELECT pg_try_advisory_lock_shared(:space, hashtext(current_schema()))")
TRY_TAKE = text("SELECT pg_try_advisory_lock(:space, hashtext(current_schema()))")
GIVE_BACK = text("SELECT pg_advisory_unlock(:space, hashtext(current_schema()))")
# granted locks on the membership key, one per worker; the two-key form shows as objsubid 2
COUNT_MEMBERS = text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND classid = CAST(CAST(:space AS integer) AS oid)"
    " AND objid = CAST(hashtext(current_schema()) AS oid) AND objsubid = 2"
)


def fair_share(partitions: int, members: int) -> int:
    """How many partitions one of ``members`` workers may hold: enough that together they hold them all."""
    return math.ceil(partitions / max(1, members))


class PartitionLocks(Protocol):
    """The locks behind the leases. Any method may raise once the connection holding them is gone; the
    locks are then released (the server ended the session)."""

    def join(self) -> None:
        """Become a member (connect first if needed)."""
        ...

    def members(self) -> int:
        """How many workers are members now, this one included."""
        ...

    def try_take(self, partition: int) -> bool:
        """Lock the partition if no worker holds it; True when this one holds it now."""
        ...

    def give_back(self, partition: int) -> None:
        """Unlock a partition this worker holds."""
        ...

    def close(self) -> None:
        """Leave: give every lock up with the connection that held them; never raises."""
        ...


class AdvisoryPartitionLocks:
    """Advisory locks on a dedicated autocommit connection, outside the pool the batches use (autocommit:
    never idle in a transaction, which ``idle_in_transaction_session_timeout`` would end)."""

    def __init__(self, url: str) -> None:
        self._engine: Engine = create_engine(url, poolclass=NullPool, connect_args=LOCK_CONNECT_ARGS)
        self._connection: Connection | None = None

    def join(self) -> None:
        if self._connection is None:
            self._connection = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        if not self._scalar(JOIN, MEMBERSHIP_SPACE):  # only an exclusive lock could refuse it: none is taken
            raise RuntimeError("the partition membership lock was refused")

    def members(self) -> int:
        return int(self._scalar(COUNT_MEMBERS, MEMBERSHIP_SPACE))

    def try_take(self, partition: int) -> bool:
        return bool(self._scalar(TRY_TAKE, PARTITION_SPACE + partition))

    def give_back(self, partition: int) -> None:
        if not self._scalar(GIVE_BACK, PARTITION_SPACE + partition):
            raise RuntimeError(f"partition {partition} was not held by this session")

    def close(self) -> None:
        """Closing the session releases its advisory locks: no unlock call that could fail half-way."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.invalidate()  # never back to a pool: a connection in doubt is closed for good
            connection.close()
        except Exception as exc:  # already broken: nothing left to close
            log.debug("partition_lock_close_failed", error=f"{type(exc).__name__}: {exc}")

    def _scalar(self, statement: TextClause, space: int) -> Any:
        if self._connection is None:
            raise RuntimeError("not joined: call join first")
        return self._connection.execute(statement, {"space": space}).scalar_one()


@dataclass(frozen=True)
class Rebalance:
    """What one rebalance changed: the partitions to start consuming (``taken``) and those the worker
    stopped consuming (``given_back``: before their locks were released)."""

    taken: tuple[int, ...] = ()
    given_back: tuple[int, ...] = ()
    lost: bool = False  # the locks' connection failed: everything held was given back


class PartitionLeases:
    """The partitions this worker holds, rebalanced every ``interval`` seconds by the thread that
    consumes (the source's ``fetch``, between batches).

    ``rebalance`` is given ``stop_consuming``: it is called for each partition about to be given back,
    before its lock is released, so that no other worker consumes the partition while this one still
    does. The partitions taken are returned, to be consumed from then on.
    """

    def __init__(
        self,
        partitions: int,
        locks: PartitionLocks,
        interval: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < partitions <= MAX_PARTITIONS:
            raise ValueError(f"partitions must be between 1 and {MAX_PARTITIONS}, not {partitions}")
        self.partitions = partitions
        self.locks = locks
        self.interval = interval
        self.clock = clock
        self._held: set[int] = set()
        self._joined = False
        self._next_at = 0.0  # the first call rebalances at once

    @property
    def held(self) -> frozenset[int]:
        return frozenset(self._held)

    def due(self) -> bool:
        return self.clock() >= self._next_at

    def rebalance(self, stop_consuming: Callable[[int], None]) -> Rebalance:
        """Join if needed, then give back what is beyond the fair share or take free partitions up to it.
        A failure of the locks' connection gives back everything (``lost``); the next call joins again."""
        self._next_at = self.clock() + self.interval
        try:
            if not self._joined:
                self.locks.join()
                self._joined = True
            share = fair_share(self.partitions, self.locks.members())
            if len(self._held) > share:
                extra = sorted(self._held)[share:]
                self._give_back(extra, stop_consuming)
                return Rebalance(given_back=tuple(extra))
            return Rebalance(taken=self._take_free(share - len(self._held)))
        except Exception as exc:  # the connection or the server is gone: the locks went with it
            log.warning(
                "partition_leases_lost", error=f"{type(exc).__name__}: {exc}", held=sorted(self._held)
            )
            return self._lose(stop_consuming)

    def close(self, stop_consuming: Callable[[int], None] | None = None) -> None:
        """Leave (a worker that stops): stop consuming, then give every lock up."""
        held, self._held, self._joined = sorted(self._held), set(), False
        if stop_consuming is not None:
            for partition in held:
                stop_consuming(partition)
        self.locks.close()

    def _give_back(self, partitions: list[int], stop_consuming: Callable[[int], None]) -> None:
        for partition in partitions:
            stop_consuming(partition)
            self._held.discard(partition)  # not consumed any more, whether the unlock goes through or not
            self.locks.give_back(partition)
        log.info("partitions_given_back", partitions=partitions, held=sorted(self._held))

    def _take_free(self, wanted: int) -> tuple[int, ...]:
        taken: list[int] = []
        for partition in range(self.partitions):
            if len(taken) >= wanted:
                break
            if partition not in self._held and self.locks.try_take(partition):
                self._held.add(partition)
                taken.append(partition)
        if taken:
            log.info("partitions_taken", partitions=taken, held=sorted(self._held))
        return tuple(taken)

    def _lose(self, stop_consuming: Callable[[int], None]) -> Rebalance:
        held = tuple(sorted(self._held))
        self._held, self._joined = set(), False
        for partition in held:
            stop_consuming(partition)
        self.locks.close()
        return Rebalance(given_back=held, lost=True)


def leases_for(database_url: str, partitions: int, interval: float = 1.0) -> PartitionLeases | None:
    """Leases on PostgreSQL; None on SQLite, where the single worker consumes every partition."""
    if database_url.startswith("postgresql"):
        return PartitionLeases(partitions, AdvisoryPartitionLocks(database_url), interval)
    return None
