"""The worker as a process: exactly-once across SIGKILL, graceful SIGTERM, health and metrics."""

from __future__ import annotations

import signal
import threading
import time

import httpx
import pytest
from sqlalchemy import func, select

from triage.benchmarks.rasa_events import user_event, write_events
from triage.storage.db import ConsumerOffset, Message

from .fake_rasa import RasaDouble
from .worker_process import WorkerProcess

TEXTS = ["where is my card", "I am furious about this", "ok thanks", "this is unacceptable", "hello"]


def stored_event_ids(session_factory) -> list[int]:
    with session_factory() as s:
        return list(s.scalars(select(Message.source_event_id).where(Message.source_event_id.is_not(None))))


def wait_for(predicate, timeout: float = 60, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()


@pytest.fixture
def workers(tmp_path):
    started: list[WorkerProcess] = []
    yield started
    for worker in started:
        worker.ensure_stopped()


def test_killed_and_restarted_worker_stores_every_message_exactly_once(
    clearline_url, events_url, source, session_factory, tmp_path, workers
):
    total = 600
    first = WorkerProcess(clearline_url, events_url, tmp_path / "worker.log").start()
    workers.append(first)
    written: list[int] = []

    def produce() -> None:
        with source.engine.connect() as conn:
            for n in range(total):
                with conn.begin():
                    written.extend(
                        write_events(conn, [(f"conv-{n % 25}", user_event(TEXTS[n % len(TEXTS)]))])
                    )
                time.sleep(0.004)

    producer = threading.Thread(target=produce)
    producer.start()
    assert wait_for(lambda: len(stored_event_ids(session_factory)) >= 150)
    first.kill()  # in the middle of the stream, possibly mid-transaction
    killed_at = len(stored_event_ids(session_factory))
    assert killed_at < total
    second = WorkerProcess(clearline_url, events_url, tmp_path / "worker.log").start()
    workers.append(second)
    producer.join()
    assert wait_for(lambda: len(stored_event_ids(session_factory)) >= total, timeout=120)
    time.sleep(0.5)  # anything extra would show up now
    ids = stored_event_ids(session_factory)
    assert sorted(ids) == sorted(written) and len(ids) == len(set(ids)) == total
    with session_factory() as s:
        assert s.get(ConsumerOffset, "triage-worker").last_event_id == max(written)
        assert s.scalar(select(func.count()).select_from(Message)) == total
    assert second.terminate() == 0


def test_health_readiness_metrics_relay_and_graceful_sigterm(
    clearline_url, events_url, source, tmp_path, workers
):
    rasa = RasaDouble().start()
    worker = WorkerProcess(
        clearline_url,
        events_url,
        tmp_path / "worker.log",
        rasa_url=rasa.url,
        CLEARLINE_RASA_TOKEN="tok-never-logged",
    ).start()
    workers.append(worker)
    with source.engine.begin() as conn:
        write_events(
            conn, [("c1", user_event("I am furious, my card was stolen", intent="lost_or_stolen_card"))]
        )
    assert httpx.get(worker.url("/healthz")).json() == {"status": "ok"}
    ready = httpx.get(worker.url("/readyz")).json()
    assert ready == {"status": "ready", "checks": {"database": True, "model": True}}
    assert httpx.get(worker.url("/nope")).status_code == 404

    def metrics() -> str:
        return httpx.get(worker.url("/metrics")).text

    assert wait_for(lambda: "clearline_utterances_scored_total 1.0" in metrics())
    text = metrics()
    assert 'clearline_escalations_total{queue="cards"} 1.0' in text
    assert "clearline_scoring_seconds_count 1.0" in text
    assert wait_for(lambda: "clearline_explanation_seconds_count 1.0" in metrics(), timeout=10)
    assert wait_for(lambda: 'clearline_queue_length{queue="cards"} 1.0' in metrics(), timeout=10)
    assert "clearline_worker_lag_events 0.0" in metrics()
    assert wait_for(lambda: len(rasa.requests) >= 2, timeout=10)  # the relay thread told Rasa
    assert [(r.path, r.query["token"]) for r in rasa.requests] == [
        ("/conversations/c1/tracker/events", ["tok-never-logged"]),
        ("/conversations/c1/tracker/events", ["tok-never-logged"]),
    ]
    assert worker.terminate() == 0
    rasa.stop()
    log = (tmp_path / "worker.log").read_text()
    assert "tok-never-logged" not in log
    assert (
        '"event": "worker_stopping"' in log
        and '"signal": "SIGTERM"' in log
        and '"event": "worker_stopped"' in log
    )
    assert '"conversation_id": "c1"' in log
    assert '"event": "explainer_warm"' in log  # a served worker warms its explainer up (serving_options)


def test_worker_refuses_to_start_without_migrations(tmp_path, events_url):
    worker = WorkerProcess(f"sqlite:///{tmp_path / 'empty.db'}", events_url, tmp_path / "worker.log")
    with pytest.raises(RuntimeError, match="clearline db upgrade"):
        worker.start(ready_timeout=60)


def test_sigint_stops_the_worker_cleanly(clearline_url, events_url, source, tmp_path, workers):
    worker = WorkerProcess(clearline_url, events_url, tmp_path / "worker.log").start()
    workers.append(worker)
    worker.process.send_signal(signal.SIGINT)
    assert worker.process.wait(timeout=30) == 0
    assert '"signal": "SIGINT"' in (tmp_path / "worker.log").read_text()
