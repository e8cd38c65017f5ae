"""Issue #18's proof: three worker processes behind RabbitMQ, under faults, lose, repeat and reorder nothing.

Real everything on loopback: events published through Clearline's Rasa broker class (Rasa's own
environment), RabbitMQ's consistent-hash exchange and quorum partition queues, three real worker
processes with the real emotion model on one PostgreSQL schema. 10,000 events over 500 conversations
(a customer message and the bot's answer per turn, a tenth of the conversations turning angry), with
duplicate publishes mixed in; while the workers drain them one is killed with SIGKILL and started
again, and the server drops another's RabbitMQ connection.

Order: nothing may be stored after a newer event of its conversation, and nothing is flagged as out of
order. (Before a partition given back was closed without pika's cancel, about one run in three stored
some events late: pika rejected the deliveries still on the way ahead of the buffered ones.)
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.postgres import temporary_schema
from tests.rabbitmq import close_connections, temporary_vhost
from triage.benchmarks.pipeline import CALM, STRESSED, _seed_agents
from triage.benchmarks.processes import wait_until_answers
from triage.benchmarks.rasa_events import bot_event, user_event
from triage.benchmarks.scaled import _order_and_duplicates
from triage.benchmarks.worker_pool import WorkerPool
from triage.domain.policy import load_policy
from triage.rabbitmq_setup import declare_topology
from triage.rabbitmq_topology import event_key, event_number
from triage.settings import ROOT, get_settings
from triage.storage.db import AuditRecord, Escalation, Message, make_engine, make_session_factory
from triage.storage.migrate import upgrade
from triage.worker.receipts import OUT_OF_ORDER

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

CONVERSATIONS = 500
TURNS = 10  # a customer message and the bot's answer each: 20 events per conversation
PARTITIONS = 8
WORKERS = 3
DUPLICATE_EVERY = 40  # every 40th event is published twice (once more at once, once more later)
DRAIN_TIMEOUT_S = 600
SHARE = 0.15  # of the events, processed by each of at least two workers (an even split is a third each)
RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"


def conversation_events(rng: random.Random, start: float) -> list[dict[str, Any]]:
    """The events in publish order: turns of random conversations interleaved, timestamps rising."""
    angry_from = {
        f"scale-{i}": rng.randint(2, TURNS - 2) if rng.random() < 0.1 else TURNS for i in range(CONVERSATIONS)
    }
    turns_left = {sender: list(range(TURNS)) for sender in angry_from}
    events: list[dict[str, Any]] = []
    clock = start
    while turns_left:
        sender = rng.choice(sorted(turns_left))
        turn = turns_left[sender].pop(0)
        if not turns_left[sender]:
            del turns_left[sender]
        text, intent = rng.choice(STRESSED if turn >= angry_from[sender] else CALM)
        clock += 0.001
        events.append({"sender_id": sender, **user_event(text, intent, timestamp=clock)})
        clock += 0.001
        events.append({"sender_id": sender, **bot_event("Here is what I found.", timestamp=clock)})
    return events


def with_duplicates(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    published: list[dict[str, Any]] = []
    for number, event in enumerate(events):
        published.append(event)
        if number % DUPLICATE_EVERY == 0:
            published.append(event)  # a re-send right away (a publisher confirm that was lost)
        if number % DUPLICATE_EVERY == 7 and number > 200:
            published.append(events[number - 200])  # a re-send long after (after a reconnect)
    return published


def close_worker_connections(pid: int) -> int:
    """Have RabbitMQ close the AMQP connections of one worker process (found by its local ports)."""
    sockets = subprocess.run(
        ["ss", "-tnpH", "state", "established", "dport", "=", ":5672"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    ports = {line.split()[2].rsplit(":", 1)[1] for line in sockets.splitlines() if f"pid={pid}," in line}
    return close_connections(ports, "dropped by the scale-out test")


@pytest.fixture
def places() -> Iterator[tuple[str, str]]:
    with temporary_schema("scale_out") as database_url, temporary_vhost("clearline-scale") as rabbitmq_url:
        yield database_url, rabbitmq_url


def stored_messages(database_url: str) -> int:
    factory = make_session_factory(make_engine(database_url))
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(Message)) or 0)


def test_three_workers_under_kills_drops_and_duplicates_lose_repeat_and_reorder_nothing(
    places: tuple[str, str],
) -> None:
    database_url, rabbitmq_url = places
    upgrade(database_url)
    _seed_agents(database_url, 20, load_policy(get_settings().policy_path).config.queue_names)
    declare_topology(rabbitmq_url, PARTITIONS)
    events = conversation_events(random.Random(18), time.time() - 3600)
    expected = {event_number(event_key(event)) for event in events}
    assert len(events) >= 10_000 and len(expected) == len(events)

    env = {
        "CLEARLINE_DATABASE_URL": database_url,
        "CLEARLINE_EVENT_SOURCE": "rabbitmq",
        "CLEARLINE_RABBITMQ_URL": rabbitmq_url,
        "CLEARLINE_RABBITMQ_PARTITIONS": str(PARTITIONS),
        "CLEARLINE_RASA_URL": "http://127.0.0.1:9",  # nothing to relay to: agents do not reply here
    }
    with tempfile.TemporaryDirectory(prefix="clearline-scale-") as tmp:
        pool = WorkerPool(
            [str(ROOT / ".venv" / "bin" / "python"), "-c", "from triage.worker.runner import main; main()"],
            dict(os.environ) | env,
            WORKERS,
            Path(tmp),
        )
        try:
            assert pool.wait_ready(300) is None, (Path(tmp) / "worker-0.log").read_text()[-3000:]
            published = Path(tmp) / "events.jsonl"
            published.write_text("".join(json.dumps(e) + "\n" for e in with_duplicates(events)))
            publisher = subprocess.run(
                [
                    str(RASA_PYTHON),
                    str(Path(__file__).with_name("publish_through_rasa_broker.py")),
                    rabbitmq_url,
                    str(PARTITIONS),
                    str(published),
                ],
                cwd=ROOT,
                env=dict(os.environ) | {"PYTHONPATH": f"{ROOT / 'bot'}:{ROOT}"},
                capture_output=True,
                text=True,
                timeout=600,
            )
            assert publisher.returncode == 0, publisher.stderr[-3000:]

            # the faults, while the queues are still full: a worker killed in the middle of its work, and
            # another one's connection dropped by the server
            wait_for(lambda: stored_messages(database_url) >= 1000, 300)
            victim, dropped = pool.alive()[0], pool.alive()[1]
            pool.kill(victim)
            assert close_worker_connections(dropped.pid) >= 1
            assert stored_messages(database_url) < len(events)  # the faults came mid-stream

            wait_for(lambda: stored_messages(database_url) >= len(events), DRAIN_TIMEOUT_S)
            wait_for(lambda: explanations_pending(database_url) == 0, 300)
            time.sleep(3)  # anything that would still arrive (a repeat) has the time to
            assert len(pool.alive()) == WORKERS
            # the restarted worker may still be loading its model: once it answers, the three settle
            for process, port in zip(pool.processes, pool.ports, strict=True):
                if process.poll() is None:
                    url = f"http://127.0.0.1:{port}/readyz"
                    assert wait_until_answers(process, url, 300, "worker") is None
            wait_for(lambda: split_evenly(shares(pool)[1]), 30)
            processed, held = shares(pool)
        finally:
            pool.stop()

    # the load is shared: the partitions are split between the three (each held once), and besides the
    # killed worker (its counts died with it) two workers each processed a real share of the events
    assert split_evenly(held), held
    assert sorted(processed)[-2] >= len(events) * SHARE, processed
    factory = make_session_factory(make_engine(database_url))
    with factory() as session:
        stored = session.scalars(select(Message.source_event_id)).all()
        escalations = session.scalars(select(Escalation)).all()
    assert set(stored) == expected  # nothing lost, nothing from elsewhere
    assert len(stored) == len(expected)  # nothing stored twice
    _out_of_order, duplicated, _flagged = _order_and_duplicates(database_url)
    assert duplicated == 0
    assert stored_late(database_url) == set() and flagged_out_of_order(database_url) == set()
    assert len(escalations) >= 20  # about a tenth of 500 conversations turn angry
    for escalation in escalations:  # every escalation explained: factors, and words where stress drove it
        assert escalation.factors and not escalation.explanations_pending
        for entry in escalation.explanations:
            assert "error" not in entry and not entry.get("pending") and entry["words"]
    assert sum(1 for e in escalations if e.explanations) >= len(escalations) // 2


def shares(pool: WorkerPool) -> tuple[list[float], list[float]]:
    """Each live worker's events processed and partitions held, from its /metrics."""
    processed, held = [], []
    for process, port in zip(pool.processes, pool.ports, strict=True):
        if process.poll() is None:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
                metrics = response.read().decode()
            processed.append(metric(metrics, "clearline_events_processed_total"))
            held.append(metric(metrics, "clearline_worker_partitions_held"))
    return processed, held


def split_evenly(held: list[float]) -> bool:
    """Each partition held by one worker, none holding more than its fair share (8 over 3: 3/3/2)."""
    return sum(held) == PARTITIONS and max(held) <= -(-PARTITIONS // WORKERS)


def metric(text: str, name: str) -> float:
    values = [float(line.split()[1]) for line in text.splitlines() if line.startswith(f"{name} ")]
    assert len(values) == 1, f"{name} not in /metrics"
    return values[0]


def stored_late(database_url: str) -> set[int]:
    """The source events of messages stored after a newer event of their conversation."""
    factory = make_session_factory(make_engine(database_url))
    with factory() as session:
        rows = session.execute(
            select(Message.conversation_id, Message.event_at, Message.source_event_id).order_by(
                Message.conversation_id, Message.id
            )
        ).all()
    late: set[int] = set()
    newest: dict[str, Any] = {}
    for conversation_id, event_at, source_event_id in rows:
        if conversation_id in newest and event_at < newest[conversation_id]:
            late.add(source_event_id)
        newest[conversation_id] = max(event_at, newest.get(conversation_id, event_at))
    return late


def flagged_out_of_order(database_url: str) -> set[int]:
    factory = make_session_factory(make_engine(database_url))
    with factory() as session:
        records = session.scalars(select(AuditRecord).where(AuditRecord.action == OUT_OF_ORDER)).all()
    return {record.inputs["source_event_id"] for record in records}


def explanations_pending(database_url: str) -> int:
    factory = make_session_factory(make_engine(database_url))
    with factory() as session:
        return int(
            session.scalar(
                select(func.count()).select_from(Escalation).where(Escalation.explanations_pending.is_(True))
            )
            or 0
        )


def wait_for(condition: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"not reached within {timeout} s"
        time.sleep(0.5)
