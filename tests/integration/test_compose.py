"""docker-compose.yml validates with the compose tool, refuses to run without its secrets, and names only
what exists: Dockerfiles, services it depends on, and variables Clearline, Rasa's launcher or the actions
read."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from api.settings import ApiSettings
from sentiment.settings import SentimentSettings
from triage.settings import CoreSettings

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "POSTGRES_PASSWORD": "pw",
    "RABBITMQ_PASSWORD": "mq",
    "CLEARLINE_RASA_TOKEN": "rasa-token",
    "CLEARLINE_TRIAGE_TOKEN": "triage-token",
    "CLEARLINE_SECRET_KEY": "secret",
    "CLEARLINE_PII_KEY": "pii-key",
}


def compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose is not installed: `make test` installs it (Debian: docker-compose)")
    # the file's own defaults unless a test passes a value: none of the caller's CLEARLINE_* settings
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS and not k.startswith("CLEARLINE_")}
    return subprocess.run(
        [exe, "-f", str(ROOT / "docker-compose.yml"), *args],
        env={**clean, **env},
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )


def test_compose_file_validates_with_every_service_healthchecked() -> None:
    result = compose("config", env=SECRETS)
    assert result.returncode == 0, result.stderr
    config = yaml.safe_load(result.stdout)
    assert set(config["services"]) == {
        *("postgres", "redis", "rabbitmq", "broker-setup", "db-migrate"),
        *("rasa-1", "rasa-2", "actions", "api-1", "api-2", "worker"),
    }
    one_shot = {"broker-setup", "db-migrate"}
    for name, service in config["services"].items():
        assert ("healthcheck" in service) != (name in one_shot), name
    worker_env = config["services"]["worker"]["environment"]
    assert worker_env["CLEARLINE_DATABASE_URL"].startswith("postgresql+psycopg://clearline:pw@postgres")
    assert worker_env["CLEARLINE_RASA_TOKEN"] == "rasa-token"
    assert json.dumps(config).count("demo-only-secret") == 0
    # every api replica counts login attempts in the one Redis, which the api waits for
    for api in ("api-1", "api-2"):
        assert (
            config["services"][api]["environment"]["CLEARLINE_RATE_LIMIT_STORAGE"] == "redis://redis:6379/0"
        )
        assert config["services"][api]["depends_on"]["redis"]["condition"] == "service_healthy"
    # Rasa's tracker store and event broker both use a table named "events": never the same database
    rasa_env = config["services"]["rasa-1"]["environment"]
    assert rasa_env["CLEARLINE_RASA_TRACKER_URL"] != rasa_env["CLEARLINE_EVENTS_URL"]
    assert worker_env["CLEARLINE_EVENTS_URL"].endswith(rasa_env["CLEARLINE_EVENTS_URL"].split("@")[1])
    # the api and the worker export, erase and purge the tracker store Rasa writes, not a default file
    tracker = rasa_env["CLEARLINE_RASA_TRACKER_URL"].split("@")[1]
    for name in ("api-1", "api-2", "worker"):
        assert config["services"][name]["environment"]["CLEARLINE_RASA_TRACKER_URL"].endswith(tracker), name


def test_compose_refuses_to_start_without_secrets() -> None:
    result = compose("config", "-q", env={})
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr


def test_compose_scales_rasa_api_and_workers_on_shared_stores() -> None:
    result = compose("config", env=SECRETS)
    assert result.returncode == 0, result.stderr
    services = yaml.safe_load(result.stdout)["services"]
    assert services["worker"]["deploy"]["replicas"] == 3
    assert services["worker"]["environment"]["CLEARLINE_EVENT_SOURCE"] == "rabbitmq"
    rasa = [services[name] for name in ("rasa-1", "rasa-2")]
    # one tracker store, one lock store, one broker: the two servers are interchangeable
    for variable in ("CLEARLINE_RASA_TRACKER_URL", "CLEARLINE_RASA_LOCK_STORE_URL", "CLEARLINE_RABBITMQ_URL"):
        assert rasa[0]["environment"][variable] == rasa[1]["environment"][variable], variable
    assert rasa[0]["environment"]["CLEARLINE_RASA_LOCK_STORE_URL"].startswith("redis://redis:6379/")
    assert rasa[0]["environment"]["CLEARLINE_EVENT_BROKER"] == "rabbitmq"
    assert (
        rasa[0]["environment"]["CLEARLINE_RABBITMQ_URL"]
        == services["worker"]["environment"]["CLEARLINE_RABBITMQ_URL"]
    )
    # Rasa and the workers start only once the topology exists; nothing starts before the migrations
    for name in ("rasa-1", "rasa-2", "worker"):
        assert services[name]["depends_on"]["broker-setup"]["condition"] == "service_completed_successfully"
    for name in ("api-1", "api-2", "worker"):
        assert services[name]["depends_on"]["db-migrate"]["condition"] == "service_completed_successfully"
    assert services["broker-setup"]["command"] == ["clearline", "broker", "setup"]
    assert "rabbitmq_consistent_hash_exchange" in " ".join(services["rabbitmq"]["entrypoint"])


def test_compose_runs_as_many_action_server_processes_as_asked() -> None:
    for asked, expected in ((None, "1"), ("3", "3")):
        env = SECRETS | ({"CLEARLINE_ACTIONS_WORKERS": asked} if asked else {})
        result = compose("config", env=env)
        assert result.returncode == 0, result.stderr
        actions = yaml.safe_load(result.stdout)["services"]["actions"]["environment"]
        assert actions["ACTION_SERVER_SANIC_WORKERS"] == expected
        assert actions["CLEARLINE_PII_KEY"] == "pii-key"  # the shared settings are still merged in


def variables_read_by_the_code() -> set[str]:
    """CLEARLINE_* names the settings classes read or the code names literally (bot/serve.py, actions)."""
    names = {
        f"CLEARLINE_{field.upper()}"
        for settings in (CoreSettings, ApiSettings, SentimentSettings)
        for field in settings.model_fields
    }
    for folder in ("bot", "triage", "api", "sentiment", "nlu"):
        for path in (ROOT / folder).rglob("*.py"):
            if "tests" not in path.relative_to(ROOT).parts:
                names.update(re.findall(r"CLEARLINE_[A-Z0-9_]+", path.read_text()))
    return names


def test_compose_names_only_files_services_and_variables_that_exist() -> None:
    raw = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = raw["services"]
    known = variables_read_by_the_code()
    for name, service in services.items():
        assert "build" in service or "image" in service, name
        if "build" in service:
            context = ROOT / service["build"]["context"]
            assert (context / service["build"]["dockerfile"]).is_file(), name
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on {dependency}, which is not a service"
        environment = service.get("environment", {})
        unknown = {variable for variable in environment if variable.startswith("CLEARLINE_")} - known
        assert not unknown, f"{name} sets variables nothing reads: {sorted(unknown)}"
    host_paths = [spec.split(":")[0] for service in services.values() for spec in service.get("volumes", [])]
    for host_path in host_paths:
        if host_path.startswith("./"):  # a named volume has no path; a file of the repository must exist
            assert (ROOT / host_path).exists(), host_path
