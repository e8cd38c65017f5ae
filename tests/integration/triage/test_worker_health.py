"""Health server answers, readiness failures, the loop surviving a failing batch, outbox claims."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import httpx
from sqlalchemy import select

from sentiment.types import UtteranceScore
from tests.integration.triage.worker_process import free_port
from tests.unit.triage.fakes import FakeScorer
from triage.benchmarks.rasa_events import user_event, write_events
from triage.redaction import redact_with_spans
from triage.settings import ROOT, CoreSettings
from triage.storage.db import OutboxCommand, make_engine, make_session_factory, session_scope
from triage.storage.outbox import claim, enqueue
from triage.worker import runner
from triage.worker.loop import Worker, WorkerOptions
from triage.worker.observability import HealthServer


def serve(worker: Worker) -> HealthServer:
    server = HealthServer("127.0.0.1", 0, worker.metrics, worker.alive, worker.ready)
    server.start()
    return server


def test_readyz_fails_when_the_database_is_unreachable(tmp_path, source, policy):
    broken = make_session_factory(make_engine(f"sqlite:///{tmp_path / 'missing-dir' / 'x.db'}"))
    worker = Worker(broken, source, FakeScorer(), policy, redact_with_spans)
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

        def fetch(self, session, limit):
            self.calls += 1
            if self.calls == 1:
                raise ConnectionError("broker unreachable")
            return source.fetch(session, limit)

        def __getattr__(self, name):
            return getattr(source, name)

        def close(self):
            source.close()

    with source.engine.begin() as conn:
        write_events(conn, [("c1", user_event("hello"))])
    worker = Worker(
        session_factory,
        FlakySource(),
        FakeScorer(),
        policy,
        redact_with_spans,
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


def settings_for(clearline_url: str, events_url: str) -> CoreSettings:
    return CoreSettings(database_url=clearline_url, events_url=events_url, demo=True)


def readyz(server: HealthServer) -> tuple[int, dict[str, object]]:
    response = httpx.get(f"http://127.0.0.1:{server.port}/readyz")
    return response.status_code, response.json()


def test_readyz_fails_when_the_model_did_not_load(clearline_url, events_url, source, monkeypatch):
    def no_model(*_args: object, **_kwargs: object) -> None:
        raise OSError("no model weights in /nowhere")

    monkeypatch.setattr(runner, "SentimentScorer", no_model)
    settings = settings_for(clearline_url, events_url)
    model = runner.load_model(settings)  # logged and kept, not raised: /readyz says it
    assert isinstance(model.error, OSError)
    worker = runner.build_worker(settings, model.scorer, explainer=model.explainer)
    server = runner.health_server(settings, worker, model, port=0)
    server.start()
    try:
        assert readyz(server) == (503, {"status": "not ready", "checks": {"database": True, "model": False}})
        assert httpx.get(f"http://127.0.0.1:{server.port}/healthz").status_code == 200  # it answers
    finally:
        server.stop()


def test_readyz_fails_when_the_scorer_raises_on_a_probe(clearline_url, events_url, source):
    class BrokenScorer(FakeScorer):
        def score(self, texts: list[str]) -> list[UtteranceScore]:
            raise RuntimeError("CUDA error: device-side assert triggered")

    settings = settings_for(clearline_url, events_url)
    for scorer, expected in ((FakeScorer(), (200, True)), (BrokenScorer(), (503, False))):
        model = runner.Model(scorer)
        server = runner.health_server(settings, runner.build_worker(settings, scorer), model, port=0)
        server.start()
        try:
            status, body = readyz(server)
            assert (status, body["checks"]) == (expected[0], {"database": True, "model": expected[1]})
        finally:
            server.stop()


def test_a_worker_whose_model_did_not_load_answers_not_ready_and_exits_2_when_stopped(
    clearline_url, events_url, source, tmp_path
):
    url = f"http://127.0.0.1:{free_port()}"
    env = os.environ | {
        "CLEARLINE_DATABASE_URL": clearline_url,
        "CLEARLINE_EVENTS_URL": events_url,
        "CLEARLINE_WORKER_PORT": url.rsplit(":", 1)[1],
        "CLEARLINE_MODEL_DIR": str(tmp_path / "no-model-here"),
    }
    log_path = tmp_path / "worker.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", "from triage.worker.runner import main; main()"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while True:  # before, the process died on the load error and nothing answered
            assert process.poll() is None, log_path.read_text()[-2000:]
            try:
                response = httpx.get(f"{url}/readyz", timeout=1)
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline, log_path.read_text()[-2000:]
                time.sleep(0.2)
        assert response.status_code == 503
        assert response.json()["checks"] == {"database": True, "model": False}
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 2
        assert "model_load_failed" in log_path.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=30)
