"""Every docker-compose service starts from exactly the files its image copies, without the repository.

Each Dockerfile is replayed into a temporary folder (tests/integration/dockerfile_image.py); each service
then runs its compose command there, with the host's virtual environments standing in for the locked
packages (.venv for the api image, .venv-rasa for the rasa image) and only the assembled folder on the
import path. Real Redis and RabbitMQ on loopback (a vhost of this test's own); SQLite in the folder stands in
for PostgreSQL. A file a Dockerfile forgets fails here: the service does not come up, or it read the file
from the repository (every open and listing under the repository is recorded and must be none).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
import yaml

from tests.integration.dockerfile_image import ROOT, Overlay, Stage, assemble, entry_points, image_env

pytestmark = [pytest.mark.slow, pytest.mark.rasa]
TOKEN = "image-test-token"  # noqa: S105 - this test's own servers
START_TIMEOUT_S = 420.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def compose_services() -> dict[str, dict]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]


def service_command(service: dict, stage: Stage, port: int | None = None) -> list[str]:
    """The compose command (else the image's CMD), with its --port moved to a free one."""
    command = service.get("command", stage.cmd)
    if isinstance(command, str):
        moved = re.sub(r"--port \d+", f"--port {port}", command) if port is not None else command
        return ["sh", "-c", moved]
    words = list(command)
    for index in range(1, len(words)):
        if port is not None and words[index - 1] == "--port":
            words[index] = str(port)
    return words


@contextmanager
def rabbitmq_vhost() -> Iterator[str]:
    """A vhost of this test's own, so its workers consume no one else's partitions."""
    vhost = f"clearline-images-{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True)
    try:
        subprocess.run(
            ["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], check=True
        )
        yield f"amqp://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=False)


class Image:
    """An assembled image and how to start its processes."""

    def __init__(self, dockerfile: str, host_venv: str, into: Path) -> None:
        self.stage = assemble(ROOT / dockerfile, into / "stages")
        self.overlay = Overlay.create(ROOT / host_venv, into / "venv", entry_points(self.stage))
        self.reads_log = into / "repository-reads.log"
        self.logs = into

    def env(self, **extra: str) -> dict[str, str]:
        return {**image_env(self.stage, self.overlay, self.reads_log), **extra}

    def run_once(self, name: str, command: list[str], env: dict[str, str]) -> None:
        result = subprocess.run(
            command,
            env=env,
            cwd=self.stage.path("."),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert result.returncode == 0, f"{name}: {result.stdout[-3000:]}\n{result.stderr[-3000:]}"

    @contextmanager
    def start(self, name: str, command: list[str], env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
        log = (self.logs / f"{name}.log").open("wb")
        process = subprocess.Popen(
            command,
            env=env,
            cwd=self.stage.path("."),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait()
            log.close()

    def log_tail(self, name: str) -> str:
        return (self.logs / f"{name}.log").read_text(errors="replace")[-4000:]

    def repository_reads(self) -> list[str]:
        return sorted(set(self.reads_log.read_text().split())) if self.reads_log.exists() else []


def wait_until_up(processes: dict[str, tuple[Image, subprocess.Popen[bytes], str]]) -> None:
    """Every URL answers 200 before the deadline; a process that exits first fails with its log."""
    waiting = dict(processes)
    deadline = time.monotonic() + START_TIMEOUT_S
    while waiting:
        for name, (image, process, url) in list(waiting.items()):
            if process.poll() is not None:
                pytest.fail(f"{name} exited with {process.returncode}:\n{image.log_tail(name)}")
            try:
                if httpx.get(url, timeout=5).status_code == 200:
                    del waiting[name]
            except httpx.HTTPError:
                pass
        if time.monotonic() > deadline:
            pytest.fail(f"not up after {START_TIMEOUT_S:.0f} s: {sorted(waiting)}")
        time.sleep(1)


def import_path(image: Image, env: dict[str, str]) -> list[str]:
    probe = "import json, sys; print(json.dumps(sys.path))"
    result = subprocess.run(
        ["python", "-c", probe],
        env=env,
        cwd=image.stage.path("."),
        capture_output=True,
        text=True,
        check=True,
    )
    return list(json.loads(result.stdout))


def test_every_service_starts_from_its_image_files_alone(tmp_path: Path) -> None:
    services = compose_services()
    rasa_image = Image("bot/Dockerfile", ".venv-rasa", tmp_path / "rasa-image")
    api_image = Image("api/Dockerfile", ".venv", tmp_path / "api-image")
    ports = {name: free_port() for name in ("actions", "rasa-1", "rasa-2", "api-1", "api-2", "worker")}
    with ExitStack() as stack:
        rabbitmq_url = stack.enter_context(rabbitmq_vhost())
        # not demo mode, as compose runs it (two api processes in demo mode would both seed the demo users)
        common = {
            "CLEARLINE_DEMO": "false",
            "CLEARLINE_RASA_TOKEN": TOKEN,
            "CLEARLINE_TRIAGE_TOKEN": "image-test-triage-token",
            "CLEARLINE_SECRET_KEY": "image-test-secret-key",
            "CLEARLINE_PII_KEY": "image-test-pii-key",
            "CLEARLINE_RABBITMQ_URL": rabbitmq_url,
        }
        api_env = api_image.env(
            **common,
            CLEARLINE_RATE_LIMIT_STORAGE="redis://127.0.0.1:6379/0",
            CLEARLINE_RASA_URL=f"http://127.0.0.1:{ports['rasa-1']}",
            CLEARLINE_API_URL=f"http://127.0.0.1:{ports['api-1']}",
        )
        rasa_env = rasa_image.env(
            **common,
            CLEARLINE_EVENT_BROKER="rabbitmq",
            CLEARLINE_RASA_LOCK_STORE_URL="redis://127.0.0.1:6379/1",
            CLEARLINE_ACTION_URL=f"http://127.0.0.1:{ports['actions']}/webhook",
            CLEARLINE_API_URL=f"http://127.0.0.1:{ports['api-1']}",
        )
        for env, image in ((api_env, api_image), (rasa_env, rasa_image)):
            leaks = [entry for entry in import_path(image, env) if entry.startswith(str(ROOT))]
            assert not [
                entry for entry in leaks if not entry.startswith((f"{ROOT}/.venv/", f"{ROOT}/.venv-rasa/"))
            ]

        # the one-shot steps every long-running service waits for
        for name in ("db-migrate", "broker-setup"):
            api_image.run_once(name, service_command(services[name], api_image.stage), api_env)

        started: dict[str, tuple[Image, subprocess.Popen[bytes], str]] = {}
        actions = stack.enter_context(
            rasa_image.start(
                "actions", service_command(services["actions"], rasa_image.stage, ports["actions"]), rasa_env
            )
        )
        started["actions"] = (rasa_image, actions, f"http://127.0.0.1:{ports['actions']}/health")
        for name in ("rasa-1", "rasa-2"):
            process = stack.enter_context(
                rasa_image.start(
                    name, service_command(services[name], rasa_image.stage, ports[name]), rasa_env
                )
            )
            started[name] = (rasa_image, process, f"http://127.0.0.1:{ports[name]}/status?token={TOKEN}")
        for name in ("api-1", "api-2"):
            process = stack.enter_context(
                api_image.start(name, service_command(services[name], api_image.stage, ports[name]), api_env)
            )
            started[name] = (api_image, process, f"http://127.0.0.1:{ports[name]}/readyz")
        worker_env = {
            **api_env,
            "CLEARLINE_EVENT_SOURCE": "rabbitmq",
            "CLEARLINE_WORKER_PORT": str(ports["worker"]),
        }
        worker = stack.enter_context(
            api_image.start("worker", service_command(services["worker"], api_image.stage), worker_env)
        )
        started["worker"] = (api_image, worker, f"http://127.0.0.1:{ports['worker']}/readyz")
        wait_until_up(started)

        # the model loaded (with MiniLM: the featurizer embeds every message) and understands a message
        for name in ("rasa-1", "rasa-2"):
            status = httpx.get(f"http://127.0.0.1:{ports[name]}/status", params={"token": TOKEN}).json()
            assert Path(status["model_file"]).name.startswith("bot-"), status
            parsed = httpx.post(
                f"http://127.0.0.1:{ports[name]}/model/parse",
                params={"token": TOKEN},
                json={"text": "I lost my card"},
            ).json()
            assert parsed["intent"]["name"], parsed

    for image in (rasa_image, api_image):
        assert image.repository_reads() == [], "read from the repository instead of the image"


def test_a_file_left_out_of_an_image_is_caught(tmp_path: Path) -> None:
    """The replay fails loudly on a COPY of a missing file and leaves out what .dockerignore excludes."""
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.11-slim\nWORKDIR /app\nCOPY bot/ ./\nCOPY data/no-such-file ./\n")
    with pytest.raises(AssertionError, match="no-such-file"):
        assemble(dockerfile, tmp_path / "out")
    stage = tmp_path / "out" / "0" / "app"
    assert (stage / "serve.py").is_file()
    assert (
        not (stage / "models").exists() and not (stage / "tests").exists()
    )  # .dockerignore: bot/models, bot/tests


def test_an_unknown_run_step_is_refused_not_skipped(tmp_path: Path) -> None:
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.11-slim\nRUN curl -o /model.bin https://example.com/model.bin\n")
    with pytest.raises(AssertionError, match="teach"):
        assemble(dockerfile, tmp_path / "out")
