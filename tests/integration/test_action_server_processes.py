"""The action server as `make run` starts it (the Procfile's command, the stack's environment): on
loopback only, and as several processes behind its one port when ``CLEARLINE_ACTIONS_WORKERS`` says so."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from api.benchmarks.stack_processes import start, stop
from api.stack import stack_env
from tests.listening import listening_addresses
from triage.benchmarks.processes import free_port
from triage.settings import CoreSettings

pytestmark = [pytest.mark.rasa, pytest.mark.slow]


def action_server_processes(group: int) -> list[int]:
    """The action server's Python processes in the process group (not a shell that started them: bash
    before 5.1 forks the last command of ``cd bot && ...`` instead of replacing itself with it)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
                shell = (entry / "comm").read_text().strip() in {"bash", "sh", "dash"}
                if os.getpgid(int(entry.name)) == group and b"run actions" in cmdline and not shell:
                    pids.append(int(entry.name))
            except (OSError, ProcessLookupError):
                continue  # ended meanwhile
    return pids


def test_the_action_server_listens_on_loopback_as_two_processes_when_asked(tmp_path: Path) -> None:
    port = free_port()
    env = stack_env(
        CoreSettings(demo=True, database_url=f"sqlite:///{tmp_path / 'c.db'}"),
        base={**os.environ, "CLEARLINE_ACTIONS_PORT": str(port), "CLEARLINE_ACTIONS_WORKERS": "2"},
    )
    env["CLEARLINE_PROVIDER_DB_URL"] = f"sqlite:///{tmp_path / 'provider.db'}"
    [actions] = start(["actions"], env, tmp_path)
    try:
        deadline = time.monotonic() + 120
        while True:
            assert actions.process.poll() is None, actions.log_tail()
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, actions.log_tail()
            time.sleep(0.5)
        assert listening_addresses(port) == {"127.0.0.1"}  # rasa_sdk's own default is 0.0.0.0
        # Sanic's main process and its two workers; with one worker it serves in its main process alone
        deadline = time.monotonic() + 30
        while len(action_server_processes(actions.process.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.5)
        assert len(action_server_processes(actions.process.pid)) == 3, actions.log_tail()
        names = httpx.get(f"http://127.0.0.1:{port}/actions", timeout=10).json()
        assert {"name": "action_session_start"} in names
    finally:
        stop([actions])
