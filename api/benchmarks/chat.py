"""``clearline bench chat``: customers talking to the real stack through Rasa's REST channel, closed loop.

Each of ``concurrency`` customers sends a message, waits for the bot's reply, sends the next (conversations
of 1-8 messages from chat_scripts.py: FAQ questions, the provider's flows, requests for a person, some
angry), and starts a new conversation when one ends. After a warm-up the bench measures for ``duration``
seconds: throughput, reply latency, how long after the customer's message an escalation is visible in
Clearline's database, and each process's CPU per message.

The bench starts the stack itself (the Procfile's processes, prepared as `make run` does, on temporary
SQLite databases and free ports) and measures, in the same run, baselines with fewer parts: Rasa and its
action server alone (no Clearline api or worker), and, with ``--stock``, that Rasa without Clearline's
changes to it (CLEARLINE_RASA_PATCHES=off). ``--rasa-url`` instead drives a stack that is already running
(then the only CPU figures are the bench's own and those of the machine it runs on).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from api.benchmarks.chat_scripts import conversation
from api.benchmarks.stack_processes import (
    StartedProcess,
    group_cpu_seconds,
    machine_cpu_seconds,
    start,
    stop,
)
from triage.benchmarks.pipeline import percentile
from triage.benchmarks.processes import free_port, wait_until_answers
from triage.settings import CoreSettings
from triage.storage.db import Escalation, Message, make_engine, make_session_factory

ALL_PROCESSES = ["rasa", "actions", "api", "worker"]
RASA_ALONE = ["rasa", "actions"]
BENCH_CLIENT = "bench_client"


@dataclass
class ChatBenchConfig:
    concurrency: int = 16
    duration: float = 30.0
    warmup: float = 8.0
    angry_share: float = 0.1
    human_share: float = 0.1
    seed: int = 7
    baseline: bool = True  # also measure Rasa and the action server alone
    stock: bool = False  # also measure them without Clearline's patches to Rasa
    patches: bool = True  # Clearline's patches to Rasa in the main measurement (off: a before/after)
    rasa_workers: int = 1  # Rasa processes behind the one port (> 1 needs lock_store_url)
    lock_store_url: str | None = None  # redis://host:port/db for Rasa's lock store
    actions_workers: int = 1  # action server processes behind its one port
    rasa_url: str | None = None  # drive a running stack instead of starting one
    database_url: str | None = None  # that stack's Clearline database (for the escalation figure)


@dataclass
class LoadResult:
    latencies_ms: list[float] = field(default_factory=list)
    # the same latencies by what the message was: "first" (a conversation's first message: Rasa starts a
    # session, the action server identifies the sender) or "later", and by the conversation's kind
    by_step: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0
    empty_replies: int = 0
    conversations: dict[str, int] = field(default_factory=dict)
    last_sent: dict[str, float] = field(default_factory=dict)  # sender -> wall time of its last message


async def drive(
    rasa_url: str,
    config: ChatBenchConfig,
    result: LoadResult,
    on_measure_start: Callable[[], None] = lambda: None,
) -> float:
    """Run the closed loop into ``result``: warm-up, then ``duration`` measured seconds (returned)."""
    rng = random.Random(config.seed)  # noqa: S311 - shapes the load, nothing secret
    loop_start = time.perf_counter()
    measure_from = loop_start + config.warmup
    deadline = measure_from + config.duration
    url = f"{rasa_url.rstrip('/')}/webhooks/rest/webhook"

    async def customer(client: httpx.AsyncClient, own: random.Random) -> None:
        while time.perf_counter() < deadline:
            script = conversation(own, config.angry_share, config.human_share)
            sender = f"bench-{script.kind}-{uuid.UUID(int=own.getrandbits(128)).hex[:12]}"
            if time.perf_counter() >= measure_from:
                result.conversations[script.kind] = result.conversations.get(script.kind, 0) + 1
            for position, text in enumerate(script.messages):
                sent = time.perf_counter()
                if sent >= deadline:
                    return
                result.last_sent[sender] = time.time()
                try:
                    response = await client.post(url, json={"sender": sender, "message": text})
                    failed = response.status_code != 200
                    empty = not failed and not response.json()
                except (httpx.HTTPError, ValueError):
                    failed, empty = True, False
                if sent >= measure_from:
                    took = (time.perf_counter() - sent) * 1000
                    result.latencies_ms.append(took)
                    # "empty": no answer (the bot is paused for a person), "failed", "answered": the others
                    outcome = "failed" if failed else "empty" if empty else "answered"
                    steps = ("later" if position else "first", script.kind, outcome)
                    for step in steps:
                        result.by_step.setdefault(step, []).append(took)
                    result.errors += failed
                    result.empty_replies += empty

    async def mark_measure_start() -> None:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        on_measure_start()

    limits = httpx.Limits(max_connections=config.concurrency + 4)
    async with httpx.AsyncClient(timeout=60.0, limits=limits) as client:
        own_rngs = [random.Random(rng.getrandbits(64)) for _ in range(config.concurrency)]  # noqa: S311
        customers = [customer(client, own) for own in own_rngs]
        await asyncio.gather(mark_measure_start(), *customers)
    return min(time.perf_counter(), deadline) - measure_from


class EscalationWatch(threading.Thread):
    """Polls Clearline's database and notes, for each new escalation, how long after the customer's
    message it became visible (from the message's event time, else the bench's last send to it)."""

    def __init__(self, database_url: str, last_sent: dict[str, float], interval: float = 0.05) -> None:
        super().__init__(daemon=True)
        self.factory = make_session_factory(make_engine(database_url))
        self.last_sent = last_sent
        self.interval = interval
        self.after_message_ms: list[float] = []
        self.measure_from = float("inf")  # wall time; escalations of messages before it are not counted
        self.halt = threading.Event()
        self._last_id = 0

    def poll(self) -> None:
        seen = time.time()
        with self.factory() as session:
            rows = session.execute(
                select(Escalation.id, Escalation.conversation_id, Message.event_at)
                .outerjoin(
                    Message,
                    (Message.source_event_id == Escalation.source_event_id)
                    & (Message.conversation_id == Escalation.conversation_id),
                )
                .where(Escalation.id > self._last_id)
                .order_by(Escalation.id)
            ).all()
        for escalation_id, conversation_id, event_at in rows:
            self._last_id = max(self._last_id, escalation_id)
            sent = (
                event_at.replace(tzinfo=UTC).timestamp() if event_at else self.last_sent.get(conversation_id)
            )
            if sent is not None and sent >= self.measure_from:
                self.after_message_ms.append((seen - sent) * 1000)

    def run(self) -> None:
        while not self.halt.is_set():
            self.poll()
            self.halt.wait(self.interval)


def figures_of(
    result: LoadResult,
    measured_s: float,
    escalations: list[float] | None,
    cpu: dict[str, float],
    machine: dict[str, float] | None = None,
    window_s: float | None = None,
) -> dict[str, Any]:
    """``cpu`` and ``machine`` are CPU seconds read over ``window_s`` wall seconds (default ``measured_s``):
    from the start of the measurement until the last reply of a message sent before its end."""
    window = window_s or measured_s
    messages = len(result.latencies_ms)
    figures: dict[str, Any] = {
        "messages": messages,
        "errors": result.errors,
        "empty_replies": result.empty_replies,
        "measured_s": round(measured_s, 1),
        "messages_per_s": round(messages / measured_s, 2) if measured_s > 0 else None,
        "reply_p50_ms": percentile(result.latencies_ms, 50),
        "reply_p95_ms": percentile(result.latencies_ms, 95),
        "reply_max_ms": round(max(result.latencies_ms), 1) if result.latencies_ms else None,
        "conversations": dict(sorted(result.conversations.items())),
        # where the tail is: p50/p95 and count of first and later messages, and of each conversation kind
        "reply_ms_by_step": {
            step: {"p50": percentile(took, 50), "p95": percentile(took, 95), "messages": len(took)}
            for step, took in sorted(result.by_step.items())
        },
    }
    if escalations is not None:
        figures["escalations"] = len(escalations)
        figures["escalation_after_message_p50_ms"] = percentile(escalations, 50)
        figures["escalation_after_message_p95_ms"] = percentile(escalations, 95)
    if cpu:
        figures["cpu_ms_per_message"] = {
            name: round(seconds * 1000 / messages, 1) if messages else None for name, seconds in cpu.items()
        }
        figures["cpu_cores_busy"] = {name: round(seconds / window, 2) for name, seconds in cpu.items()}
    if machine and window > 0:
        # the whole machine over the same seconds: what the processes above leave, and what the VM's host took
        figures["machine_cores"] = {name: round(seconds / window, 2) for name, seconds in machine.items()}
    return figures


def run_chat_bench(config: ChatBenchConfig, log: Callable[[str], None] = print) -> dict[str, Any]:
    header: dict[str, Any] = {
        "concurrency": config.concurrency,
        "duration_s": config.duration,
        "warmup_s": config.warmup,
        "cores": os.cpu_count(),
    }
    if config.rasa_url:  # a running stack: no processes of ours to time
        return {**header, **_measure(config, config.rasa_url, [], config.database_url)}
    log("bench chat: Clearline (rasa, actions, api, worker)")
    figures = {
        **header,
        "rasa_patches": config.patches,
        "rasa_workers": config.rasa_workers,
        "actions_workers": config.actions_workers,
    }
    figures.update(_started(config, ALL_PROCESSES, patches=config.patches))
    if config.baseline:
        log("bench chat: baseline, Rasa and the action server alone")
        figures["baseline_rasa_alone"] = _started(config, RASA_ALONE, patches=config.patches)
    if config.stock:
        log("bench chat: baseline, stock Rasa (without Clearline's patches) and the action server")
        figures["baseline_stock_rasa"] = _started(config, RASA_ALONE, patches=False)
    return figures


@contextmanager
def output_to_stderr() -> Iterator[None]:
    """Send this process's and its children's standard output to stderr (--json keeps stdout clean)."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def bench_env(runtime: Path, config: ChatBenchConfig, patches: bool) -> dict[str, str]:
    """The stack's environment for one measurement: every database in ``runtime`` (a fresh folder), free
    ports, the SQL event broker (the default stack; a RabbitMQ set in the caller's environment would be
    shared with whatever else uses it). No database of a measurement outlives it: a tracker store kept
    from an earlier run would continue that run's conversations (the same seed gives the same customers)."""
    from api.stack import stack_env  # noqa: PLC0415 - the CLI's import stays light

    ports = {f"CLEARLINE_{name.upper()}_PORT": str(free_port()) for name in ALL_PROCESSES}
    base = {
        **os.environ,
        **ports,
        "CLEARLINE_DEMO": "true",
        "CLEARLINE_EVENT_BROKER": "sql",
        "CLEARLINE_PROVIDER_DB_URL": f"sqlite:///{runtime / 'provider.db'}",
        "CLEARLINE_RASA_PATCHES": "on" if patches else "off",
        # stock Rasa interleaves every message (bot/message_slots.py); else the caller's setting or default
        **({} if patches else {"CLEARLINE_RASA_MESSAGE_SLOTS": "0"}),
        "CLEARLINE_RASA_WORKERS": str(config.rasa_workers),
        "CLEARLINE_ACTIONS_WORKERS": str(config.actions_workers),
        **({"CLEARLINE_RASA_LOCK_STORE_URL": config.lock_store_url} if config.lock_store_url else {}),
    }
    settings = CoreSettings(
        database_url=f"sqlite:///{runtime / 'clearline.db'}",
        events_url=f"sqlite:///{runtime / 'rasa_events.db'}",
        rasa_tracker_url=f"sqlite:///{runtime / 'rasa_tracker.db'}",
        demo=True,
    )
    return stack_env(settings, base)


def _started(config: ChatBenchConfig, names: list[str], patches: bool) -> dict[str, Any]:
    from api.stack import prepare, services  # noqa: PLC0415 - the CLI's import stays light

    with tempfile.TemporaryDirectory(prefix="clearline-bench-chat-") as folder:
        runtime = Path(folder)
        env = bench_env(runtime, config, patches)
        with output_to_stderr():
            prepare(env)
        processes = start(names, env, runtime)
        try:
            health = {service.name: service.health_url for service in services(env)}
            for started in processes:
                problem = wait_until_answers(started.process, health[started.name], 300, started.name)
                if problem:
                    raise RuntimeError(f"{problem}\n{started.log_tail()}")
            rasa_url = f"http://127.0.0.1:{env['CLEARLINE_RASA_PORT']}"
            database_url = env["CLEARLINE_DATABASE_URL"]
            return _measure(config, rasa_url, processes, database_url if "worker" in names else None)
        finally:
            stop(processes)


def _measure(
    config: ChatBenchConfig, rasa_url: str, processes: list[StartedProcess], database_url: str | None
) -> dict[str, Any]:
    """Drive Rasa; time escalations when Clearline's database is given, CPU of the processes given."""
    result = LoadResult()
    watch = EscalationWatch(database_url, result.last_sent) if database_url else None
    before: dict[str, float] = {}
    machine_before: dict[str, float] = {}
    window_start: list[float] = []

    def measuring() -> None:
        # the bench's own process: its customers' HTTP client and the escalation watch share the cores
        before[BENCH_CLIENT] = time.process_time()
        before.update({started.name: group_cpu_seconds(started.process.pid) for started in processes})
        machine_before.update(machine_cpu_seconds())
        window_start.append(time.perf_counter())
        if watch:
            watch.measure_from = time.time()

    if watch:
        watch.start()
    try:
        measured = asyncio.run(drive(rasa_url, config, result, measuring))
        # read in the reverse order of the start, so that each reading's own cost stays out of the others
        window = time.perf_counter() - window_start[0]
        machine = {name: seconds - machine_before[name] for name, seconds in machine_cpu_seconds().items()}
        cpu = {s.name: group_cpu_seconds(s.process.pid) - before.get(s.name, 0.0) for s in processes}
        cpu[BENCH_CLIENT] = time.process_time() - before[BENCH_CLIENT]
        for started in processes:
            if started.process.poll() is not None:
                raise RuntimeError(f"{started.name} exited during the bench\n{started.log_tail()}")
    finally:
        if watch:
            time.sleep(1.5)  # let the worker catch up with the last messages
            watch.halt.set()
            watch.join()
    return figures_of(result, measured, watch.after_message_ms if watch else None, cpu, machine, window)
