"""Several worker processes for the scaled benchmark and the scale-out test: started, killed with
SIGKILL and replaced at once, their CPU time (from /proc) and the events each one consumed (its /metrics)."""

from __future__ import annotations

import os
import random
import signal
import subprocess
from pathlib import Path

import httpx

from triage.benchmarks.processes import free_port, wait_until_answers

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def _process_cpu_seconds(pid: int) -> float | None:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


class WorkerPool:
    """N worker processes; a killed one is replaced at once and its CPU time kept."""

    def __init__(self, cmd: list[str], env: dict[str, str], count: int, log_dir: Path) -> None:
        self.cmd, self.env, self.log_dir = cmd, env, log_dir
        self.processes: list[subprocess.Popen[bytes]] = []
        self.ports: list[int] = []
        self.cpu_of_ended: float = 0.0
        self.kills = 0
        self.started = 0
        self._last_cpu: dict[int, float] = {}
        for _ in range(count):
            self._start()

    def _start(self) -> subprocess.Popen[bytes]:
        port = free_port()
        env = self.env | {"CLEARLINE_WORKER_PORT": str(port)}
        log = open(self.log_dir / f"worker-{self.started}.log", "wb")  # noqa: SIM115 - the child keeps it
        process = subprocess.Popen(self.cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self.started += 1
        self.processes.append(process)
        self.ports.append(port)
        return process

    def wait_ready(self, timeout: float) -> str | None:
        for process, port in zip(self.processes, self.ports, strict=True):
            error = wait_until_answers(process, f"http://127.0.0.1:{port}/readyz", timeout, "worker")
            if error:
                return error
        return None

    def sample_cpu(self) -> None:
        for process in self.processes:
            seconds = _process_cpu_seconds(process.pid)
            if seconds is not None:
                self._last_cpu[process.pid] = seconds

    def alive(self) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.processes if p.poll() is None]

    def kill_one(self, rng: random.Random) -> None:
        alive = self.alive()
        if alive:
            self.kill(rng.choice(alive))

    def kill(self, victim: subprocess.Popen[bytes]) -> subprocess.Popen[bytes]:
        """SIGKILL, no chance to finish its batch; a new worker starts at once (returned)."""
        self.sample_cpu()
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        self.kills += 1
        return self._start()

    def cpu_seconds(self) -> float:
        self.sample_cpu()
        return sum(self._last_cpu.values())

    def cpu_by_process(self) -> list[float]:
        """CPU seconds of every worker process started so far (a killed one: until its kill)."""
        self.sample_cpu()
        return [round(self._last_cpu.get(p.pid, 0.0), 1) for p in self.processes]

    def processed_by_live_worker(self) -> list[int]:
        """Broker events each live worker consumed (``clearline_events_processed_total``), in start order."""
        from prometheus_client.parser import text_string_to_metric_families

        counts = []
        for process, port in zip(self.processes, self.ports, strict=True):
            if process.poll() is not None:
                continue
            try:
                text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
            except httpx.HTTPError:
                counts.append(-1)  # alive but not answering: shown, not hidden
                continue
            samples = [
                s.value
                for family in text_string_to_metric_families(text)
                for s in family.samples
                if s.name == "clearline_events_processed_total"
            ]
            counts.append(int(sum(samples)))
        return counts

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
