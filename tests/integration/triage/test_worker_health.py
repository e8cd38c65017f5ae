"""Health server answers, readiness failures, the loop surviving a failing batch, outbox claims."""

from __future__ import annotations

import threading
import time

import httpx
from sqlalchemy import select

from tests.unit.triage.fakes import FakeScorer
from triage.db import OutboxCommand, make_engine, make_session_factory, session_scope
from triage.observability import HealthServer
from triage.outbox import claim, enqueue
from triage.rasa_events import user_event, write_events
from triage.redaction import redact
from triage.worker import Worker, WorkerOptions


def serve(worker: Worker) -> HealthServer:
    server = HealthServer("127.0.0.1", 0, worker.metrics, worker.alive, worker.ready)
    server.start()
    return server


def test_readyz_fails_when_the_database_is_unreachable(tmp_path, source, policy):
    broken = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}"))
    worker = Worker(broken, source, FakeScorer(), policy, redact)
    server = serve(worker)
    try:
        response = httpx.get(f"http://127.0.0.1:{server.port}/readyz")
        assert response.status_code == 503
        assert response.json() == {"status": "not ready", "checks": {"database": False, "model": True}}
        worker.heartbeat = time.monotonic() - 120  # a loop stuck for two minutes
        assert httpx.get(f"http://127.0.0.1:{server.port}/healthz").status_code == 503
    finally:
        server.stop()


def test_a_failing_batch_is_counted_retried_and_the_loop_goes_on(session_factory, source, policy):
    class FlakySource:
        def __init__(self) -> None:
            self.calls = 0

        def read_after(self, offset, limit):
            self.calls += 1
            if self.calls == 1:
                raise ConnectionError("broker unreachable")
            return source.read_after(offset, limit)

        def last_id(self):
            return source.last_id()

        def close(self):
            source.close()

    with source.engine.begin() as conn:
        write_events(conn, [("c1", user_event("hello"))])
    worker = Worker(
        session_factory,
        FlakySource(),
        FakeScorer(),
        policy,
        redact,
        options=WorkerOptions(poll_interval=0.01, error_backoff=0.05),
    )
    loop = threading.Thread(target=worker.run)
    loop.start()
    try:
        deadline = time.monotonic() + 10
        while worker.metrics.events_processed._value.get() < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
    finally:
        worker.stop()
        loop.join(timeout=10)
    assert worker.metrics.batch_failures._value.get() == 1
    assert worker.metrics.events_processed._value.get() == 1


def test_an_outbox_command_is_claimed_by_one_relay_only(session_factory):
    with session_scope(session_factory) as s:
        command = enqueue(s, "c1", "pause")
        s.flush()
        command_id = command.id
    with session_scope(session_factory) as s:
        assert claim(s, command_id) is True
    with session_scope(session_factory) as s:
        assert claim(s, command_id) is False  # leased by the first relay
        assert s.scalars(select(OutboxCommand)).one().next_attempt_at is not None
