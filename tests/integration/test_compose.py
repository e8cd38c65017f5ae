"""docker-compose.yml validates with the compose tool, and refuses to run without its secrets."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRETS = {
    "POSTGRES_PASSWORD": "pw",
    "CLEARLINE_RASA_TOKEN": "rasa-token",
    "CLEARLINE_TRIAGE_TOKEN": "triage-token",
    "CLEARLINE_SECRET_KEY": "secret",
    "CLEARLINE_PII_KEY": "pii-key",
}


def compose(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("docker-compose")
    if exe is None:
        pytest.fail("docker-compose is not installed: `make test` installs it (Debian: docker-compose)")
    clean = {k: v for k, v in os.environ.items() if k not in SECRETS}
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
    import yaml

    config = yaml.safe_load(result.stdout)
    assert set(config["services"]) == {"rasa", "actions", "api", "worker", "postgres", "redis"}
    for name, service in config["services"].items():
        assert "healthcheck" in service, name
    worker_env = config["services"]["worker"]["environment"]
    assert worker_env["CLEARLINE_DATABASE_URL"].startswith("postgresql+psycopg://clearline:pw@postgres")
    assert worker_env["CLEARLINE_RASA_TOKEN"] == "rasa-token"
    assert json.dumps(config).count("demo-only-secret") == 0
    # every api replica counts login attempts in the one Redis, which the api waits for
    assert config["services"]["api"]["environment"]["CLEARLINE_RATE_LIMIT_STORAGE"] == "redis://redis:6379/0"
    assert config["services"]["api"]["depends_on"]["redis"]["condition"] == "service_healthy"
    # Rasa's tracker store and event broker both use a table named "events": never the same database
    rasa_env = config["services"]["rasa"]["environment"]
    assert rasa_env["CLEARLINE_RASA_TRACKER_URL"] != rasa_env["CLEARLINE_EVENTS_URL"]
    assert worker_env["CLEARLINE_EVENTS_URL"].endswith(rasa_env["CLEARLINE_EVENTS_URL"].split("@")[1])
    # the api and the worker export, erase and purge the tracker store Rasa writes, not a default file
    tracker = rasa_env["CLEARLINE_RASA_TRACKER_URL"].split("@")[1]
    for name in ("api", "worker"):
        assert config["services"][name]["environment"]["CLEARLINE_RASA_TRACKER_URL"].endswith(tracker), name


def test_compose_refuses_to_start_without_secrets() -> None:
    result = compose("config", "-q", env={})
    assert result.returncode != 0
    assert "POSTGRES_PASSWORD" in result.stderr
