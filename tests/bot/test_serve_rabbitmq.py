"""Selecting RabbitMQ as Rasa's event broker (bot/serve.py), and Rasa refusing to start without Clearline's
topology: serve.py's check before Rasa starts, and Rasa's own start-up with our broker class."""

import importlib.util
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.bot.conftest import BOT_DIR
from tests.bot.test_clearline_broker import broker_setup
from tests.bot.test_rasa_server import free_port, running
from tests.rabbitmq import temporary_vhost

spec = importlib.util.spec_from_file_location("serve", BOT_DIR / "serve.py")
serve = importlib.util.module_from_spec(spec)
spec.loader.exec_module(serve)

BROKER_CLASS = "clearline_broker.ClearlineEventBroker"
RASA = Path(sys.executable).parent / "rasa"
START_TIMEOUT_S = 180


@pytest.fixture
def empty_url() -> Iterator[str]:
    with temporary_vhost("clearline-serve") as url:
        yield url


def test_the_sql_broker_stays_the_default_and_rabbitmq_is_chosen_by_variable(tmp_path: Path) -> None:
    plain = yaml.safe_load(serve.write_endpoints({}, tmp_path / "plain.yml").read_text())
    assert plain["event_broker"] == {"type": "SQL", "url": "${CLEARLINE_EVENTS_URL}"}
    chosen = yaml.safe_load(
        serve.write_endpoints({"CLEARLINE_EVENT_BROKER": "RabbitMQ"}, tmp_path / "rabbitmq.yml").read_text()
    )
    broker = chosen["event_broker"]
    assert broker["type"] == BROKER_CLASS
    # the password stays in the environment, not in the written file
    assert broker["url"] == "${CLEARLINE_RABBITMQ_URL}"
    assert broker["partitions"] == "${CLEARLINE_RABBITMQ_PARTITIONS}"
    assert chosen["tracker_store"] == plain["tracker_store"]
    with pytest.raises(SystemExit, match="CLEARLINE_EVENT_BROKER must be one of sql, rabbitmq"):
        serve.write_endpoints({"CLEARLINE_EVENT_BROKER": "kafka"}, tmp_path / "bad.yml")


def test_rabbitmq_variables_get_local_defaults() -> None:
    values = serve.endpoint_environment({})
    assert values["CLEARLINE_RABBITMQ_URL"] == "amqp://guest:guest@127.0.0.1:5672/%2F"
    assert values["CLEARLINE_RABBITMQ_PARTITIONS"] == "8"
    assert (
        serve.endpoint_environment({"CLEARLINE_RABBITMQ_PARTITIONS": "3"})["CLEARLINE_RABBITMQ_PARTITIONS"]
        == "3"
    )


def test_the_check_before_start_passes_with_the_topology_and_stops_without(
    empty_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environ = {"CLEARLINE_EVENT_BROKER": "rabbitmq", "CLEARLINE_RABBITMQ_URL": empty_url}
    for name, value in {**serve.endpoint_environment(environ), **environ}.items():
        monkeypatch.setenv(name, value)  # Rasa expands the endpoints' ${VAR}s from the environment
    endpoints = serve.write_endpoints(environ, tmp_path / "endpoints.yml")
    with pytest.raises(
        SystemExit, match=r"^error: RabbitMQ at .* lacks Clearline's exchange 'clearline.events'"
    ):
        serve.check_event_broker(endpoints)
    broker_setup(empty_url, 8)
    serve.check_event_broker(endpoints)  # returns: the topology is there


def test_serve_refuses_to_start_rasa_without_the_topology(empty_url: str) -> None:
    env = {
        **os.environ,
        "CLEARLINE_EVENT_BROKER": "rabbitmq",
        "CLEARLINE_RABBITMQ_URL": empty_url,
        "CLEARLINE_RASA_PATCHES": "off",
        "CLEARLINE_DEMO": "true",  # the demo token and sealing key: this test is about the broker
    }
    done = subprocess.run(
        [sys.executable, str(BOT_DIR / "serve.py"), "--port", str(free_port())],
        env=env,
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "error: RabbitMQ at amqp://127.0.0.1:5672/clearline-serve-" in done.stderr
    assert "clearline broker setup" in done.stderr and "Starting Rasa server" not in done.stdout + done.stderr


def rasa_endpoints(path: Path, url: str) -> Path:
    """Our broker, and a model server nothing listens on: Rasa creates the broker before it fetches a
    model, and without a model it still serves its root page, so no trained model is needed here."""
    path.write_text(
        yaml.safe_dump(
            {
                "event_broker": {
                    "type": BROKER_CLASS,
                    "url": url,
                    "partitions": 2,
                    "connection_attempts": 1,
                    "retry_delay_in_seconds": 0.1,
                },
                "models": {
                    "url": f"http://127.0.0.1:{free_port()}/model.tar.gz",
                    "wait_time_between_pulls": None,
                },
            }
        )
    )
    return path


def rasa_command(endpoints: Path, port: int) -> list[str]:
    """Rasa's own `rasa run`, not serve.py: what happens when our class fails inside Rasa's start-up."""
    return [str(RASA), "run", "--endpoints", str(endpoints), "--port", str(port), "-i", "127.0.0.1"]


def rasa_environment() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(BOT_DIR), "RASA_TELEMETRY_ENABLED": "false"}


def test_rasa_itself_exits_when_our_broker_finds_no_topology_and_serves_when_it_does(
    empty_url: str, tmp_path: Path
) -> None:
    refused = subprocess.run(
        rasa_command(rasa_endpoints(tmp_path / "refused.yml", empty_url), free_port()),
        cwd=BOT_DIR,
        env=rasa_environment(),
        capture_output=True,
        text=True,
        timeout=START_TIMEOUT_S,
    )
    assert refused.returncode != 0
    assert "clearline_broker.TopologyMissing" in refused.stdout + refused.stderr
    assert "Rasa server is up and running" not in refused.stdout + refused.stderr

    broker_setup(empty_url, 2)
    port = free_port()
    log = tmp_path / "served.log"
    command = rasa_command(rasa_endpoints(tmp_path / "served.yml", empty_url), port)
    with running(command, rasa_environment(), log, f"http://127.0.0.1:{port}/", {}):
        pass  # it answered
    assert "RabbitMQ connection to 'amqp://127.0.0.1:5672/clearline-serve-" in log.read_text()
