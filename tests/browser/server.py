"""A real api process (uvicorn) on a free loopback port, with a migrated SQLite database in a tmp dir."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from triage.storage.migrate import upgrade

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


RASA_TOKEN = "browser-test-rasa-token"  # noqa: S105
TRIAGE_TOKEN = "browser-test-triage-token"  # noqa: S105


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class RunningApi:
    url: str
    db_url: str


@contextmanager
def serving(
    name: str,
    command: list[str],
    env: dict[str, str],
    log_path: Path,
    ready_url: str,
    timeout_s: float,
    cwd: Path = ROOT,
) -> Iterator[None]:
    """Run ``command`` until ``ready_url`` answers 200; stop that process (and only it) afterwards."""
    with log_path.open("w") as log:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + timeout_s
            while not _answers(ready_url):
                if process.poll() is not None:
                    raise RuntimeError(f"{name} exited early: {log_path.read_text()[-2000:]}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{name} did not become ready in {timeout_s:.0f} s")
                time.sleep(0.5)
            yield
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def running_api(
    tmp_dir: Path,
    rasa_url: str | None = None,
    rasa_token: str = RASA_TOKEN,
    provider_db_url: str | None = None,
    port: int | None = None,
) -> Iterator[RunningApi]:
    """Start uvicorn with the app factory and a migrated SQLite database in ``tmp_dir``; the provider's
    records (the customer panel) at ``provider_db_url``, else a file that is not there (unavailable)."""
    db_url = f"sqlite:///{tmp_dir / 'clearline.db'}"
    upgrade(db_url)
    port = port or free_port()
    env = {
        **os.environ,
        "CLEARLINE_DATABASE_URL": db_url,
        "CLEARLINE_DEMO": "false",
        "CLEARLINE_SECRET_KEY": "browser-test-secret-key-0123456789",
        "CLEARLINE_PII_KEY": "browser-test-pii-key-0123456789",
        "CLEARLINE_RASA_TOKEN": rasa_token,
        "CLEARLINE_TRIAGE_TOKEN": TRIAGE_TOKEN,
        # nothing listens here unless a test passes a real Rasa: replies stay in the outbox
        "CLEARLINE_RASA_URL": rasa_url or f"http://127.0.0.1:{free_port()}",
        "CLEARLINE_COOKIE_SECURE": "false",
        # Rasa's stores (an admin's export and erasure read them): this test's, never data/runtime's
        "CLEARLINE_RASA_TRACKER_URL": f"sqlite:///{tmp_dir / 'rasa_tracker.db'}",
        "CLEARLINE_EVENTS_URL": f"sqlite:///{tmp_dir / 'rasa_events.db'}",
        # the provider's records: this test's, never data/runtime's
        "CLEARLINE_PROVIDER_DB_URL": provider_db_url or f"sqlite:///{tmp_dir / 'missing' / 'provider.db'}",
    }
    url = f"http://127.0.0.1:{port}"
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "api.app:create_app",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    with serving("api", command, env, tmp_dir / "api.log", f"{url}/readyz", timeout_s=60):
        yield RunningApi(url=url, db_url=db_url)


@contextmanager
def running_rasa(tmp_dir: Path, api_url: str | None = None) -> Iterator[str]:
    """The real Rasa server (bot/serve.py, .venv-rasa, the trained model) with its stores in tmp_dir, and
    its action server (Rasa runs the custom action_session_start there when a conversation starts), which
    calls Clearline's api at ``api_url`` (hand-offs, ratings) when given."""
    python = ROOT / ".venv-rasa" / "bin" / "python"
    if not python.exists() or not list((ROOT / "bot" / "models").glob("*.tar.gz")):
        raise RuntimeError("needs .venv-rasa and a trained model in bot/models (make test builds both)")
    port, actions_port = free_port(), free_port()
    env = {
        **os.environ,
        "CLEARLINE_DEMO": "true",
        "CLEARLINE_RASA_TOKEN": RASA_TOKEN,
        "CLEARLINE_RASA_TRACKER_URL": f"sqlite:///{tmp_dir / 'tracker.db'}",
        "CLEARLINE_EVENTS_URL": f"sqlite:///{tmp_dir / 'events.db'}",
        "CLEARLINE_ACTION_URL": f"http://127.0.0.1:{actions_port}/webhook",
        # no provider database: the session starts unidentified, as when the provider is down
        "CLEARLINE_PROVIDER_DB_URL": f"sqlite:///{tmp_dir / 'missing' / 'provider.db'}",
    }
    if api_url:
        env |= {"CLEARLINE_API_URL": api_url, "CLEARLINE_TRIAGE_TOKEN": TRIAGE_TOKEN}
    url = f"http://127.0.0.1:{port}"
    actions = [str(ROOT / ".venv-rasa" / "bin" / "rasa"), "run", "actions", "--actions", "actions"]
    command = [str(python), "bot/serve.py", "--port", str(port), "--interface", "127.0.0.1"]
    with (
        serving(
            "actions",
            [*actions, "--port", str(actions_port)],
            env,
            tmp_dir / "actions.log",
            f"http://127.0.0.1:{actions_port}/health",
            timeout_s=120,
            cwd=ROOT / "bot",
        ),
        # TensorFlow import and model load take about a minute on an idle machine
        serving(
            "rasa", command, env, tmp_dir / "rasa.log", f"{url}/status?token={RASA_TOKEN}", timeout_s=300
        ),
    ):
        yield url
