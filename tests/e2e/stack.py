"""The stack for end-to-end tests, started the way `make run` starts it, and a socket.io customer.

Real processes on loopback (rasa, actions, api, worker started by `clearline run` through honcho), a
real socket.io client as the customer. The runtime databases live in a temporary folder so the
developer's own demo data is untouched.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import socketio

ROOT = Path(__file__).resolve().parents[2]
CLEARLINE = Path(sys.executable).parent / "clearline"
START_TIMEOUT_S = 420


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    proc: subprocess.Popen[str]
    env: dict[str, str]
    runtime: Path
    output: list[str] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.env['CLEARLINE_API_PORT']}"

    @property
    def rasa(self) -> str:
        return f"http://127.0.0.1:{self.env['CLEARLINE_RASA_PORT']}"

    def log_tail(self, n: int = 80) -> str:
        return "".join(self.output[-n:])


def _pump(stack: Stack, ready: threading.Event) -> None:
    assert stack.proc.stdout is not None
    for line in stack.proc.stdout:
        stack.output.append(line)
        if "Clearline is running (" in line:
            ready.set()


@contextmanager
def running_stack(overrides: Callable[[Path], dict[str, str]] | None = None) -> Iterator[Stack]:
    """`clearline run` on free ports with its databases in a new temporary folder (or as ``overrides``
    of that folder says), until Ctrl-C at the end."""
    # Not under pytest's basetemp: other test runs prune it, and the log must survive a failure.
    runtime = Path(tempfile.mkdtemp(prefix="clearline-e2e-"))
    env = {
        **os.environ,
        "CLEARLINE_DEMO": "true",
        "CLEARLINE_API_PORT": str(free_port()),
        "CLEARLINE_WORKER_PORT": str(free_port()),
        "CLEARLINE_RASA_PORT": str(free_port()),
        "CLEARLINE_ACTIONS_PORT": str(free_port()),
        "CLEARLINE_DATABASE_URL": f"sqlite:///{runtime / 'clearline.db'}",
        "CLEARLINE_EVENTS_URL": f"sqlite:///{runtime / 'rasa_events.db'}",
        "CLEARLINE_RASA_TRACKER_URL": f"sqlite:///{runtime / 'rasa_tracker.db'}",
        "CLEARLINE_PROVIDER_DB_URL": f"sqlite:///{runtime / 'provider.db'}",
        **(overrides(runtime) if overrides else {}),
    }
    proc = subprocess.Popen(
        [str(CLEARLINE), "run", "--health-timeout", str(START_TIMEOUT_S)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    stack = Stack(proc, env, runtime)
    ready = threading.Event()
    threading.Thread(target=_pump, args=(stack, ready), daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_S + 120
    while not ready.wait(1.0):
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL) if proc.poll() is None else None
            pytest.fail(f"the stack did not start:\n{stack.log_tail()}")
    try:
        yield stack
    finally:
        # Ctrl-C, as a person would: everything must stop cleanly.
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"the stack did not stop within 60 s of Ctrl-C:\n{stack.log_tail()}")
        finally:
            (runtime / "stack.log").write_text("".join(stack.output))
            print(f"stack log: {runtime / 'stack.log'}")


class Customer:
    """A socket.io customer, as the web widget talks to Rasa."""

    def __init__(self, rasa_url: str, session_id: str | None = None) -> None:
        self.url = rasa_url
        self.session_id = session_id or f"e2e-{uuid.uuid4().hex[:12]}"
        self.sio = socketio.AsyncClient(reconnection=False)
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.history: list[str] = []  # every bot message, in order
        self.sio.on("bot_uttered", self._on_bot)

    async def _on_bot(self, data: dict[str, Any]) -> None:
        self.history.append(str(data.get("text", "")))
        await self.inbox.put(data)

    async def connect(self) -> None:
        confirmed = asyncio.Event()
        self.sio.on("session_confirm", lambda *_: confirmed.set())
        await self.sio.connect(self.url, transports=["websocket"], socketio_path="/socket.io")
        await self.sio.emit("session_request", {"session_id": self.session_id})
        await asyncio.wait_for(confirmed.wait(), 20)

    async def say(self, text: str) -> None:
        await self.sio.emit("user_uttered", {"message": text, "session_id": self.session_id})

    async def replies(self, quiet_s: float = 3.0, first_timeout_s: float = 30.0) -> list[str]:
        """Every bot message until the bot has been quiet for ``quiet_s`` seconds."""
        texts: list[str] = []
        timeout = first_timeout_s
        while True:
            try:
                data = await asyncio.wait_for(self.inbox.get(), timeout)
            except TimeoutError:
                return texts
            texts.append(str(data.get("text", "")))
            timeout = quiet_s

    async def wait_for(self, needle: str, timeout_s: float, since: int | None = None) -> list[str]:
        """Wait for a bot message containing ``needle``; with ``since``, one already received after
        that point in the history counts too."""
        if since is not None:
            earlier = [text for text in self.history[since:] if needle.lower() in text.lower()]
            if earlier:
                return earlier
        seen: list[str] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                data = await asyncio.wait_for(self.inbox.get(), max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                break
            seen.append(str(data.get("text", "")))
            if needle.lower() in seen[-1].lower():
                return seen
        raise AssertionError(f"no bot message containing {needle!r} within {timeout_s} s; saw {seen}")


async def poll(fn: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await fn()
        if value:
            return value
        await asyncio.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")
