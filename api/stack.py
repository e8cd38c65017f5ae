"""Start the whole embedded stack (rasa, actions, api, worker) the way ``make run`` does.

Pre-flight checks turn the usual problems (Python 3.10 venv missing, a port in use, the emotion model
missing) into one clear sentence each; then the one-off steps run, each printing its duration (BANKING77
fetched when it is not on disk, NLU data, the Rasa model: the committed one when its inputs match, else
trained; migrations, seeding) and honcho starts the four processes from ``Procfile``. We wait for each
process's health endpoint and print the URLs, demo logins and how long the start took. Ctrl-C stops
everything.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import httpx

from triage.settings import ROOT, RUNTIME_DIR, CoreSettings

RASA_VENV = ROOT / ".venv-rasa"
VENV_BIN = Path(sys.executable).parent
PROCESS_STARTED = time.time()


# far above what a machine's cores can use: a typo (500 for 5) should not fork hundreds of processes
MAX_ACTIONS_WORKERS = 64


class StackError(RuntimeError):
    """A problem the person starting Clearline can fix; the message says how."""


@dataclass(frozen=True)
class Service:
    name: str
    port: int
    health_url: str


def stack_ports(env: Mapping[str, str]) -> dict[str, int]:
    return {
        "rasa": int(env.get("CLEARLINE_RASA_PORT", "5005")),
        "actions": int(env.get("CLEARLINE_ACTIONS_PORT", "5055")),
        "api": int(env.get("CLEARLINE_API_PORT", "8000")),
        "worker": int(env.get("CLEARLINE_WORKER_PORT", "8001")),
    }


def actions_workers(env: Mapping[str, str]) -> str:
    """``CLEARLINE_ACTIONS_WORKERS``: action server processes behind its one port (default 1). The action
    server keeps nothing between requests (the tracker comes with each call), so it needs no lock store;
    the Procfile passes the number on as rasa_sdk's ``ACTION_SERVER_SANIC_WORKERS``."""
    value = env.get("CLEARLINE_ACTIONS_WORKERS", "1").strip()
    if not re.fullmatch(r"[0-9]+", value) or not 1 <= int(value) <= MAX_ACTIONS_WORKERS:
        raise StackError(
            f"CLEARLINE_ACTIONS_WORKERS must be a whole number from 1 to {MAX_ACTIONS_WORKERS}, not {value!r}"
        )
    return str(int(value))


def services(env: Mapping[str, str]) -> list[Service]:
    ports = stack_ports(env)
    token = env.get("CLEARLINE_RASA_TOKEN", "")
    return [
        Service("rasa", ports["rasa"], f"http://127.0.0.1:{ports['rasa']}/status?token={token}"),
        Service("actions", ports["actions"], f"http://127.0.0.1:{ports['actions']}/health"),
        Service("api", ports["api"], f"http://127.0.0.1:{ports['api']}/readyz"),
        Service("worker", ports["worker"], f"http://127.0.0.1:{ports['worker']}/readyz"),
    ]


def stack_env(settings: CoreSettings, base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment every process gets: settings resolved once, so all four agree."""
    env = dict(os.environ if base is None else base)
    ports = stack_ports(env)
    env.update(
        {
            "CLEARLINE_DATABASE_URL": settings.database_url,
            "CLEARLINE_EVENTS_URL": settings.events_url,
            # Rasa writes it, Clearline exports, erases and purges it: both must name the same database
            "CLEARLINE_RASA_TRACKER_URL": settings.rasa_tracker_url,
            "CLEARLINE_RASA_TOKEN": settings.rasa_token,
            "CLEARLINE_TRIAGE_TOKEN": settings.triage_token,
            "CLEARLINE_SECRET_KEY": settings.secret_key,
            "CLEARLINE_PII_KEY": settings.pii_key,  # Rasa and the action server seal with it too
            "CLEARLINE_DEMO": "true" if settings.demo else "false",
            "CLEARLINE_RASA_URL": f"http://127.0.0.1:{ports['rasa']}",
            "CLEARLINE_API_URL": f"http://127.0.0.1:{ports['api']}",
            "CLEARLINE_API_PORT": str(ports["api"]),
            "CLEARLINE_WORKER_PORT": str(ports["worker"]),
            "CLEARLINE_RASA_PORT": str(ports["rasa"]),
            "CLEARLINE_ACTIONS_PORT": str(ports["actions"]),
            "CLEARLINE_ACTION_URL": f"http://127.0.0.1:{ports['actions']}/webhook",
            "CLEARLINE_ACTIONS_WORKERS": actions_workers(env),
            "CLEARLINE_VENV_BIN": str(VENV_BIN),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def check_port_free(name: str, port: int) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError as exc:
            env_name = f"CLEARLINE_{name.upper()}_PORT"
            raise StackError(
                f"Port {port} for {name} is already in use (is Clearline already running?). "
                f"Stop what uses it or choose another port with {env_name}=..."
            ) from exc


def preflight(env: Mapping[str, str], rasa_venv: Path = RASA_VENV) -> None:
    """Fail early, with a sentence a newcomer can act on."""
    if not (rasa_venv / "bin" / "rasa").exists():
        raise StackError(
            f"The Rasa environment ({rasa_venv}) is missing: Rasa 3.6 needs Python 3.10. "
            "Run `make run` (it creates it), or `make PYTHON310=/path/to/python3.10 run`."
        )
    model_dir = Path(env.get("CLEARLINE_MODEL_DIR", ROOT / "data" / "models" / "emotions"))
    if not any(model_dir.glob("*.safetensors")) and not any(model_dir.glob("*.bin")):
        raise StackError(
            f"The emotion model is missing in {model_dir}. The default model is committed in the "
            "repository (git lfs is not used): check your clone, or train one with "
            "`clearline train-emotions`, or point CLEARLINE_MODEL_DIR at a Hugging Face checkpoint."
        )
    for name, port in stack_ports(env).items():
        check_port_free(name, port)


def run_step(title: str, cmd: list[str], env: Mapping[str, str], cwd: Path = ROOT) -> None:
    print(f"-> {title}", flush=True)
    started = time.monotonic()
    result = subprocess.run(cmd, env=dict(env), cwd=cwd, check=False)
    if result.returncode != 0:
        raise StackError(f"Step failed: {title} (exit {result.returncode}); see the output above.")
    print(f"   done in {time.monotonic() - started:.1f} s", flush=True)


def fetch_datasets(names: tuple[str, ...] = ("banking77",)) -> None:
    """Make the datasets the start needs available: on disk already, or downloaded and checksummed."""
    from nlu.datasets import DatasetDownloadError, ensure  # noqa: PLC0415 - keep CLI start-up light

    print(f"-> datasets ({', '.join(names)})", flush=True)
    started = time.monotonic()
    try:
        folders = ensure(names, log=lambda line: print(line, flush=True))
    except DatasetDownloadError as exc:
        raise StackError(f"Datasets: {exc}") from exc
    for name, folder in folders.items():
        print(f"   {name}: {folder}", flush=True)
    print(f"   done in {time.monotonic() - started:.1f} s", flush=True)


def prepare(env: Mapping[str, str]) -> None:
    """The one-off steps; each is cached so a second start is fast."""
    clearline = str(VENV_BIN / "clearline")
    python = str(VENV_BIN / "python")
    fetch_datasets()
    # nlu.train builds the NLU data from BANKING77 first: its content hash covers that file
    model_step = "NLU data and the Rasa model (trained only when its inputs changed)"
    run_step(model_step, [python, "-m", "nlu.train"], env)
    run_step("database migrations", [clearline, "db", "upgrade"], env)
    run_step(
        "provider demo data",
        [str(RASA_VENV / "bin" / "python"), "-m", "actions.provider_db", "seed"],
        env,
        cwd=ROOT / "bot",
    )
    if env.get("CLEARLINE_DEMO", "true") == "true":
        run_step("demo users", [clearline, "users", "seed-demo"], env)


def wait_healthy(svcs: list[Service], proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    pending = {s.name: s for s in svcs}
    deadline = time.monotonic() + timeout_s
    with httpx.Client(timeout=2.0) as client:
        while pending:
            if proc.poll() is not None:
                raise StackError("A process exited during start-up; see its output above.")
            if time.monotonic() > deadline:
                raise StackError(f"Not healthy after {timeout_s:.0f} s: {', '.join(sorted(pending))}")
            for name, svc in list(pending.items()):
                try:
                    if client.get(svc.health_url).status_code == 200:
                        print(f"   {name} is up", flush=True)
                        del pending[name]
                except httpx.HTTPError:
                    pass
            time.sleep(1.0)


def started_note(env: Mapping[str, str], now: float | None = None) -> str:
    """How long the start took: since `make run` began when make says so, else since this process began."""
    now = time.time() if now is None else now
    make_started = env.get("CLEARLINE_MAKE_STARTED", "")
    if make_started.isdigit():
        return f"ready {now - int(make_started):.0f} s after `make` started"
    return f"ready {now - PROCESS_STARTED:.0f} s after `clearline run` started"


def banner(env: Mapping[str, str]) -> str:
    ports = stack_ports(env)
    lines = [
        "",
        f"Clearline is running ({started_note(env)}).",
        f"  Customer chat     http://127.0.0.1:{ports['api']}/chat",
        f"  Agent console     http://127.0.0.1:{ports['api']}/console",
        f"  Supervisor        http://127.0.0.1:{ports['api']}/supervisor",
        f"  REST API docs     http://127.0.0.1:{ports['api']}/docs",
        f"  Rasa              http://127.0.0.1:{ports['rasa']}  (HTTP API needs CLEARLINE_RASA_TOKEN)",
        f"  Worker metrics    http://127.0.0.1:{ports['worker']}/metrics",
    ]
    if env.get("CLEARLINE_DEMO", "true") == "true":
        from api.users import DEMO_USERS  # noqa: PLC0415

        lines.append("  Demo logins (demo mode only):")
        lines.extend(f"    {u.role.value:<11} {u.username} / {u.password}" for u in DEMO_USERS)
    lines.append("Press Ctrl-C to stop.")
    return "\n".join(lines)


def _stop_on_signal(signum: int, _frame: object) -> None:
    raise KeyboardInterrupt(signal.Signals(signum).name)


def run_stack(health_timeout_s: float = 300.0, exit_when_ready: bool = False) -> int:
    # Ctrl-C and SIGTERM both stop the stack, also when started from a shell that ignores SIGINT
    # for background jobs (Python would then keep ignoring it).
    signal.signal(signal.SIGINT, _stop_on_signal)
    signal.signal(signal.SIGTERM, _stop_on_signal)
    settings = CoreSettings()
    env = stack_env(settings)
    RUNTIME_DIR.mkdir(parents=True, exist_ok=True)
    preflight(env)
    prepare(env)
    honcho = [str(VENV_BIN / "honcho"), "start", "-f", str(ROOT / "Procfile"), "-d", str(ROOT)]
    # A session of its own, so one signal stops honcho and everything it started.
    proc = subprocess.Popen(honcho, env=env, cwd=ROOT, start_new_session=True)
    try:
        wait_healthy(services(env), proc, health_timeout_s)
        print(banner(env), flush=True)
        if exit_when_ready:
            print("Stopping Clearline (--exit-when-ready)...", flush=True)
            return 0
        return proc.wait()
    except KeyboardInterrupt:
        print("\nStopping Clearline...", flush=True)
        return 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
