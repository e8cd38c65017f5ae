"""The stack's processes for a benchmark: started from the Procfile one by one (so each has a known process
group), their CPU time read from /proc (Linux), and stopped together."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from triage.settings import ROOT

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass
class StartedProcess:
    name: str
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 30) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def procfile_commands(procfile: Path = ROOT / "Procfile") -> dict[str, str]:
    commands = {}
    for line in procfile.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, command = line.split(":", 1)
            commands[name.strip()] = command.strip()
    return commands


def start(names: list[str], env: dict[str, str], logs: Path) -> list[StartedProcess]:
    """Each named Procfile process in a session of its own, its output in ``logs/<name>.log``."""
    commands = procfile_commands()
    started = []
    for name in names:
        log = logs / f"{name}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 - our own Procfile's commands
                ["bash", "-c", commands[name]],
                env=env,
                cwd=ROOT,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        started.append(StartedProcess(name, process, log))
    return started


def stop(processes: list[StartedProcess], timeout: float = 20.0) -> None:
    for started in processes:
        if started.process.poll() is None:
            os.killpg(started.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for started in processes:
        try:
            started.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(started.process.pid, signal.SIGKILL)
            started.process.wait()


def group_cpu_seconds(group: int, proc: Path = Path("/proc")) -> float:
    """User + system CPU of every live process in process group ``group``, and of its reaped children."""
    total = 0
    for stat in proc.glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:  # the process ended while we looked
            continue
        fields = text[text.rindex(")") + 2 :].split()
        # after the command: state, ppid, pgrp, ... utime (14th field of the line), stime, cutime, cstime
        if int(fields[2]) == group:
            total += sum(int(value) for value in fields[11:15])
    return total / CLOCK_TICKS


def machine_cpu_seconds(proc: Path = Path("/proc")) -> dict[str, float]:
    """CPU seconds of all cores since boot from /proc/stat: ``busy`` (user, nice, system, irq, softirq),
    ``idle`` (idle, iowait) and ``steal`` (time the hypervisor gave this VM's cores to someone else)."""
    fields = [int(value) for value in (proc / "stat").read_text().splitlines()[0].split()[1:9]]
    user, nice, system, idle, iowait, irq, softirq, steal = fields
    return {
        "busy": (user + nice + system + irq + softirq) / CLOCK_TICKS,
        "idle": (idle + iowait) / CLOCK_TICKS,
        "steal": steal / CLOCK_TICKS,
    }
