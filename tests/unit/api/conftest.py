"""API tests run the real app against a real SQLite database built by the Alembic migrations."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.ratelimit import limiter
from api.relay import OutboxRelay
from api.sessions import open_session
from api.settings import ApiSettings
from tests.unit.api import factories
from triage.settings import CoreSettings
from triage.storage.db import Role, User, make_engine, make_session_factory, session_scope
from triage.storage.migrate import upgrade

TRIAGE_TOKEN = "test-triage-token-0123456789"  # noqa: S105


@dataclass
class RecordingRasa:
    """Stands in for Rasa's HTTP API inside unit tests: records the commands it was given."""

    sent: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)

    def send(self, conversation_id: str, kind: str, payload: dict[str, Any]) -> None:
        self.sent.append((conversation_id, kind, payload))


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "clearline.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture
def db_url(tmp_path: Path, migrated_template: Path) -> str:
    path = tmp_path / "clearline.db"
    shutil.copy(migrated_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def factory(db_url: str) -> sessionmaker[Session]:
    return make_session_factory(make_engine(db_url))


@pytest.fixture
def rasa() -> RecordingRasa:
    return RecordingRasa()


@pytest.fixture
def core(db_url: str) -> CoreSettings:
    return CoreSettings(
        database_url=db_url,
        demo=False,
        secret_key="test-secret-key-0123456789",
        pii_key="test-pii-key-0123456789",  # noqa: S106
        rasa_token="test-rasa-token-0123456789",
        triage_token=TRIAGE_TOKEN,  # noqa: S106
    )


@pytest.fixture
def client(core: CoreSettings, factory: sessionmaker[Session], rasa: RecordingRasa) -> Iterator[TestClient]:
    limiter.reset()
    settings = ApiSettings(cookie_secure=False, live_poll_interval_s=0.05)
    app = create_app(core, settings, factory, OutboxRelay(factory, lambda: rasa))
    with TestClient(app) as test_client:
        yield test_client
    limiter.reset()


@pytest.fixture
def team(factory: sessionmaker[Session]) -> dict[str, int]:
    """alice (cards), bob (transfers), sam (supervisor), root (admin); ids by name."""
    with session_scope(factory) as session:
        users = {
            "alice": factories.user(session, "alice", Role.AGENT, ("cards", "general")),
            "bob": factories.user(session, "bob", Role.AGENT, ("transfers",)),
            "sam": factories.user(session, "sam", Role.SUPERVISOR),
            "root": factories.user(session, "root", Role.ADMIN),
        }
        return {name: u.id for name, u in users.items()}


def login(client: TestClient, username: str) -> str:
    """Log in with the session cookie; returns the CSRF token."""
    response = client.post("/api/v1/auth/login", json={"username": username, "password": factories.PASSWORD})
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


def bearer(client: TestClient, username: str) -> dict[str, str]:
    """A bearer token for a new session, minted with the app's signer (login itself is tested in
    test_auth; argon2 is slow)."""
    factory: sessionmaker[Session] = client.app.state.session_factory  # type: ignore[attr-defined]
    with session_scope(factory) as session:
        user = session.scalars(select(User).where(User.username == username)).one()
        signed_in = open_session(session, user, "bearer", 3600)
        token = client.app.state.signer.api_token(signed_in.id, user.id, user.password_hash)  # type: ignore[attr-defined]
    return {"Authorization": f"Bearer {token}"}


def bearer_by_login(client: TestClient, username: str) -> dict[str, str]:
    response = client.post("/api/v1/auth/token", json={"username": username, "password": factories.PASSWORD})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}
