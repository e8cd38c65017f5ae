"""Agents' display names (issue #20): set by an admin through the API or the CLI, audited, refused when
empty or with control characters; the demo team has names."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.cli import app
from api.users import DEMO_USERS
from tests.unit.api.conftest import bearer
from triage.settings import get_settings
from triage.storage.db import AuditRecord, Role, User


def name_of(factory: sessionmaker[Session], user_id: int) -> str:
    with factory() as session:
        return session.get_one(User, user_id).display_name


def test_an_admin_sets_a_display_name_and_it_is_audited(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session]
) -> None:
    url = f"/api/v1/users/{team['alice']}/display-name"
    answer = client.put(url, json={"display_name": "  Alice Moreau "}, headers=bearer(client, "root"))
    assert answer.status_code == 200 and answer.json() == {
        "id": team["alice"],
        "username": "alice",
        "display_name": "Alice Moreau",
    }
    with factory() as session:
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "display_name")).one()
    assert record.actor == "root" and record.inputs == {"user_id": team["alice"], "before": "Alice"}
    assert record.outcome == {"display_name": "Alice Moreau"}


@pytest.mark.parametrize("who", ["alice", "sam"])
def test_only_admins_set_names(client: TestClient, team: dict[str, int], who: str) -> None:
    url = f"/api/v1/users/{team['alice']}/display-name"
    assert client.put(url, json={"display_name": "Boss"}, headers=bearer(client, who)).status_code == 403
    assert client.put(url, json={"display_name": "Boss"}).status_code == 401


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"display_name": ""}, "at least 1"),
        ({"display_name": "   "}, "at least 1"),
        ({"display_name": "A" * 129}, "at most 128"),
        ({"display_name": "Alice\x00"}, "pattern"),
        ({"display_name": "Alice\nMoreau"}, "pattern"),
        ({}, "Field required"),
    ],
)
def test_bad_names_are_refused_and_the_old_one_kept(
    client: TestClient,
    team: dict[str, int],
    factory: sessionmaker[Session],
    body: dict[str, object],
    needle: str,
) -> None:
    url = f"/api/v1/users/{team['alice']}/display-name"
    answer = client.put(url, json=body, headers=bearer(client, "root"))
    assert answer.status_code == 422 and needle in answer.text, answer.text
    assert name_of(factory, team["alice"]) == "Alice"


def test_an_unknown_user_is_404(client: TestClient, team: dict[str, int]) -> None:
    answer = client.put(
        "/api/v1/users/9999/display-name", json={"display_name": "X"}, headers=bearer(client, "root")
    )
    assert answer.status_code == 404


@pytest.fixture
def env(db_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("CLEARLINE_DATABASE_URL", db_url)
    get_settings.cache_clear()
    yield db_url
    get_settings.cache_clear()


def test_the_cli_sets_a_name_and_says_what_is_wrong(
    env: str, team: dict[str, int], factory: sessionmaker[Session]
) -> None:
    done = CliRunner().invoke(app, ["users", "set-name", "bob", "Bob Okafor"])
    assert done.exit_code == 0 and "bob is shown as 'Bob Okafor'" in done.output
    assert name_of(factory, team["bob"]) == "Bob Okafor"
    with factory() as session:
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "display_name")).one()
    assert (record.actor, record.actor_type) == ("cli", "system")
    missing = CliRunner().invoke(app, ["users", "set-name", "nobody", "X"])
    assert missing.exit_code == 1 and "user 'nobody' not found" in missing.output
    empty = CliRunner().invoke(app, ["users", "set-name", "bob", "  "])
    assert empty.exit_code == 1 and "display name is empty" in empty.output
    assert name_of(factory, team["bob"]) == "Bob Okafor"


def test_the_demo_agents_have_names() -> None:
    agents = {u.username: u.display_name for u in DEMO_USERS if u.role == Role.AGENT}
    assert agents == {"alice": "Alice Moreau", "bob": "Bob Okafor"}
