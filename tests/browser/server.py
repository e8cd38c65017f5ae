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

from triage.migrate import upgrade

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


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class RunningApi:
    url: str
    db_url: str


@contextmanager
def running_api(tmp_dir: Path, rasa_url: str | None = None) -> Iterator[RunningApi]:
    """Start uvicorn with the app factory; stop it (and only it) afterwards."""
    db_url = f"sqlite:///{tmp_dir / 'clearline.db'}"
    upgrade(db_url)
    port = free_port()
    env = {
        **os.environ,
        "CLEARLINE_DATABASE_URL": db_url,
        "CLEARLINE_DEMO": "false",
        "CLEARLINE_SECRET_KEY": "browser-test-secret-key-0123456789",
        "CLEARLINE_RASA_TOKEN": "browser-test-rasa-token",
        "CLEARLINE_TRIAGE_TOKEN": "browser-test-triage-token",
        # nothing listens here unless a test passes a real Rasa: replies stay in the outbox
        "CLEARLINE_RASA_URL": rasa_url or f"http://127.0.0.1:{free_port()}",
        "CLEARLINE_COOKIE_SECURE": "false",
    }
    log = (tmp_dir / "api.log").open("w")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "api.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"api exited early: {(tmp_dir / 'api.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("api did not become ready in 60 s")
            time.sleep(0.2)
        yield RunningApi(url=url, db_url=db_url)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()
