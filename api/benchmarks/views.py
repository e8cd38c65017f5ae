"""``clearline bench api``: seed N conversations, start the real api (uvicorn, own process) on
loopback and time the supervisor's views through HTTP: the list (with filters), a conversation's
detail, the queues, the figures and the audit feed. Prints p95 per view, in milliseconds."""

from __future__ import annotations

import os
import random
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select, text

from api.benchmarks.seed import PASSWORD, SUPERVISOR, seed
from triage.benchmarks.processes import free_port, wait_until_answers
from triage.storage.db import AuditRecord, Escalation, Feedback, Message, make_engine
from triage.storage.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
LIST_FILTERS: list[dict[str, Any]] = [
    {},
    {"state": "queued"},
    {"state": "resolved"},
    {"queue": "refunds"},
    {"flagged": "true"},
    {"priority_min": 80},
    {"stress_min": 0.8},
    {"feedback": "wrong"},
    {"offset": 500},
]


@dataclass
class ViewsBenchConfig:
    conversations: int = 100_000
    database_url: str | None = None
    requests: int = 40
    seed: int = 7
    startup_timeout: float = 120.0


def p95(samples: list[float]) -> float:
    """The 95th percentile (nearest rank) in milliseconds, rounded to 0.1."""
    ordered = sorted(samples)
    rank = max(1, -(-95 * len(ordered) // 100))  # ceil(0.95 * n)
    return round(ordered[rank - 1] * 1000, 1)


def _seed(url: str, config: ViewsBenchConfig) -> tuple[dict[str, int], list[str], float]:
    started = time.perf_counter()
    upgrade(url)
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            seeded = seed(conn, config.conversations, seed=config.seed)
        if engine.dialect.name == "postgresql":  # explicit ids were inserted: move the sequences on
            with engine.begin() as conn:
                for model in (Message, Escalation, Feedback, AuditRecord):
                    newest = select(func.max(model.id)).scalar_subquery()
                    sequence = func.pg_get_serial_sequence(model.__tablename__, "id")
                    conn.execute(select(func.setval(sequence, newest)))
            # what autovacuum does to a live database: statistics, and the visibility map that lets
            # the figures read their covering index alone
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE"))
    finally:
        engine.dispose()
    counts = {
        "conversations": seeded.conversations,
        "messages": seeded.messages,
        "escalations": seeded.escalations,
        "feedback": seeded.feedback,
        "audit_records": seeded.audit,
    }
    return counts, seeded.ids, time.perf_counter() - started


def _start_api(url: str, port: int, timeout: float) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "CLEARLINE_DATABASE_URL": url,
        "CLEARLINE_DEMO": "false",
        "CLEARLINE_SECRET_KEY": secrets.token_hex(16),
        "CLEARLINE_PII_KEY": secrets.token_hex(16),
        "CLEARLINE_RASA_TOKEN": secrets.token_hex(16),
        "CLEARLINE_TRIAGE_TOKEN": secrets.token_hex(16),
    }
    command = [sys.executable, "-m", "uvicorn", "api.app:create_app", "--factory"]
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [*command, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    error = wait_until_answers(process, f"http://127.0.0.1:{port}/healthz", timeout, "the api")
    if error is None:
        return process
    process.terminate()
    raise RuntimeError(error)


def _cpu_seconds(pid: int) -> float | None:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def _wait_until_idle(pid: int, timeout: float = 60.0) -> None:
    """Wait until the api has finished warming up (its start-up imports presidio in a thread), so the
    first views are not timed against that: less than 50 ms of CPU in a second, or the timeout."""
    deadline = time.monotonic() + timeout
    before = _cpu_seconds(pid)
    while before is not None and time.monotonic() < deadline:
        time.sleep(1.0)
        now = _cpu_seconds(pid)
        if now is None or now - before < 0.05:
            return
        before = now


def _time(client: httpx.Client, requests: int, make_request: Callable[[int], httpx.Request]) -> list[float]:
    samples = []
    for i in range(requests):
        request = make_request(i)
        started = time.perf_counter()
        response = client.send(request)
        samples.append(time.perf_counter() - started)
        if response.status_code != 200:
            raise RuntimeError(
                f"{request.method} {request.url} answered {response.status_code}: {response.text[:200]}"
            )
    return samples


def measure(base: str, ids: list[str], requests: int, rng: random.Random) -> dict[str, float]:
    with httpx.Client(base_url=base, timeout=60) as client:
        token = client.post("/api/v1/auth/token", json={"username": SUPERVISOR, "password": PASSWORD})
        token.raise_for_status()
        client.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        last_audit = client.get("/api/v1/audit", params={"limit": 1, "newest": "true"}).json()
        newest = last_audit[0]["id"] if last_audit else 0
        views: dict[str, Callable[[int], httpx.Request]] = {
            "list": lambda i: client.build_request(
                "GET", "/api/v1/conversations", params={"limit": 50, **LIST_FILTERS[i % len(LIST_FILTERS)]}
            ),
            "detail": lambda i: client.build_request("GET", f"/api/v1/conversations/{rng.choice(ids)}"),
            "queues": lambda i: client.build_request("GET", "/api/v1/queues"),
            "figures": lambda i: client.build_request("GET", "/api/v1/metrics", params={"window_hours": 24}),
            "figures_7d": lambda i: client.build_request(
                "GET", "/api/v1/metrics", params={"window_hours": 168}
            ),
            "audit": lambda i: client.build_request(
                "GET",
                "/api/v1/audit",
                params={"after": max(0, newest - rng.randint(0, 200_000)), "limit": 200},
            ),
        }
        for make_request in views.values():  # warm-up: imports, connection pool, caches
            client.send(make_request(0))
        return {f"{name}_p95_ms": p95(_time(client, requests, fn)) for name, fn in views.items()}


def _transcript_views(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            query = select(func.count()).where(AuditRecord.action == "transcript_view")
            return int(conn.scalar(query) or 0)
    finally:
        engine.dispose()


def run_views_bench(config: ViewsBenchConfig) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="clearline-bench-api-") as tmp:
        url = config.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        counts, ids, seed_s = _seed(url, config)
        port = free_port()
        process = _start_api(url, port, config.startup_timeout)
        _wait_until_idle(process.pid)
        try:
            rng = random.Random(config.seed)  # noqa: S311 - which ids to ask for, not security
            timings = measure(f"http://127.0.0.1:{port}", ids, config.requests, rng)
        finally:
            process.terminate()
            process.wait(timeout=30)
        views = _transcript_views(url)
    dialect = "postgresql" if url.startswith("postgresql") else "sqlite"
    figures: dict[str, Any] = {"database": dialect, **counts, "seed_s": round(seed_s, 1), **timings}
    figures["requests_per_view"] = config.requests
    # opening a conversation's detail is audited (docs/privacy.md): the detail view's timings include that
    # write, and the audit table holds these records beyond the seeded ones
    figures["transcript_views_logged"] = views
    figures["slowest_p95_ms"] = max(v for k, v in timings.items() if k.endswith("_p95_ms"))
    figures["median_of_p95_ms"] = statistics.median(v for k, v in timings.items() if k.endswith("_p95_ms"))
    return figures
