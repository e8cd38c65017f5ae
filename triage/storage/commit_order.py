"""Reading a table in id order when ids do not commit in id order.

On PostgreSQL an id comes from a sequence when a row is inserted, but the row becomes visible only when its
transaction commits: a transaction that took id 5 may commit after one that took id 6. A reader that
moves its position past every id it sees ("``id > offset``") then skips 5 for good. This module finds the
ids that may still come (gaps) and holds the reader's position before them until they are final.

When is a gap final? The id was handed out by an INSERT into the table, and PostgreSQL locks the table
(``RowExclusiveLock``) when the statement starts, before the id is taken, until its transaction ends. So a
transaction that holds a missing id and has not ended holds that lock. Right after a read that shows a
gap we note the transactions holding the lock (the *witness*); once none of them is still running, every
id of the gap is either committed (visible to the next read) or never will be (a rolled-back insert, a
deleted row). That is exact, without a timeout, and waits only for the table's writers: a long read-only
transaction (a backup, a report) does not hold the gap open.

Why not ``pg_snapshot_xmin(pg_current_snapshot()) >= xmax`` of a snapshot taken when the gap was seen: a
transaction gets its xid at its first row write, after the INSERT took its id (column defaults are
computed first), so a writer between those two steps is in no snapshot and the gap would be declared final
while its row is still to come. And any transaction with an xid, on any table or database of the cluster,
would hold the gap open.

What this assumes (the defaults, true for Rasa's ``events`` and Clearline's ``audit_log``): ids come from
the column's default in the INSERT (not from a ``nextval()`` called before it), the sequence has
``CACHE 1`` (with a cache each connection takes ids ahead, so a lower id can be used by a transaction that
starts later), and no transaction is prepared (``PREPARE TRANSACTION``, off unless
``max_prepared_transactions`` is set).

A reader with no memory (a new process) is still right: it sees the same gaps again and waits for the
writers running now, which include every one that can still commit an id in them.

Every id at or below a position given out by these readers is final: that is what the worker's offset
promises to the privacy purge (``triage.privacy``: broker events up to the offset are processed) and what
the live feed's cursor promises to a client that resumes from it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

Row = TypeVar("Row")

# a writer transaction, as PostgreSQL names it: its virtual transaction id ("backend/local")
Witness = frozenset[str]


class Writers(Protocol):
    """Who may still commit ids into the table (one implementation per database)."""

    def running(self) -> Witness:
        """The transactions that may hold ids of the table and have not ended."""
        ...

    def still_running(self, witness: Witness) -> Witness:
        """Which of these transactions have not ended."""
        ...


@dataclass(frozen=True)
class IdRange:
    first: int
    last: int  # inclusive


@dataclass
class _Gap:
    ids: IdRange
    witness: Witness
    final: bool = False  # its witness has ended: a read from now on shows every id of it that will ever be


def _subtract(wanted: IdRange, covered: Sequence[IdRange]) -> list[IdRange]:
    """The parts of ``wanted`` outside every range of ``covered``."""
    pieces = [wanted]
    for cut in covered:
        next_pieces = []
        for piece in pieces:
            if cut.last < piece.first or cut.first > piece.last:
                next_pieces.append(piece)
                continue
            if piece.first < cut.first:
                next_pieces.append(IdRange(piece.first, cut.first - 1))
            if cut.last < piece.last:
                next_pieces.append(IdRange(cut.last + 1, piece.last))
        pieces = next_pieces
    return pieces


def missing_ranges(after: int, ids: Sequence[int]) -> list[IdRange]:
    """The ids absent between ``after`` and the highest of ``ids`` (sorted, all above ``after``)."""
    gaps = []
    expected = after + 1
    for found in ids:
        if found > expected:
            gaps.append(IdRange(expected, found - 1))
        expected = found + 1
    return gaps


class GapTracker:
    """Remembers the gaps one reader has seen and whether they are final yet.

    Use it around every read: ``resolve()`` before the read, ``safe_through(after, ids)`` after it (that
    order matters: a gap is final for reads that begin after its writers ended)."""

    def __init__(self, writers: Writers) -> None:
        self.writers = writers
        self._gaps: list[_Gap] = []
        self.final_unread = False  # a gap became final after the last read: reading again moves further

    def resolve(self) -> None:
        """Mark final every gap whose writers have all ended (call it before reading)."""
        open_gaps = [gap for gap in self._gaps if not gap.final]
        everyone: Witness = frozenset().union(*(gap.witness for gap in open_gaps))
        if not everyone:
            return
        running = self.writers.still_running(everyone)
        for gap in open_gaps:
            gap.final = not (gap.witness & running)

    def safe_through(self, after: int, ids: Sequence[int]) -> int:
        """The highest id up to which this read (``ids``, sorted, all above ``after``) is complete: every
        id from ``after + 1`` to it is in ``ids`` or was final before the read. New gaps are remembered
        with the writers running now (after the read)."""
        self._gaps = [gap for gap in self._gaps if gap.ids.last > after]  # behind the reader: done
        final_before = [gap.ids for gap in self._gaps if gap.final]
        missing = missing_ranges(after, ids)
        blocking = next((gap for gap in missing if _subtract(gap, final_before)), None)
        known = [gap.ids for gap in self._gaps]
        new = [piece for gap in missing for piece in _subtract(gap, known)]
        if new:
            witness = self.writers.running()
            self._gaps.extend(_Gap(piece, witness, final=not witness) for piece in new)
        if blocking is None:
            self.final_unread = False
            return ids[-1] if ids else after
        # final only now (its writers had ended when it was first seen): this read may predate its row
        self.final_unread = not _subtract(blocking, [gap.ids for gap in self._gaps if gap.final])
        return blocking.first - 1

    def pending(self) -> list[IdRange]:
        """The gaps not final yet (for logs and tests)."""
        return [gap.ids for gap in self._gaps if not gap.final]


def read_complete(
    tracker: GapTracker | None, after: int, read: Callable[[int], Sequence[Row]], id_of: Callable[[Row], int]
) -> list[Row]:
    """``read(after)`` (rows above ``after`` in id order) cut before the first gap that may still fill.

    Reads at most twice: again when a gap turned out final right away (its writers had already ended), so
    a rolled-back insert costs no extra poll. ``tracker`` None: ids commit in id order (SQLite)."""
    if tracker is None:
        return list(read(after))
    tracker.resolve()
    rows = read(after)
    through = tracker.safe_through(after, [id_of(row) for row in rows])
    if tracker.final_unread:
        rows = read(after)
        through = tracker.safe_through(after, [id_of(row) for row in rows])
    return [row for row in rows if id_of(row) <= through]


_WRITERS = text(
    """
    SELECT DISTINCT virtualtransaction FROM pg_locks
    WHERE locktype = 'relation' AND mode = 'RowExclusiveLock' AND relation = CAST(:table AS regclass)
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND pid IS DISTINCT FROM pg_backend_pid()
    """
)


class PostgresTableWriters:
    """The transactions holding a PostgreSQL table's insert lock (``pg_locks``, readable by any role)."""

    def __init__(self, engine: Engine, table: str) -> None:
        self.engine = engine
        self.table = table

    def _holders(self, conn: Connection) -> Witness:
        return frozenset(conn.scalars(_WRITERS, {"table": self.table}))

    def running(self) -> Witness:
        with self.engine.connect() as conn:
            return self._holders(conn)

    def still_running(self, witness: Witness) -> Witness:
        # a transaction keeps the table lock until it ends, and virtual ids are not reused
        return self.running() & witness


def tracker_for(engine: Engine, table: str) -> GapTracker | None:
    """A gap tracker for reading ``table`` in id order, or None where ids commit in id order.

    SQLite needs none: it runs one write transaction at a time, so an id is taken and committed (or rolled
    back) before the next writer can take one, and every id below a visible row is final."""
    if engine.dialect.name == "sqlite":
        return None
    if engine.dialect.name != "postgresql":
        raise ValueError(f"no commit-order check for {engine.dialect.name}: ids may commit out of order")
    return GapTracker(PostgresTableWriters(engine, table))
