"""Leadership across real processes: SIGKILL the leader, and the server hands its lock to the other."""

from __future__ import annotations

import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator

import pytest

from tests.postgres import temporary_schema
from triage.settings import ROOT

RETRY_INTERVAL = 0.3

# A process that runs the election as a worker does, and prints each change of its leadership.
CONTENDER = f"""
import sys, time
from triage.worker.leader import AdvisoryLock, LeaderElection
election = LeaderElection(AdvisoryLock(sys.argv[1]), check_interval=0.2, retry_interval={RETRY_INTERVAL})
leading = None
while True:
    if election.check() != leading:
        leading = election.leading
        print("state:", "leading" if leading else "following", flush=True)
    time.sleep(election.interval())
"""


class Contender:
    def __init__(self, url: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", CONTENDER, url], cwd=ROOT, stdout=subprocess.PIPE, text=True
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:  # the election's own log lines go to stdout too
            if line.startswith("state: "):
                self.lines.put(line.removeprefix("state: ").strip())

    def next_state(self, timeout: float) -> str | None:
        try:
            return self.lines.get(timeout=timeout)
        except queue.Empty:
            return None

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)


@pytest.fixture
def contenders() -> Iterator[list[Contender]]:
    started: list[Contender] = []
    yield started
    for contender in started:
        if contender.process.poll() is None:
            contender.kill()


def test_a_killed_leader_process_is_replaced_within_the_retry_interval(contenders):
    with temporary_schema("leaderproc") as url:
        holder = Contender(url)
        contenders.append(holder)
        assert holder.next_state(timeout=60) == "leading"
        waiting = Contender(url)
        contenders.append(waiting)
        assert waiting.next_state(timeout=60) == "following"
        assert waiting.next_state(timeout=1.0) is None  # it keeps trying, and the holder keeps the lock
        holder.kill()  # no clean-up runs: only the closed connection tells the server
        killed = time.monotonic()
        assert waiting.next_state(timeout=10) == "leading"
        assert time.monotonic() - killed < RETRY_INTERVAL + 2.0
