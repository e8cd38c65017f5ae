"""`clearline run` refuses to start with one clear sentence for each usual problem."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from api.stack import (
    StackError,
    check_port_free,
    fetch_datasets,
    preflight,
    stack_env,
    stack_ports,
    started_note,
)
from triage.settings import CoreSettings


def _free_ports_env(tmp_path: Path) -> dict[str, str]:
    env: dict[str, str] = {}
    for name in ("RASA", "ACTIONS", "API", "WORKER"):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            env[f"CLEARLINE_{name}_PORT"] = str(sock.getsockname()[1])
    return env


@pytest.fixture
def fake_rasa_venv(tmp_path: Path) -> Path:
    (tmp_path / "venv" / "bin").mkdir(parents=True)
    (tmp_path / "venv" / "bin" / "rasa").write_text("#!/bin/sh\n")
    return tmp_path / "venv"


def test_missing_python310_environment_is_named(tmp_path: Path) -> None:
    with pytest.raises(StackError, match=r"Rasa 3.6 needs Python 3.10.*PYTHON310"):
        preflight(_free_ports_env(tmp_path), rasa_venv=tmp_path / "nothing-here")


def test_datasets_that_cannot_be_fetched_stop_the_start_naming_url_and_checksum(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import nlu.datasets

    monkeypatch.setenv("CLEARLINE_DATASETS_DIR", str(tmp_path / "no-datasets"))
    monkeypatch.setattr(nlu.datasets, "CACHE_DIR", tmp_path / "cache")
    monkeypatch.setattr(nlu.datasets.time, "sleep", lambda seconds: None)
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    monkeypatch.setenv("CLEARLINE_DATASETS_MIRROR", dead)
    pinned = nlu.datasets.DATASETS["banking77"].files[0].sha256
    with pytest.raises(
        StackError, match=rf"Datasets: could not download {dead}/banking77/train.csv.*{pinned}"
    ):
        fetch_datasets()
    assert list((tmp_path / "cache" / "banking77").iterdir()) == []


def test_missing_emotion_model_says_how_to_get_one(tmp_path: Path, fake_rasa_venv: Path) -> None:
    env = {**_free_ports_env(tmp_path), "CLEARLINE_MODEL_DIR": str(tmp_path / "empty-model")}
    with pytest.raises(StackError, match=r"emotion model is missing.*train-emotions.*CLEARLINE_MODEL_DIR"):
        preflight(env, rasa_venv=fake_rasa_venv)


def test_port_in_use_names_the_port_and_the_variable() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(StackError, match=rf"Port {port} for api .*CLEARLINE_API_PORT"):
            check_port_free("api", port)


def test_every_process_gets_the_same_resolved_settings() -> None:
    settings = CoreSettings(
        database_url="sqlite:////tmp/x.db",
        rasa_tracker_url="sqlite:////tmp/tracker.db",
        rasa_token="tok",  # noqa: S106
        pii_key="pii",
    )
    env = stack_env(settings, base={"CLEARLINE_API_PORT": "9100"})
    assert env["CLEARLINE_DATABASE_URL"] == "sqlite:////tmp/x.db"
    # Rasa writes the tracker store that Clearline exports, erases and purges: one URL for both (a value
    # from .env reaches Rasa too)
    assert env["CLEARLINE_RASA_TRACKER_URL"] == "sqlite:////tmp/tracker.db"
    assert env["CLEARLINE_PII_KEY"] == "pii"
    assert env["CLEARLINE_RASA_TOKEN"] == "tok"
    assert env["CLEARLINE_API_URL"] == "http://127.0.0.1:9100"
    assert stack_ports(env)["api"] == 9100
    assert env["CLEARLINE_ACTION_URL"].endswith(f":{stack_ports(env)['actions']}/webhook")


def test_the_banner_says_how_long_the_start_took_from_make_or_from_the_process() -> None:
    from api import stack

    assert started_note({"CLEARLINE_MAKE_STARTED": "1000"}, now=1250.4) == "ready 250 s after `make` started"
    note = started_note({}, now=stack.PROCESS_STARTED + 42)
    assert note == "ready 42 s after `clearline run` started"
    assert started_note({"CLEARLINE_MAKE_STARTED": "not a time"}, now=stack.PROCESS_STARTED + 1).endswith(
        "after `clearline run` started"
    )


def test_the_action_server_processes_are_one_by_default_and_passed_on_when_set() -> None:
    settings = CoreSettings(demo=True)
    assert stack_env(settings, base={})["CLEARLINE_ACTIONS_WORKERS"] == "1"
    assert stack_env(settings, base={"CLEARLINE_ACTIONS_WORKERS": " 3 "})["CLEARLINE_ACTIONS_WORKERS"] == "3"


@pytest.mark.parametrize("bad", ["0", "-1", "two", "1.5", "", "65", "999999", "²", "٣"])
def test_a_bad_number_of_action_server_processes_stops_the_start_naming_the_variable(bad: str) -> None:
    with pytest.raises(StackError, match=r"CLEARLINE_ACTIONS_WORKERS must be a whole number from 1 to 64"):
        stack_env(CoreSettings(demo=True), base={"CLEARLINE_ACTIONS_WORKERS": bad})
