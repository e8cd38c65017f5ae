"""``clearline bench pipeline --broker rabbitmq --workers N``: several real workers behind RabbitMQ, under
load and faults.

Events are published the way Rasa's broker class (``bot/clearline_broker.py``) publishes them: into the
consistent-hash exchange, persistent, confirmed, ``message_id`` = the event's key and a ``sender_id``
header. N worker processes share the partitions; with ``--kill-worker-every S`` one of them, chosen at
random, is killed with SIGKILL every S seconds and a new one started at once. A poller reads Clearline's
tables as the api would (gaps in the ids it has seen are looked at again for a while, because several
writers commit ids out of order) and times when each message and escalation becomes visible.

Several workers need PostgreSQL (SQLite is one writer, and its single worker is always the leader). The
RabbitMQ side is a temporary virtual host made with ``rabbitmqctl`` unless ``--rabbitmq-url`` names an
empty one.
"""

from __future__ import annotations

import json
import os
import random
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from triage.benchmarks.pipeline import BenchConfig, _Script, _seed_agents, percentile
from triage.benchmarks.processes import free_port
from triage.benchmarks.rasa_events import user_event
from triage.benchmarks.worker_pool import WorkerPool
from triage.rabbitmq_admin import temporary_vhost
from triage.rabbitmq_topology import EXCHANGE, event_key, event_number
from triage.storage.db import AuditRecord, Escalation, Message, Sender, make_engine
from triage.storage.db import make_session_factory as _factory
from triage.storage.migrate import upgrade

GAP_PATIENCE_S = 30.0  # a missing row id is looked for again this long (a batch still committing)


@dataclass
class ScaleConfig:
    base: BenchConfig = field(default_factory=BenchConfig)
    workers: int = 1
    kill_worker_every: float | None = None  # seconds between SIGKILLs of a random worker
    database_url: str | None = None  # default: a temporary SQLite file (one worker only)
    rabbitmq_url: str | None = None  # an empty virtual host; default: a temporary one
    partitions: int = 8


class _GapAwareObserver:
    """Notes when customer messages and escalations become visible. Several workers commit row ids out
    of order, so ids below the highest seen that are still missing are asked for again for a while."""

    def __init__(self, url: str, interval: float) -> None:
        self.factory = _factory(make_engine(url))
        self.interval = interval
        self.seen_messages: dict[int, float] = {}  # source_event_id -> first seen
        self.message_rows: set[int] = set()
        self.seen_escalations: dict[int, float] = {}
        self.escalation_events: dict[int, int | None] = {}
        self.explained: dict[int, float] = {}
        self._floor = {"messages": 0, "escalations": 0}  # every id at or below was seen or given up on
        self._missing: dict[str, dict[int, float]] = {"messages": {}, "escalations": {}}
        self.stop = threading.Event()

    def _advance(self, table: str, ids: list[int], now: float) -> None:
        missing = self._missing[table]
        seen = set(ids)
        for row_id in seen:
            missing.pop(row_id, None)
        top = max(seen, default=self._floor[table])
        known = self.message_rows if table == "messages" else set(self.seen_escalations)
        for row_id in range(self._floor[table] + 1, top):
            if row_id not in known and row_id not in seen:
                missing.setdefault(row_id, now)
        for row_id, since in list(missing.items()):
            if now - since > GAP_PATIENCE_S:  # a rolled-back batch's id: never coming
                del missing[row_id]
        self._floor[table] = (min(missing) - 1) if missing else max(top, self._floor[table])

    def poll(self) -> None:
        now = time.time()
        with self.factory() as session:
            rows = session.execute(
                select(Message.id, Message.source_event_id).where(
                    Message.id > self._floor["messages"], Message.sender == Sender.CUSTOMER
                )
            ).all()
            escalations = session.execute(
                select(Escalation.id, Escalation.source_event_id).where(
                    Escalation.id > self._floor["escalations"]
                )
            ).all()
            waiting = [e for e in self.seen_escalations if e not in self.explained]
            filled = (
                session.scalars(
                    select(Escalation.id).where(
                        Escalation.id.in_(waiting), Escalation.explanations_pending.is_(False)
                    )
                ).all()
                if waiting
                else []
            )
        fresh_messages = [(i, e) for i, e in rows if i not in self.message_rows]
        for message_id, event_id in fresh_messages:
            self.message_rows.add(message_id)
            if event_id is not None:
                self.seen_messages.setdefault(event_id, now)
        self._advance("messages", [i for i, _ in rows], now)
        for escalation_id, event_id in escalations:
            if escalation_id not in self.seen_escalations:
                self.seen_escalations[escalation_id] = now
                self.escalation_events[escalation_id] = event_id
        self._advance("escalations", [i for i, _ in escalations], now)
        for escalation_id in filled:
            self.explained.setdefault(escalation_id, now)

    def run(self) -> None:
        while not self.stop.is_set():
            self.poll()
            self.stop.wait(self.interval)


class RabbitPublisher:
    """Publishes as Rasa's broker class does: confirmed, persistent, keyed, with the sender header."""

    def __init__(self, url: str) -> None:
        import pika

        self._pika = pika
        self.connection = pika.BlockingConnection(pika.URLParameters(url))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()

    def publish(self, sender_id: str, event: dict[str, Any]) -> int:
        body = {"sender_id": sender_id, **event}
        key = event_key(body)
        self.channel.basic_publish(
            EXCHANGE,
            "",
            json.dumps(body).encode(),
            self._pika.BasicProperties(
                message_id=key,
                headers={"sender_id": sender_id},
                delivery_mode=2,
                content_type="application/json",
            ),
        )
        return event_number(key)

    def close(self) -> None:
        if self.connection.is_open:
            self.connection.close()


def setup_topology(url: str, partitions: int) -> None:
    from triage.rabbitmq_setup import declare_topology

    declare_topology(url, partitions)


def run_scaled_bench(config: ScaleConfig) -> dict[str, Any]:
    if config.workers < 1:
        return {"error": "--workers must be at least 1"}
    if config.workers > 1 and not (config.database_url or "").startswith("postgresql"):
        return {"error": "several workers need PostgreSQL: pass --database-url postgresql://..."}
    if config.rabbitmq_url:
        return _run(config, config.rabbitmq_url)
    with temporary_vhost("clearline-bench") as url:
        return _run(config, url)


def _run(config: ScaleConfig, rabbitmq_url: str) -> dict[str, Any]:
    from triage.domain.policy import load_policy
    from triage.settings import get_settings

    base = config.base
    rng = random.Random(base.seed)  # noqa: S311 - shapes the load, nothing secret
    setup_topology(rabbitmq_url, config.partitions)
    with tempfile.TemporaryDirectory(prefix="clearline-bench-") as tmp:
        database_url = config.database_url or f"sqlite:///{Path(tmp) / 'clearline.db'}"
        upgrade(database_url)
        _seed_agents(database_url, base.agents, load_policy(get_settings().policy_path).config.queue_names)
        env = os.environ | {
            "CLEARLINE_DATABASE_URL": database_url,
            "CLEARLINE_EVENT_SOURCE": "rabbitmq",
            "CLEARLINE_RABBITMQ_URL": rabbitmq_url,
            "CLEARLINE_RABBITMQ_PARTITIONS": str(config.partitions),
            "CLEARLINE_RASA_URL": f"http://127.0.0.1:{free_port()}",
        }
        pool = WorkerPool(base.worker_cmd, env, config.workers, Path(tmp))
        try:
            error = pool.wait_ready(base.ready_timeout)
            if error:
                tail = (Path(tmp) / "worker-0.log").read_text(errors="replace")[-1500:]
                return {"error": error, "worker_log_tail": tail}
            return _measure(config, rng, rabbitmq_url, database_url, pool)
        finally:
            pool.stop()


def _measure(
    config: ScaleConfig, rng: random.Random, rabbitmq_url: str, database_url: str, pool: WorkerPool
) -> dict[str, Any]:
    base = config.base
    observer = _GapAwareObserver(database_url, max(base.poll_interval, 0.05))
    poller = threading.Thread(target=observer.run, daemon=True)
    poller.start()
    publisher = RabbitPublisher(rabbitmq_url)
    published: dict[int, float] = {}  # event number -> publish time
    total = int(base.rate * base.duration)
    interval = 1.0 / base.rate
    slots = [_Script(base, rng, f"bench-{i}") for i in range(base.conversations)]
    cpu_before = pool.cpu_seconds()
    started = time.time()
    next_at = time.monotonic()
    next_kill = (time.monotonic() + config.kill_worker_every) if config.kill_worker_every else None
    for _ in range(total):
        sleep = next_at - time.monotonic()
        if sleep > 0:
            time.sleep(sleep)
        next_at += interval
        if next_kill is not None and time.monotonic() >= next_kill:
            pool.kill_one(rng)
            next_kill += config.kill_worker_every or 0
        slot = rng.randrange(len(slots))
        if slots[slot].done:
            slots[slot] = _Script(base, rng, slots[slot].next_id())
        sender_id, text, intent = slots[slot].next_message()
        stamp = time.time()
        published[publisher.publish(sender_id, user_event(text, intent, timestamp=stamp))] = stamp
    publish_seconds = time.time() - started
    publisher.close()
    deadline = time.monotonic() + base.drain_timeout
    while time.monotonic() < deadline and (
        len(observer.seen_messages) < len(published)
        or len(observer.explained) < len(observer.seen_escalations)
    ):
        time.sleep(0.05)
    cpu_seconds = pool.cpu_seconds() - cpu_before
    cpu_by_process = pool.cpu_by_process()
    processed_by_worker = pool.processed_by_live_worker()
    observer.stop.set()
    poller.join()
    observer.poll()
    figures = _figures(config, observer, published, started, publish_seconds, cpu_seconds, pool, database_url)
    # per process, start-up included (a restarted worker's ~20 s of imports and model load count here)
    figures["worker_cpu_s_by_process"] = cpu_by_process
    figures["events_by_live_worker"] = processed_by_worker
    return figures


def _order_and_duplicates(database_url: str) -> tuple[int, int, int]:
    """Customer messages stored out of their conversation's order (by commit id vs event time), rows
    that repeat a message (same conversation, event time and text), and the audit's out-of-order flags."""
    factory = _factory(make_engine(database_url))
    with factory() as session:
        rows = session.execute(
            select(Message.conversation_id, Message.event_at, Message.text)
            .where(Message.sender == Sender.CUSTOMER)
            .order_by(Message.conversation_id, Message.id)
        ).all()
        flagged = session.scalar(
            select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "event_out_of_order")
        )
    out_of_order, duplicated = 0, 0
    previous: tuple[str, datetime] | None = None
    copies: set[tuple[str, datetime | None, str]] = set()
    for conversation_id, event_at, text in rows:
        if event_at is None:  # every bench event has a timestamp; no order to compare without one
            continue
        if previous is not None and previous[0] == conversation_id and event_at < previous[1]:
            out_of_order += 1
        previous = (conversation_id, event_at)
        identity = (conversation_id, event_at, text)
        duplicated += identity in copies
        copies.add(identity)
    return out_of_order, duplicated, int(flagged or 0)


def _figures(
    config: ScaleConfig,
    observer: _GapAwareObserver,
    published: dict[int, float],
    started: float,
    publish_seconds: float,
    cpu_seconds: float,
    pool: WorkerPool,
    database_url: str,
) -> dict[str, Any]:
    base = config.base
    processed = [observer.seen_messages[e] for e in published if e in observer.seen_messages]
    finished = max(processed, default=started)
    score_ms = [
        (observer.seen_messages[e] - t) * 1000 for e, t in published.items() if e in observer.seen_messages
    ]
    escalation_ms = []
    for escalation_id, seen in observer.seen_escalations.items():
        source_event = observer.escalation_events.get(escalation_id)
        if source_event is not None and source_event in published:
            escalation_ms.append((seen - published[source_event]) * 1000)
    out_of_order, duplicated, flagged = _order_and_duplicates(database_url)
    elapsed = max(1e-9, finished - started)
    return {
        "broker": "rabbitmq",
        "workers": config.workers,
        "partitions": config.partitions,
        "database": database_url.split(":", 1)[0].split("+", 1)[0],
        "messages": len(published),
        "offered_per_s": round(len(published) / publish_seconds, 1),
        "processed_per_s": round(len(processed) / elapsed, 1),
        "score_p50_ms": percentile(score_ms, 50),
        "score_p95_ms": percentile(score_ms, 95),
        "escalations": len(observer.seen_escalations),
        "escalation_p50_ms": percentile(escalation_ms, 50),
        "escalation_p95_ms": percentile(escalation_ms, 95),
        "explained": len(observer.explained),
        "lost": len(published) - len(processed),
        "duplicated": duplicated,
        "out_of_order": out_of_order,
        "out_of_order_flagged": flagged,
        "worker_kills": pool.kills,
        "worker_cpu_cores_busy": round(cpu_seconds / elapsed, 2),
        "worker_cpu_ms_per_message": round(1000 * cpu_seconds / max(1, len(processed)), 1),
        "kill_worker_every_s": config.kill_worker_every,
        "offered_rate": base.rate,
        "duration_s": base.duration,
    }
