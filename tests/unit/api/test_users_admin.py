"""User administration through the API (admins): edit role, skills, capacity, deactivate, reset a
password; sessions end on the server; open conversations go back to their queues; every change audited."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api import factories
from tests.unit.api.conftest import bearer
from triage.storage.db import AuditRecord, Conversation, ConversationState, User, session_scope

NEW_PASSWORD = "a brand new passphrase"  # noqa: S105


def patch(client: TestClient, user_id: int, body: dict[str, object], as_user: str = "root") -> object:
    return client.patch(f"/api/v1/users/{user_id}", json=body, headers=bearer(client, as_user))


def audits(factory: sessionmaker[Session], action: str) -> list[AuditRecord]:
    with factory() as session:
        return list(session.scalars(select(AuditRecord).where(AuditRecord.action == action)))


def test_an_admin_edits_skills_capacity_and_role(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session]
) -> None:
    response = patch(client, team["bob"], {"skills": ["transfers", "refunds", "lang-de"], "capacity": 5})
    assert response.status_code == 200, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["skills"] == ["transfers", "refunds", "lang-de"] and body["capacity"] == 5
    assert client.get(f"/api/v1/users/{team['bob']}", headers=bearer(client, "root")).json()["capacity"] == 5
    (record,) = audits(factory, "user_update")
    assert record.actor == "root" and record.inputs["before"]["capacity"] == 3
    assert record.outcome["after"]["capacity"] == 5
    promoted = patch(client, team["bob"], {"role": "supervisor"})
    assert promoted.json()["role"] == "supervisor"  # type: ignore[attr-defined]


def test_refusals_are_clear_and_change_nothing(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session]
) -> None:
    bob = team["bob"]
    assert patch(client, bob, {"skills": ["transfrs"]}).status_code == 422  # type: ignore[attr-defined]
    assert "unknown skill" in patch(client, bob, {"skills": ["transfrs"]}).text  # type: ignore[attr-defined]
    for body in ({"capacity": -1}, {"capacity": 51}, {"role": "god"}, {"skills": ["Bad Name"]}, {"x": 1}):
        assert patch(client, bob, body).status_code == 422, body  # type: ignore[attr-defined]
    assert patch(client, 999_999, {"capacity": 1}).status_code == 404  # type: ignore[attr-defined]
    assert patch(client, bob, {"capacity": 1}, as_user="sam").status_code == 403  # type: ignore[attr-defined]
    assert patch(client, bob, {"capacity": 1}, as_user="alice").status_code == 403  # type: ignore[attr-defined]
    assert client.patch(f"/api/v1/users/{bob}", json={"capacity": 1}).status_code == 401
    # the last active admin, and an admin on themselves
    refused = patch(client, team["root"], {"is_active": False})
    assert refused.status_code == 409 and "last active admin" in refused.text  # type: ignore[attr-defined]
    with session_scope(factory) as session:
        factories.user(session, "root2", factories.Role.ADMIN)
    refused = patch(client, team["root"], {"is_active": False})
    assert refused.status_code == 409 and "your own account" in refused.text  # type: ignore[attr-defined]
    refused = patch(client, team["root"], {"role": "agent"})
    assert refused.status_code == 409 and "from yourself" in refused.text  # type: ignore[attr-defined]
    with factory() as session:
        assert session.get_one(User, bob).capacity == 3 and session.get_one(User, team["root"]).is_active
    assert audits(factory, "user_update") == []


def test_deactivating_an_agent_ends_sessions_and_requeues_their_conversations(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session]
) -> None:
    with session_scope(factory) as session:
        conversation = factories.escalated(session, "cards-1")
        factories.assign(session, conversation, session.get_one(User, team["alice"]))
    alice = bearer(client, "alice")
    assert client.get("/api/v1/auth/me", headers=alice).status_code == 200
    response = patch(client, team["alice"], {"is_active": False})
    assert response.status_code == 200 and response.json()["is_active"] is False  # type: ignore[attr-defined]
    assert client.get("/api/v1/auth/me", headers=alice).status_code == 401  # her token ended on the server
    with factory() as session:
        back = session.get_one(Conversation, "cards-1")
        assert back.state == ConversationState.QUEUED and back.assigned_agent_id is None
    (record,) = audits(factory, "user_update")
    assert record.outcome["sessions_revoked"] >= 1 and record.outcome["after"]["is_active"] is False
    login = client.post("/api/v1/auth/token", json={"username": "alice", "password": factories.PASSWORD})
    assert login.status_code == 401
    assert patch(client, team["alice"], {"is_active": True}).status_code == 200  # type: ignore[attr-defined]


def test_a_password_reset_ends_every_session_and_is_audited_without_it(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session]
) -> None:
    bob = bearer(client, "bob")
    url = f"/api/v1/users/{team['bob']}/password"
    root = bearer(client, "root")
    assert client.post(url, json={"password": "short"}, headers=root).status_code == 422
    assert client.post(url, json={"password": NEW_PASSWORD}, headers=bearer(client, "sam")).status_code == 403
    assert client.post(url, json={"password": NEW_PASSWORD}, headers=root).status_code == 204
    assert client.get("/api/v1/auth/me", headers=bob).status_code == 401
    old = client.post("/api/v1/auth/token", json={"username": "bob", "password": factories.PASSWORD})
    new = client.post("/api/v1/auth/token", json={"username": "bob", "password": NEW_PASSWORD})
    assert old.status_code == 401 and new.status_code == 200
    (record,) = audits(factory, "password_reset")
    assert NEW_PASSWORD not in str(record.inputs) + str(record.outcome)
    assert (
        client.post(
            "/api/v1/users/999999/password", json={"password": NEW_PASSWORD}, headers=root
        ).status_code
        == 404
    )


def test_adding_a_user_checks_skills_and_is_audited(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session]
) -> None:
    root = bearer(client, "root")
    body = {"username": "carol", "password": NEW_PASSWORD, "role": "agent", "skills": ["cards", "lang-fr"]}
    assert client.post("/api/v1/users", json=body, headers=root).status_code == 201
    typo = {**body, "username": "dave", "skills": ["crads"]}
    assert client.post("/api/v1/users", json=typo, headers=root).status_code == 422
    (record,) = audits(factory, "user_add")
    assert record.inputs["username"] == "carol" and record.outcome["skills"] == ["cards", "lang-fr"]
