"""Rasa's SQL event broker on PostgreSQL with two concurrent writers: ids commit out of id order, and the
worker's reader must neither skip the late one nor stall on an id that never comes.

Each writer is a connection of its own, as two Rasa processes would be; the reader is the worker's
``SqlEventSource`` with its offset row in Clearline's tables (migrated into the same temporary schema).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import insert, select, text
from sqlalchemy.engine import Connection, Engine

from tests.postgres import temporary_schema
from triage.storage.db import make_engine, make_session_factory, session_scope
from triage.storage.migrate import upgrade
from triage.worker.broker import SqlEventSource, events_table

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_url() -> Iterator[str]:
    with temporary_schema("order") as url:
        upgrade(url)
        yield url


@pytest.fixture
def source(pg_url: str) -> Iterator[SqlEventSource]:
    src = SqlEventSource(pg_url)
    src.ensure_table()
    yield src
    src.close()


@pytest.fixture
def writers(pg_url: str) -> Iterator[Engine]:
    engine = make_engine(pg_url)
    yield engine
    engine.dispose()


@pytest.fixture
def rasa_a(writers: Engine) -> Iterator[Connection]:
    """One Rasa process's connection; closed (its open transaction rolled back) even when a test fails,
    so that dropping the schema does not wait for it."""
    with writers.connect() as conn:
        yield conn


@pytest.fixture
def rasa_b(writers: Engine) -> Iterator[Connection]:
    """The other Rasa process."""
    with writers.connect() as conn:
        yield conn


def publish(conn: Connection, sender: str, text_: str) -> int:
    """What Rasa's SQL broker does for one event: an INSERT whose id comes from the column's sequence."""
    row = {"sender_id": sender, "data": json.dumps({"event": "user", "text": text_})}
    return int(conn.execute(insert(events_table).values(row).returning(events_table.c.id)).scalar_one())


class WorkerReads:
    """The worker's side of a batch, without scoring: fetch, record the offset, commit."""

    def __init__(self, source: SqlEventSource, url: str) -> None:
        self.source = source
        self.engine = make_engine(url)
        self.factory = make_session_factory(self.engine)
        self.processed: list[int] = []

    def batch(self) -> list[int]:
        with session_scope(self.factory) as session:
            events = self.source.fetch(session, 100)
            if events:
                self.source.record(session, events)
        self.processed += [e.id for e in events]
        return [e.id for e in events]


@pytest.fixture
def worker(source: SqlEventSource, pg_url: str) -> Iterator[WorkerReads]:
    reads = WorkerReads(source, pg_url)
    yield reads
    reads.engine.dispose()


def todays_read(conn: Connection, offset: int) -> list[int]:
    """The reader before this fix: every id above the offset, the offset moved to the highest."""
    return list(conn.scalars(select(events_table.c.id).where(events_table.c.id > offset).order_by("id")))


def test_an_event_that_commits_after_a_higher_id_is_not_skipped(
    writers: Engine, rasa_a: Connection, rasa_b: Connection, worker: WorkerReads
) -> None:
    slow = rasa_a.begin()
    late = publish(rasa_a, "alice", "my card was stolen")  # id taken, not committed yet
    with rasa_b.begin():
        early = publish(rasa_b, "bob", "hello")
    assert late < early

    with writers.connect() as naive:
        assert todays_read(naive, 0) == [early]  # today's reader would move its offset to `early`...
        assert worker.batch() == []  # ...this one waits: `late` may still commit
        slow.commit()
        assert todays_read(naive, early) == []  # ...and `late`, now committed, is never read
    assert worker.batch() == [late, early]
    assert worker.processed == [late, early]


def test_a_rolled_back_insert_leaves_a_gap_that_does_not_stall_the_reader(
    rasa_a: Connection, rasa_b: Connection, worker: WorkerReads
) -> None:
    doomed = rasa_a.begin()
    lost = publish(rasa_a, "alice", "never sent")
    with rasa_b.begin():
        kept = publish(rasa_b, "bob", "hello")
    assert worker.batch() == []
    doomed.rollback()
    assert worker.batch() == [kept]
    with rasa_b.begin():  # the gap stays behind the offset: later events flow
        after = publish(rasa_b, "bob", "still there?")
    assert worker.batch() == [after] and lost not in worker.processed


def test_a_restarted_worker_forgets_the_gap_and_still_waits_for_it(
    rasa_a: Connection, rasa_b: Connection, source: SqlEventSource, pg_url: str
) -> None:
    slow = rasa_a.begin()
    late = publish(rasa_a, "alice", "slow")
    with rasa_b.begin():
        publish(rasa_b, "bob", "first")
    assert WorkerReads(source, pg_url).batch() == []
    restarted = SqlEventSource(pg_url)  # a new process: no memory of the gap
    try:
        worker = WorkerReads(restarted, pg_url)
        assert worker.batch() == []
        slow.commit()
        assert worker.batch()[0] == late
        worker.engine.dispose()
    finally:
        restarted.close()


def test_a_writer_between_taking_its_id_and_writing_its_row_holds_the_gap(
    writers: Engine, worker: WorkerReads
) -> None:
    """The moment a transaction-id (xmin) check misses: the INSERT has its id from the sequence but no
    transaction id yet, because a BEFORE trigger still runs. The table lock it holds is what we wait for."""
    with writers.begin() as conn:
        conn.execute(
            text(
                "CREATE FUNCTION slow_insert() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
                "IF NEW.sender_id = 'slow' THEN PERFORM pg_sleep(1.5); END IF; RETURN NEW; END $$"
            )
        )
        conn.execute(
            text(
                "CREATE TRIGGER slow_insert BEFORE INSERT ON events "
                "FOR EACH ROW EXECUTE FUNCTION slow_insert()"
            )
        )
        publish(conn, "warm", "so that the sequence's next values are not logged (that would take an xid)")
    taken = threading.Event()

    def slow_rasa() -> None:
        with writers.begin() as conn:
            taken.set()
            publish(conn, "slow", "typed slowly")

    thread = threading.Thread(target=slow_rasa)
    thread.start()
    taken.wait()
    with writers.connect() as probe:  # until the slow INSERT has taken its id
        seq = probe.scalar(text("SELECT pg_get_serial_sequence('events', 'id')"))
        while probe.scalar(text(f"SELECT last_value FROM {seq}")) < 2:  # noqa: S608 - a name PostgreSQL gave
            probe.rollback()
    with writers.begin() as conn:
        quick = publish(conn, "quick", "hello")
    assert worker.batch() == [1]  # the warm-up event, then the slow writer's id is a gap
    thread.join()
    assert worker.batch() == [2, quick]
