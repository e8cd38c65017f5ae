"""Clearline spread over several processes for end-to-end tests: two Rasa servers, one action server, one
api and two workers, each started on its own on loopback the way the Procfile starts it.

Shared state only through the servers a deployment shares: Rasa's tracker store in a PostgreSQL database of
its own (both Rasa servers), Rasa's lock store in Redis, Rasa's events through RabbitMQ (a vhost of this
stack's own with `clearline broker setup`'s topology), Clearline's tables in a temporary PostgreSQL schema
(the api and both workers). The one-off steps (the committed Rasa model, migrations, provider and demo
data) are `clearline run`'s own (``api.stack.prepare``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg
import pytest

from api.stack import RASA_VENV, VENV_BIN, prepare
from tests.e2e.stack import ROOT, free_port
from tests.postgres import temporary_schema
from tests.rabbitmq import temporary_vhost
from triage.rabbitmq_setup import declare_topology
from triage.settings import DEMO_SECRET

START_TIMEOUT_S = 420
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PARTITIONS = 2
# Rasa's lock store: its keys carry the conversation id, which is new in every run
LOCK_STORE_URL = "redis://127.0.0.1:6379/1"


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path
    health_url: str

    def log_tail(self, chars: int = 3000) -> str:
        return self.log_path.read_text(errors="replace")[-chars:]


@dataclass
class ScaleOutStack:
    runtime: Path
    env: dict[str, str]
    rasa_urls: list[str]
    api_url: str
    worker_urls: list[str]
    services: dict[str, Service] = field(default_factory=dict)

    @property
    def token(self) -> str:
        return self.env.get("CLEARLINE_RASA_TOKEN", DEMO_SECRET)

    def kill(self, name: str) -> None:
        """SIGKILL, as a crash: no clean shutdown, no connection closed by the process itself."""
        service = self.services[name]
        os.killpg(service.process.pid, signal.SIGKILL)
        service.process.wait(timeout=30)

    def logs(self) -> str:
        return "\n".join(
            f"--- {name} ({service.log_path}) ---\n{service.log_tail(1500)}"
            for name, service in self.services.items()
        )


@contextmanager
def _tracker_database() -> Iterator[str]:
    """A new PostgreSQL database for Rasa's tracker store (its table is called `events`; a database of
    its own, as bot/endpoints.yml says), dropped afterwards."""
    name = f"clearline_e2e_scale_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _process(
    name: str, command: list[str], env: dict[str, str], cwd: Path, runtime: Path
) -> Iterator[Service]:
    log_path = runtime / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command, env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    service = Service(name, process, log_path, "")
    try:
        yield service
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _wait_healthy(services: list[Service], timeout_s: float) -> None:
    pending = {service.name: service for service in services}
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while pending:
            for name, service in list(pending.items()):
                if service.process.poll() is not None:
                    pytest.fail(f"{name} exited with {service.process.returncode}:\n{service.log_tail()}")
                try:
                    if client.get(service.health_url).status_code == 200:
                        del pending[name]
                except httpx.HTTPError:
                    pass
            if pending and time.monotonic() > deadline:
                tails = "\n".join(f"--- {n} ---\n{s.log_tail()}" for n, s in pending.items())
                pytest.fail(f"not healthy after {timeout_s:.0f} s: {', '.join(pending)}\n{tails}")
            time.sleep(1.0)


def _base_env(runtime: Path, database_url: str, tracker_url: str, rabbitmq_url: str) -> dict[str, str]:
    ports = {name: free_port() for name in ("rasa", "actions", "api")}
    return {
        **os.environ,
        "CLEARLINE_DEMO": "true",
        "CLEARLINE_DATABASE_URL": database_url,
        "CLEARLINE_RASA_TRACKER_URL": tracker_url,
        # Rasa publishes to RabbitMQ here; the SQL broker's database is only named, never written
        "CLEARLINE_EVENTS_URL": f"sqlite:///{runtime / 'rasa_events.db'}",
        "CLEARLINE_PROVIDER_DB_URL": f"sqlite:///{runtime / 'provider.db'}",
        "CLEARLINE_EVENT_BROKER": "rabbitmq",
        "CLEARLINE_EVENT_SOURCE": "rabbitmq",
        "CLEARLINE_RABBITMQ_URL": rabbitmq_url,
        "CLEARLINE_RABBITMQ_PARTITIONS": str(PARTITIONS),
        "CLEARLINE_RASA_LOCK_STORE_URL": LOCK_STORE_URL,
        # the api relays the outbox through server A: either would do, both read the one tracker store
        "CLEARLINE_RASA_PORT": str(ports["rasa"]),
        "CLEARLINE_RASA_URL": f"http://127.0.0.1:{ports['rasa']}",
        "CLEARLINE_ACTIONS_PORT": str(ports["actions"]),
        "CLEARLINE_ACTION_URL": f"http://127.0.0.1:{ports['actions']}/webhook",
        "CLEARLINE_API_PORT": str(ports["api"]),
        "CLEARLINE_API_URL": f"http://127.0.0.1:{ports['api']}",
        "CLEARLINE_VENV_BIN": str(VENV_BIN),
        "PYTHONUNBUFFERED": "1",
    }


@contextmanager
def running_scale_out_stack() -> Iterator[ScaleOutStack]:
    """Two Rasa servers (A on CLEARLINE_RASA_PORT, B on another port), actions, api and two workers; the
    first worker is started and leading before the second starts."""
    runtime = Path(tempfile.mkdtemp(prefix="clearline-e2e-scale-"))
    with ExitStack() as resources:
        database_url = resources.enter_context(temporary_schema("e2e_scale"))
        tracker_url = resources.enter_context(_tracker_database())
        rabbitmq_url = resources.enter_context(temporary_vhost("clearline-e2e-scale"))
        declare_topology(rabbitmq_url, PARTITIONS)
        env = _base_env(runtime, database_url, tracker_url, rabbitmq_url)
        prepare(env)
        rasa_ports = [int(env["CLEARLINE_RASA_PORT"]), free_port()]
        worker_ports = [free_port(), free_port()]
        stack = ScaleOutStack(
            runtime=runtime,
            env=env,
            rasa_urls=[f"http://127.0.0.1:{port}" for port in rasa_ports],
            api_url=env["CLEARLINE_API_URL"],
            worker_urls=[f"http://127.0.0.1:{port}" for port in worker_ports],
        )

        def start(name: str, command: list[str], health_url: str, cwd: Path = ROOT, **extra: str) -> Service:
            service = resources.enter_context(_process(name, command, {**env, **extra}, cwd, runtime))
            service.health_url = health_url
            stack.services[name] = service
            return service

        token = stack.token
        rasa_run = [str(RASA_VENV / "bin" / "python"), "bot/serve.py", "--interface", "127.0.0.1"]
        first = [
            start(
                "actions",
                [str(RASA_VENV / "bin" / "rasa"), "run", "actions", "--actions", "actions"]
                + ["--port", env["CLEARLINE_ACTIONS_PORT"]],
                f"http://127.0.0.1:{env['CLEARLINE_ACTIONS_PORT']}/health",
                cwd=ROOT / "bot",
            ),
            *[
                start(
                    f"rasa-{letter}",
                    [*rasa_run, "--port", str(port), "--model", "models"],
                    f"{url}/status?token={token}",
                )
                for letter, port, url in zip("ab", rasa_ports, stack.rasa_urls, strict=True)
            ],
            start(
                "api",
                [str(VENV_BIN / "uvicorn"), "api.app:create_app", "--factory", "--host", "127.0.0.1"]
                + ["--port", env["CLEARLINE_API_PORT"]],
                f"{stack.api_url}/readyz",
            ),
        ]
        try:
            worker = [str(VENV_BIN / "clearline"), "worker"]
            # one after the other, so that the test knows which worker leads when it kills one
            start(
                "worker-1",
                worker,
                f"{stack.worker_urls[0]}/readyz",
                CLEARLINE_WORKER_PORT=str(worker_ports[0]),
            )
            _wait_healthy([*first, stack.services["worker-1"]], START_TIMEOUT_S)
            _wait_leading(stack, 0, timeout_s=60)
            start(
                "worker-2",
                worker,
                f"{stack.worker_urls[1]}/readyz",
                CLEARLINE_WORKER_PORT=str(worker_ports[1]),
            )
            _wait_healthy([stack.services["worker-2"]], START_TIMEOUT_S)
            yield stack
        finally:
            print(f"scale-out stack logs: {runtime}")


def worker_metric(worker_url: str, name: str) -> float | None:
    """One unlabelled metric of the worker's /metrics (e.g. ``clearline_worker_leader``, 1 while it
    leads), None when the worker does not answer."""
    try:
        metrics = httpx.get(f"{worker_url}/metrics", timeout=2.0).text
    except httpx.HTTPError:
        return None
    for line in metrics.splitlines():
        if line.startswith(f"{name} "):
            return float(line.rsplit(" ", 1)[1])
    return None


def leader_gauge(worker_url: str) -> float | None:
    return worker_metric(worker_url, "clearline_worker_leader")


def _wait_leading(stack: ScaleOutStack, index: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while leader_gauge(stack.worker_urls[index]) != 1.0:
        if time.monotonic() > deadline:
            pytest.fail(f"worker-{index + 1} did not lead within {timeout_s} s:\n{stack.logs()}")
        time.sleep(0.5)
