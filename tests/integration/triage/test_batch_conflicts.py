"""A scoring batch and the other writers of the conversations it updates: the leader's routing and the
api's edits (an agent accepting, an agent going offline). The batch locks the rows it reads, so another
writer waits for it or skips the row; the batch itself never rolls back over them (issue #18)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import ORMExecuteState, Session, sessionmaker

from tests.postgres import temporary_schema
from tests.unit.triage.conftest import add_user
from tests.unit.triage.fakes import FakeScorer
from triage import services
from triage.audit import Actor
from triage.benchmarks.rasa_events import user_event, write_events
from triage.domain.policy import Policy
from triage.errors import StaleUpdate
from triage.redaction import redact_with_spans
from triage.storage.db import (
    AgentStatus,
    ConsumerOffset,
    Conversation,
    ConversationState,
    Message,
    User,
    make_engine,
    make_session_factory,
    session_scope,
)
from triage.storage.migrate import upgrade
from triage.worker.broker import SqlEventSource
from triage.worker.loop import Worker, WorkerOptions

# long enough for a writer that is not held back to commit, even on a busy machine; one held back by the
# batch is still waiting after it
INTERFERENCE_WAIT = 3.0


@dataclass
class Tables:
    """Clearline's tables and Rasa's event broker on one database."""

    dialect: str
    factory: sessionmaker[Session]
    source: SqlEventSource

    def write(self, rows: list[tuple[str, dict]]) -> list[int]:
        with self.source.engine.begin() as conn:
            return write_events(conn, rows)


def _tables(dialect: str, clearline_url: str, events_url: str) -> Iterator[Tables]:
    upgrade(clearline_url)
    engine = make_engine(clearline_url)
    source = SqlEventSource(events_url)
    source.ensure_table()
    try:
        yield Tables(dialect, make_session_factory(engine), source)
    finally:
        source.close()
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def tables(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Tables]:
    if request.param == "sqlite":  # the single worker: batch and router are threads of one process
        yield from _tables(
            "sqlite", f"sqlite:///{tmp_path / 'clearline.db'}", f"sqlite:///{tmp_path / 'e.db'}"
        )
        return
    with temporary_schema("conflicts") as url:
        yield from _tables("postgresql", url, url)


@pytest.fixture
def pg_tables() -> Iterator[Tables]:
    with temporary_schema("conflicts") as url:
        yield from _tables("postgresql", url, url)


@dataclass
class Interference:
    """What another writer did while the batch held the conversations it had read."""

    result: object = None
    error: BaseException | None = None
    ended_during_batch: bool = False  # False: it was still waiting for the batch when the batch went on


@contextmanager
def meanwhile(factory: sessionmaker[Session], write: Callable[[], object]) -> Iterator[Interference]:
    """Run ``write`` on a thread of its own right after the batch (this thread) has read its conversations,
    and let the batch go on once ``write`` has ended or after ``INTERFERENCE_WAIT`` seconds. Before the
    batch locked what it read, ``write`` committed here and the batch's UPDATE then matched no row."""
    outcome = Interference()
    batch_thread = threading.get_ident()
    armed = [True]

    def run_write() -> None:
        try:
            outcome.result = write()
        except BaseException as exc:  # kept for the test to assert on
            outcome.error = exc

    writer = threading.Thread(target=run_write, daemon=True)

    def after_the_batch_reads_conversations(state: ORMExecuteState) -> object:
        reads_conversations = state.is_select and Conversation.__mapper__ in state.all_mappers
        if not (armed[0] and reads_conversations and threading.get_ident() == batch_thread):
            return None
        armed[0] = False
        result = state.invoke_statement()
        writer.start()
        writer.join(INTERFERENCE_WAIT)
        outcome.ended_during_batch = not writer.is_alive()
        return result

    event.listen(factory, "do_orm_execute", after_the_batch_reads_conversations)
    try:
        yield outcome
    finally:
        event.remove(factory, "do_orm_execute", after_the_batch_reads_conversations)
        if not armed[0]:  # started: it ends once the batch's transaction has
            writer.join(timeout=30)
    assert not armed[0], "the batch never read its conversations"
    assert not writer.is_alive(), "the other writer never finished"


def queued_customer(tables: Tables, worker: Worker, conversation_id: str) -> int:
    """An available agent (ann) and a conversation escalated by an earlier batch, waiting in the queue
    (batches do not route); then the customer writes again. Returns ann's id."""
    with session_scope(tables.factory) as s:
        ann = add_user(s, "ann").id
    tables.write([(conversation_id, user_event("I am furious", intent="compromised_card"))])
    first = worker.process_next_batch()
    assert first is not None and first.escalated == [conversation_id]
    tables.write([(conversation_id, user_event("hello? is anyone there", intent="compromised_card"))])
    return ann


def make_worker(tables: Tables, policy: Policy, options: WorkerOptions | None = None) -> Worker:
    return Worker(tables.factory, tables.source, FakeScorer(), policy, redact_with_spans, options=options)


def customer_messages(factory: sessionmaker[Session], conversation_id: str) -> int:
    with factory() as s:
        query = select(func.count()).where(Message.conversation_id == conversation_id)
        return int(s.scalar(query) or 0)


def test_routing_that_commits_between_a_batchs_read_and_write_does_not_roll_the_batch_back(tables, policy):
    worker = make_worker(tables, policy)
    ann = queued_customer(tables, worker, "c1")
    with meanwhile(tables.factory, worker.route_once) as routing:
        result = worker.process_next_batch()  # before the fix: StaleDataError at the batch's flush
    assert result is not None and result.stored == 1
    assert routing.error is None
    if tables.dialect == "postgresql":  # routing skips the row the batch holds and takes it next tick
        assert routing.ended_during_batch and routing.result == []
        assert worker.route_once() == [("c1", ann)]
    else:  # SQLite: routing waits for the batch's write lock, then routes what the batch left
        assert not routing.ended_during_batch and routing.result == [("c1", ann)]
    with tables.factory() as s:
        conversation = s.get(Conversation, "c1")
        assert conversation is not None
        assert conversation.state == ConversationState.ASSIGNED and conversation.assigned_agent_id == ann
        assert len(conversation.stress_trajectory) == 2  # the batch's update is kept, not overwritten
    assert customer_messages(tables.factory, "c1") == 2


def test_an_agent_accepting_during_a_batch_waits_for_it_and_is_told_to_reload(tables, policy):
    """The api's edits are versioned too: one that lands on a row the batch holds waits for the batch,
    then finds the row changed and is refused (409, "reload and retry"); the batch is never the loser."""
    worker = make_worker(tables, policy)
    ann = queued_customer(tables, worker, "c2")

    def accept() -> None:
        with session_scope(tables.factory) as s:
            agent = s.get(User, ann)
            assert agent is not None
            services.accept(s, "c2", agent)

    with meanwhile(tables.factory, accept) as accepting:
        result = worker.process_next_batch()
    assert result is not None and result.stored == 1
    assert not accepting.ended_during_batch  # it waited for the batch's lock
    assert isinstance(accepting.error, StaleUpdate)
    accept()  # the agent reloads and accepts again
    with tables.factory() as s:
        conversation = s.get(Conversation, "c2")
        assert conversation is not None and conversation.state == ConversationState.ASSIGNED
        assert len(conversation.stress_trajectory) == 2
    assert customer_messages(tables.factory, "c2") == 2


@dataclass
class Hammer:
    """Routing and an agent going offline and back, as fast as they go, until stopped."""

    factory: sessionmaker[Session]
    worker: Worker
    agent_id: int
    stop: threading.Event = field(default_factory=threading.Event)
    requeued: int = 0  # conversations the agent going offline put back in the queue
    refused: int = 0  # the agent's status change lost to a batch: a 409 for the person
    errors: list[BaseException] = field(default_factory=list)

    def run(self) -> None:
        supervisor = Actor("user", "sue", None)
        while not self.stop.is_set():
            for status in (AgentStatus.OFFLINE, AgentStatus.AVAILABLE):
                try:
                    self.worker.route_once()
                    with session_scope(self.factory) as s:
                        agent = s.get(User, self.agent_id)
                        assert agent is not None
                        requeued = services.set_agent_status(s, agent, status, actor=supervisor)
                    self.requeued += len(requeued)
                except StaleUpdate:
                    self.refused += 1
                except Exception as exc:  # a deadlock or anything else: the test fails on it
                    self.errors.append(exc)


def test_batches_never_fail_while_routing_and_agents_hammer_their_conversations(pg_tables, policy):
    """Several writers of the same rows on PostgreSQL at once: the running worker's batches and its
    router (every 5 ms), a second router and an agent's status flipping (which requeues their
    conversations): no batch fails, nobody deadlocks, nothing is lost."""
    conversations = [f"h{i:02d}" for i in range(20)]
    with session_scope(pg_tables.factory) as s:
        ann = add_user(s, "ann", capacity=10).id
        add_user(s, "bob", capacity=10)
    options = WorkerOptions(
        batch_size=16,
        poll_interval=0.01,
        routing_interval=0.005,
        housekeeping_interval=0.2,
        leader_check_interval=0.2,
        leader_retry_interval=0.4,
        error_backoff=0.2,
    )
    worker = make_worker(pg_tables, policy, options)
    running = threading.Thread(target=worker.run, daemon=True)
    hammer = Hammer(pg_tables.factory, worker, ann)
    hammering = threading.Thread(target=hammer.run, daemon=True)
    written = pg_tables.write(
        [(c, user_event("I am furious", intent="compromised_card")) for c in conversations]
    )
    running.start()
    hammering.start()
    try:
        # the customers keep writing while they wait and while they are served, at least until the agent
        # going offline has put a few of them back in the queue
        rounds = 0
        while rounds < 15 or (hammer.requeued < 3 and rounds < 150):
            written += pg_tables.write(
                [(c, user_event(f"any news? ({rounds})", intent="compromised_card")) for c in conversations]
            )
            rounds += 1
            time.sleep(0.1)

        def caught_up() -> bool:
            with pg_tables.factory() as s:
                offset = s.scalar(select(ConsumerOffset.last_event_id))
                return offset == max(written)

        deadline = time.monotonic() + 30
        while not caught_up() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert caught_up()
    finally:
        hammer.stop.set()
        hammering.join(timeout=30)
        worker.stop()
        running.join(timeout=30)
    assert worker.metrics.batch_failures._value.get() == 0
    assert hammer.errors == []
    assert hammer.requeued >= 3  # the rows changed under the batches, not only beside them
    with pg_tables.factory() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == len(written)
        trajectories = s.scalars(select(Conversation.stress_trajectory)).all()
    assert [len(t) for t in trajectories] == [1 + rounds] * len(conversations)  # every batch's update kept
