"""``clearline bench pipeline``: a steady stream of Rasa-shaped customer events -> the real worker.

The worker runs as its own process (as in production), on temporary SQLite databases. This process
writes events at a fixed rate, one committed INSERT each (as Rasa's SQL broker does), and a poller
reads Clearline's tables the way the api would, timing when each score and each escalation becomes
visible. Latencies run from the event's write to that visibility.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from triage.benchmarks.processes import free_port, wait_until_answers
from triage.benchmarks.rasa_events import user_event, write_events
from triage.storage.db import AgentStatus, Escalation, Message, Role, Sender, User, make_engine, session_scope
from triage.storage.db import make_session_factory as _factory
from triage.storage.migrate import upgrade
from triage.worker.broker import SqlEventSource

CALM = [
    ("where is my new card?", "card_arrival"),
    ("how long does a transfer to another bank take", "transfer_timing"),
    ("can I top up with apple pay", "apple_pay_or_google_pay"),
    ("what is the exchange rate for euros", "exchange_rate"),
    ("I would like to change my pin please", "change_pin"),
    ("thanks, that helps", "card_arrival"),
    ("is there a fee for topping up by card", "top_up_by_card_charge"),
    ("how do I verify my identity", "verify_my_identity"),
]
STRESSED = [
    ("someone took money from my account, I am scared and furious", "compromised_card"),
    ("this is unacceptable, my card was stolen and nobody helps me", "lost_or_stolen_card"),
    ("I am so angry, the transfer never arrived and rent is due today", "transfer_not_received_by_recipient"),
    ("I'm terrified, there are payments I never made", "card_payment_not_recognised"),
]


@dataclass
class BenchConfig:
    rate: float = 50.0  # customer messages per second
    duration: float = 30.0  # seconds of steady load
    conversations: int = 200
    conversation_length: int = 8  # customer messages before a conversation ends and a new one starts
    stressed_conversations: float = 0.1  # share of conversations that turn stressed midway
    agents: int = 20
    drain_timeout: float = 60.0
    ready_timeout: float = 300.0
    poll_interval: float = 0.02
    seed: int = 7
    keep_worker_log: Path | None = None  # copy the worker's JSON log here
    keep_db: Path | None = None  # copy Clearline's SQLite database here at the end (for `clearline replay`)
    worker_cmd: list[str] = field(
        default_factory=lambda: [sys.executable, "-c", "from triage.worker.runner import main; main()"]
    )


class _Script:
    """One customer's conversation: calm questions; a stressed one turns angry after a few turns."""

    def __init__(self, config: BenchConfig, rng: random.Random, conversation_id: str) -> None:
        self.id = conversation_id
        self.rng = rng
        self.length = config.conversation_length
        self.turn = 0
        self.turns_calm = (
            rng.randint(1, max(1, self.length // 2))
            if rng.random() < config.stressed_conversations
            else self.length
        )

    @property
    def done(self) -> bool:
        return self.turn >= self.length

    def next_id(self) -> str:
        base, _, generation = self.id.partition("#")
        return f"{base}#{int(generation or 0) + 1}"

    def next_message(self) -> tuple[str, str, str]:
        pool = CALM if self.turn < self.turns_calm else STRESSED
        self.turn += 1
        text, intent = self.rng.choice(pool)
        return self.id, text, intent


def percentile(values: list[float], q: int) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return round(values[0], 1)
    return round(float(statistics.quantiles(values, n=100, method="inclusive")[q - 1]), 1)


class _Observer:
    """Polls Clearline's tables like the api would and notes when rows become visible."""

    def __init__(self, url: str, interval: float) -> None:
        self.factory = _factory(make_engine(url))
        self.interval = interval
        self.seen_messages: dict[int, float] = {}  # source_event_id -> first seen (time.time())
        self.message_rows = 0
        self.seen_escalations: dict[int, float] = {}  # escalation id -> first seen
        self.escalation_events: dict[int, int | None] = {}  # escalation id -> source event id
        self.explained: dict[int, float] = {}  # escalation id -> when its explanations were filled in
        self._last_message_id = 0
        self._last_escalation_id = 0
        self.stop = threading.Event()

    def poll(self) -> None:
        now = time.time()
        with self.factory() as session:
            rows = session.execute(
                select(Message.id, Message.source_event_id)
                .where(Message.id > self._last_message_id, Message.sender == Sender.CUSTOMER)
                .order_by(Message.id)
            ).all()
            escalations = session.execute(
                select(Escalation.id, Escalation.source_event_id)
                .where(Escalation.id > self._last_escalation_id)
                .order_by(Escalation.id)
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
        for message_id, event_id in rows:
            self._last_message_id = message_id
            self.message_rows += 1
            if event_id is not None:
                self.seen_messages.setdefault(event_id, now)
        for escalation_id, event_id in escalations:
            self._last_escalation_id = escalation_id
            self.seen_escalations[escalation_id] = now
            self.escalation_events[escalation_id] = event_id
        for escalation_id in filled:
            self.explained.setdefault(escalation_id, now)

    def run(self) -> None:
        while not self.stop.is_set():
            self.poll()
            self.stop.wait(self.interval)


def _seed_agents(url: str, count: int, queues: list[str]) -> None:
    with session_scope(_factory(make_engine(url))) as session:
        for i in range(count):
            session.add(
                User(
                    username=f"bench-agent-{i}",
                    display_name=f"Agent {i}",
                    password_hash="!",  # noqa: S106 - not a hash: benchmark agents never log in
                    role=Role.AGENT,
                    skills=queues,
                    capacity=3,
                    status=AgentStatus.AVAILABLE,
                )
            )


def run_pipeline_bench(config: BenchConfig) -> dict[str, Any]:
    from triage.domain.policy import load_policy
    from triage.settings import get_settings

    if config.keep_db is not None and config.keep_db.exists():
        return {"error": f"{config.keep_db} exists; --keep-db names a new file"}
    rng = random.Random(config.seed)  # noqa: S311 - shapes the load, nothing secret
    with tempfile.TemporaryDirectory(prefix="clearline-bench-") as tmp:
        clearline_url = f"sqlite:///{Path(tmp) / 'clearline.db'}"
        events_url = f"sqlite:///{Path(tmp) / 'rasa_events.db'}"
        upgrade(clearline_url)
        _seed_agents(clearline_url, config.agents, load_policy(get_settings().policy_path).config.queue_names)
        source = SqlEventSource(events_url)
        source.ensure_table()
        port = free_port()
        env = os.environ | {
            "CLEARLINE_DATABASE_URL": clearline_url,
            "CLEARLINE_EVENTS_URL": events_url,
            "CLEARLINE_WORKER_PORT": str(port),
            "CLEARLINE_RASA_URL": f"http://127.0.0.1:{free_port()}",
        }
        log_path = Path(tmp) / "worker.log"
        with open(log_path, "wb") as log_file:
            worker = subprocess.Popen(config.worker_cmd, env=env, stdout=log_file, stderr=subprocess.STDOUT)
        try:
            error = wait_until_answers(
                worker, f"http://127.0.0.1:{port}/readyz", config.ready_timeout, "worker"
            )
            if error:
                tail = log_path.read_text(errors="replace")[-1500:]
                return {"error": error, "worker_log_tail": tail}
            figures = _measure(config, rng, source, clearline_url, worker)
            figures.update(_worker_timings(port))
            return figures
        finally:
            if worker.poll() is None:
                worker.terminate()
                try:
                    worker.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    worker.kill()
            source.close()
            if config.keep_worker_log is not None:
                shutil.copyfile(log_path, config.keep_worker_log)
            if config.keep_db is not None:
                keep_database(Path(tmp) / "clearline.db", config.keep_db)


def keep_database(database: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (its WAL included) at ``target``."""
    with sqlite3.connect(database) as src, sqlite3.connect(target) as dst:
        src.backup(dst)


def _worker_timings(port: int) -> dict[str, Any]:
    """Mean time per scoring call (one per batch) and per explanation, from the worker's /metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    except httpx.HTTPError:
        return {}
    samples = {s.name: s.value for family in text_string_to_metric_families(text) for s in family.samples}
    figures: dict[str, Any] = {}
    for name, key in (
        ("clearline_scoring_seconds", "scoring_call"),
        ("clearline_explanation_seconds", "explanation"),
    ):
        count = samples.get(f"{name}_count", 0.0)
        figures[f"{key}s"] = int(count)
        figures[f"{key}_mean_ms"] = (
            round(1000 * samples.get(f"{name}_sum", 0.0) / count, 1) if count else None
        )
    return figures


def _measure(
    config: BenchConfig,
    rng: random.Random,
    source: SqlEventSource,
    clearline_url: str,
    worker: subprocess.Popen[bytes],
) -> dict[str, Any]:
    observer = _Observer(clearline_url, config.poll_interval)
    poller = threading.Thread(target=observer.run, daemon=True)
    poller.start()
    written: dict[int, float] = {}  # event id -> write time
    total = int(config.rate * config.duration)
    interval = 1.0 / config.rate
    slots = [_Script(config, rng, f"bench-{i}") for i in range(config.conversations)]
    started = time.time()
    next_at = time.monotonic()
    max_lag = 0
    with source.engine.connect() as conn:
        for n in itertools.count():
            if n >= total:
                break
            sleep = next_at - time.monotonic()
            if sleep > 0:
                time.sleep(sleep)
            next_at += interval
            slot = rng.randrange(len(slots))
            if slots[slot].done:
                slots[slot] = _Script(config, rng, slots[slot].next_id())
            sender_id, text, intent = slots[slot].next_message()
            stamp = time.time()
            with conn.begin():
                (event_id,) = write_events(conn, [(sender_id, user_event(text, intent, timestamp=stamp))])
            written[event_id] = stamp
            if n % 25 == 0:
                max_lag = max(max_lag, event_id - max(observer.seen_messages, default=0))
    write_seconds = time.time() - started
    drain_deadline = time.monotonic() + config.drain_timeout
    while time.monotonic() < drain_deadline and (
        len(observer.seen_messages) < len(written) or len(observer.explained) < len(observer.seen_escalations)
    ):
        time.sleep(0.05)
    time.sleep(config.poll_interval * 3)
    observer.stop.set()
    poller.join()
    observer.poll()
    processed = [observer.seen_messages[e] for e in written if e in observer.seen_messages]
    finished = max(processed, default=started)
    score_ms = [
        (observer.seen_messages[e] - t) * 1000 for e, t in written.items() if e in observer.seen_messages
    ]
    escalation_ms, explained_ms = [], []
    for escalation_id, seen in observer.seen_escalations.items():
        source_event = observer.escalation_events.get(escalation_id)
        if source_event is not None and source_event in written:
            escalation_ms.append((seen - written[source_event]) * 1000)
            if escalation_id in observer.explained:
                explained_ms.append((observer.explained[escalation_id] - written[source_event]) * 1000)
    return {
        "messages": len(written),
        "concurrent_conversations": config.conversations,
        "conversation_length": config.conversation_length,
        "stressed_conversations": config.stressed_conversations,
        "offered_per_s": round(len(written) / write_seconds, 1),
        "processed_per_s": round(len(processed) / max(1e-9, finished - started), 1),
        "max_lag_events": max_lag,
        "score_p50_ms": percentile(score_ms, 50),
        "score_p95_ms": percentile(score_ms, 95),
        "escalations": len(observer.seen_escalations),
        "escalation_p50_ms": percentile(escalation_ms, 50),
        "escalation_p95_ms": percentile(escalation_ms, 95),
        "explained": len(observer.explained),
        "explanation_ready_p50_ms": percentile(explained_ms, 50),
        "explanation_ready_p95_ms": percentile(explained_ms, 95),
        "lost": len(written) - len(processed),
        "duplicated": observer.message_rows - len(observer.seen_messages),
        "worker_alive": worker.poll() is None,
    }
