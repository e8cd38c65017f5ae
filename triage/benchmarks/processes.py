"""What the benchmarks need to run a server process of ours on loopback: a free port, and a wait until
it answers its health check (or says why not)."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_answers(process: subprocess.Popen[bytes], url: str, timeout: float, name: str) -> str | None:
    """None once ``url`` answers 200; else why not (the process exited, or the timeout passed)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return f"{name} exited with {process.returncode} before it was ready"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return None
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return f"{name} not ready after {timeout:.0f} s"
