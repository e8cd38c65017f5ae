"""``clearline users add`` and ``clearline users seed-demo``."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from api.cli import app
from api.security import verify_password
from triage.settings import get_settings
from triage.storage.db import Role, User, make_engine, make_session_factory


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("CLEARLINE_DATABASE_URL", db_url)
    monkeypatch.setenv("CLEARLINE_DEMO", "true")
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


def users(db_url: str) -> dict[str, User]:
    with make_session_factory(make_engine(db_url))() as session:
        return {u.username: u for u in session.scalars(select(User))}


def test_add_user_with_password_from_env(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARLINE_NEW_USER_PASSWORD", "a very long password")
    result = CliRunner().invoke(
        app, ["users", "add", "carol", "--role", "agent", "--skills", "cards, refunds", "--capacity", "5"]
    )
    assert result.exit_code == 0, result.output
    carol = users(env)["carol"]
    assert carol.role == Role.AGENT and carol.skills == ["cards", "refunds"] and carol.capacity == 5
    assert verify_password("a very long password", carol.password_hash)
    assert carol.password_hash.startswith("$argon2")
    again = CliRunner().invoke(app, ["users", "add", "carol"])
    assert again.exit_code == 1 and "already exists" in again.output


def test_add_user_with_prompted_password_and_bad_input(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLEARLINE_NEW_USER_PASSWORD", raising=False)
    result = CliRunner().invoke(
        app,
        ["users", "add", "sue", "--role", "supervisor"],
        input="another long password\nanother long password\n",
    )
    assert result.exit_code == 0, result.output
    assert users(env)["sue"].role == Role.SUPERVISOR
    short = CliRunner().invoke(app, ["users", "add", "tim"], input="short\nshort\n")
    assert short.exit_code == 1 and "at least 12" in short.output
    role = CliRunner().invoke(app, ["users", "add", "tim", "--role", "king"], input="x\nx\n")
    assert role.exit_code != 0 and "tim" not in users(env)


def test_add_user_refuses_the_name_of_a_system_actor(env: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARLINE_NEW_USER_PASSWORD", "a very long password")
    for name in ("worker", "SLA"):
        result = CliRunner().invoke(app, ["users", "add", name])
        assert result.exit_code == 1, result.output
        assert "system actor" in result.output and "Traceback" not in result.output
    assert users(env) == {}


def test_seed_demo_only_in_demo_mode(env: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["users", "seed-demo"])
    assert result.exit_code == 0 and set(users(env)) == {"alice", "bob", "sam", "admin"}
    assert "none (all exist)" in CliRunner().invoke(app, ["users", "seed-demo"]).output
    monkeypatch.setenv("CLEARLINE_DEMO", "false")
    for name in ("SECRET_KEY", "RASA_TOKEN", "TRIAGE_TOKEN", "PII_KEY"):
        monkeypatch.setenv(f"CLEARLINE_{name}", "not-the-default-secret")
    get_settings.cache_clear()
    refused = CliRunner().invoke(app, ["users", "seed-demo"])
    assert refused.exit_code == 1 and "only" in refused.output
