"""Several workers on one PostgreSQL schema: one leader, fail-over, and batches that never route."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from tests.postgres import temporary_schema
from tests.unit.triage.conftest import add_user
from tests.unit.triage.fakes import FakeScorer
from triage.benchmarks.rasa_events import user_event, write_events
from triage.domain.policy import Policy
from triage.redaction import redact_with_spans
from triage.storage.db import (
    AuditRecord,
    Conversation,
    ConversationState,
    Escalation,
    make_engine,
    make_session_factory,
    session_scope,
)
from triage.storage.migrate import upgrade
from triage.worker.broker import SqlEventSource
from triage.worker.leader import LEADER_LOCK_SPACE, AdvisoryLock
from triage.worker.loop import Worker, WorkerOptions

FAST = WorkerOptions(leader_check_interval=0.2, leader_retry_interval=0.4, housekeeping_interval=0.2)


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


@pytest.fixture
def pg_url() -> Iterator[str]:
    with temporary_schema("leader") as url:
        upgrade(url)
        yield url


@dataclass
class Running:
    """A worker of its own (engine, event source) running on a thread, as one process would."""

    worker: Worker
    thread: threading.Thread
    engine: Engine
    source: SqlEventSource

    @property
    def leading(self) -> bool:
        return self.worker.election.leading

    def gauge(self) -> float:
        return float(self.worker.metrics.leader._value.get())

    def stop(self) -> None:
        self.worker.stop()
        self.thread.join(timeout=30)
        assert not self.thread.is_alive()


@pytest.fixture
def start_worker(pg_url: str, policy: Policy) -> Iterator[Callable[..., Running]]:
    started: list[Running] = []

    def start(identity: str, options: WorkerOptions = FAST) -> Running:
        engine = make_engine(pg_url)
        source = SqlEventSource(pg_url)
        source.ensure_table()
        worker = Worker(
            make_session_factory(engine), source, FakeScorer(), policy, redact_with_spans, options=options
        )
        worker.identity = identity  # one process here: the audit tells the workers apart by this
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        running = Running(worker, thread, engine, source)
        started.append(running)
        return running

    yield start
    for running in started:
        running.stop()
        running.source.close()
        running.engine.dispose()


@pytest.fixture
def pg_tables(pg_url: str) -> Iterator[tuple[sessionmaker[Session], SqlEventSource]]:
    """Clearline's tables and Rasa's event broker, both on the test's schema."""
    engine = make_engine(pg_url)
    source = SqlEventSource(pg_url)
    source.ensure_table()
    yield make_session_factory(engine), source
    source.close()
    engine.dispose()


def agent_and_angry_customer(factory: sessionmaker[Session], source: SqlEventSource, customer: str) -> None:
    """One free agent with the cards skill; a customer whose first message escalates to cards."""
    with session_scope(factory) as s:
        add_user(s, "ann")
    with source.engine.begin() as conn:
        write_events(conn, [(customer, user_event("I am furious", intent="compromised_card"))])


def leader_records(pg_url: str) -> list[tuple[str, str]]:
    engine = make_engine(pg_url)
    try:
        with make_session_factory(engine)() as s:
            query = select(AuditRecord.action, AuditRecord.inputs).where(AuditRecord.action.like("leader_%"))
            return [
                (action, inputs["worker"]) for action, inputs in s.execute(query.order_by(AuditRecord.id))
            ]
    finally:
        engine.dispose()


def test_two_workers_on_one_schema_elect_exactly_one_leader_and_hand_over_when_it_stops(pg_url, start_worker):
    first, second = start_worker("first"), start_worker("second")
    assert wait_until(lambda: first.leading or second.leading)
    for _ in range(10):  # over several checks and retries, never two
        assert [first.leading, second.leading].count(True) == 1
        time.sleep(0.1)
    leader, follower = (first, second) if first.leading else (second, first)
    assert (leader.gauge(), follower.gauge()) == (1.0, 0.0)
    leader.stop()  # resigns after its jobs stopped
    started = time.monotonic()
    assert wait_until(lambda: follower.leading, timeout=5)
    assert time.monotonic() - started < FAST.leader_retry_interval + 1.0
    assert follower.gauge() == 1.0 and leader.gauge() == 0.0
    assert leader_records(pg_url) == [
        ("leader_elected", leader.worker.identity),
        ("leader_resigned", leader.worker.identity),
        ("leader_elected", follower.worker.identity),
    ]


def terminate_lock_holder(pg_url: str) -> int:
    """End the server session that holds this schema's leader lock, as a dropped connection would."""
    engine = make_engine(pg_url)
    try:
        with engine.begin() as conn:
            pid = conn.execute(
                text(
                    "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 2"
                    " AND classid = CAST(CAST(:space AS integer) AS oid)"
                    " AND objid = CAST(hashtext(current_schema()) AS oid)"
                ),
                {"space": LEADER_LOCK_SPACE},
            ).scalar_one()
            assert conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}).scalar_one()
            return int(pid)
    finally:
        engine.dispose()


def test_a_leader_whose_connection_is_killed_stops_leading_and_the_other_takes_over(pg_url, start_worker):
    # the first worker leads; it retries slowly once it lost, so that the second one is the successor
    slow_retry = WorkerOptions(leader_check_interval=0.2, leader_retry_interval=30.0)
    victim = start_worker("victim", slow_retry)
    assert wait_until(lambda: victim.leading)
    successor = start_worker("successor")
    time.sleep(1.0)
    assert not successor.leading
    terminate_lock_holder(pg_url)
    killed = time.monotonic()
    assert wait_until(lambda: not victim.leading, timeout=5)
    assert time.monotonic() - killed < slow_retry.leader_check_interval + 1.0
    assert victim.gauge() == 0.0
    assert wait_until(lambda: successor.leading, timeout=5)
    assert time.monotonic() - killed < FAST.leader_retry_interval + 1.5
    assert not victim.leading
    engine = make_engine(pg_url)
    try:
        with make_session_factory(engine)() as s:
            lost = s.scalars(select(AuditRecord).where(AuditRecord.action == "leader_lost")).one()
    finally:
        engine.dispose()
    assert lost.inputs == {"worker": "victim"} and lost.outcome["leading"] is False
    assert "error" in lost.outcome  # the server ended the session: the check itself failed


def test_a_follower_scores_but_neither_routes_nor_explains_until_it_leads(pg_url, pg_tables, start_worker):
    factory, source = pg_tables
    other_worker = AdvisoryLock(pg_url)  # another worker holds the lock
    assert other_worker.try_acquire()
    try:
        agent_and_angry_customer(factory, source, "f1")
        follower = start_worker("follower")

        def escalated() -> bool:
            with factory() as s:
                return s.scalar(select(func.count()).select_from(Escalation)) == 1

        assert wait_until(escalated)  # its batches commit while it follows
        time.sleep(1.0)  # several routing, SLA and explainer intervals
        with factory() as s:
            assert s.get(Conversation, "f1").state == ConversationState.QUEUED
            assert s.scalars(select(Escalation)).one().explanations_pending
        assert not follower.leading and follower.gauge() == 0.0
    finally:
        other_worker.release()

    def routed_and_explained() -> bool:
        with factory() as s:
            conversation, escalation = s.get(Conversation, "f1"), s.scalars(select(Escalation)).one()
            return conversation.state == ConversationState.ASSIGNED and not escalation.explanations_pending

    assert wait_until(routed_and_explained, timeout=5) and follower.leading and follower.gauge() == 1.0


def test_a_batch_commits_while_agents_are_locked_by_routing(pg_tables, policy):
    """Routing locks the agents' rows (as an accept or a reassign does); a batch that escalates does not
    route, so it neither waits for those locks nor rolls back over them."""
    factory, source = pg_tables
    agent_and_angry_customer(factory, source, "r1")
    worker = Worker(factory, source, FakeScorer(), policy, redact_with_spans)
    results: list[object] = []
    with source.engine.connect() as routing:  # holds the agents' rows until the batch is over
        routing.execute(text("SELECT id FROM users FOR UPDATE")).all()
        batch = threading.Thread(target=lambda: results.append(worker.process_next_batch()), daemon=True)
        batch.start()
        batch.join(timeout=20)
        finished = not batch.is_alive()
        routing.rollback()
    batch.join(timeout=20)
    assert finished, "the batch waited for the agents' row locks"
    with factory() as s:
        assert s.get(Conversation, "r1").state == ConversationState.QUEUED
    assert worker.route_once() == [("r1", 1)]  # once the locks are gone, the leader's step routes it


def test_the_single_sqlite_worker_leads_routes_a_new_escalation_and_resigns_when_stopped(
    session_factory, source, policy
):
    agent_and_angry_customer(session_factory, source, "s1")
    worker = Worker(session_factory, source, FakeScorer(), policy, redact_with_spans, options=FAST)
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:

        def assigned() -> bool:
            with session_factory() as s:
                conversation = s.get(Conversation, "s1")
                return conversation is not None and conversation.state == ConversationState.ASSIGNED

        assert wait_until(assigned)  # routed by the leader's step, a routing interval after the batch
        assert worker.election.leading and worker.metrics.leader._value.get() == 1.0
    finally:
        worker.stop()
        thread.join(timeout=30)
    assert worker.metrics.leader._value.get() == 0.0
    with session_factory() as s:
        actions = s.scalars(select(AuditRecord.action).where(AuditRecord.action.like("leader_%"))).all()
    assert actions == ["leader_elected", "leader_resigned"]


def test_a_leadership_change_the_audit_cannot_store_still_leads_and_sets_the_gauge(tmp_path, source, policy):
    broken = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}"))
    worker = Worker(broken, source, FakeScorer(), policy, redact_with_spans)
    assert worker.election.check() and worker.election.leading
    assert worker.metrics.leader._value.get() == 1.0
