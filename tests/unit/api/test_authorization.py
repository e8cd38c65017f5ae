"""Each role against each route: 401 without a login, 403 for the wrong role, 404 for others' queues."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api import factories
from tests.unit.api.conftest import bearer
from triage.storage.db import session_scope

REASON = "customer asked for a specialist"
# c1 is in queue "cards" (alice's skill, not bob's) and assigned to alice; escalation 1 belongs to it.
ROUTES: list[tuple[str, str, dict[str, Any] | None, dict[str, int]]] = [
    # method, path, body, expected status per role (anon is always 401 unless listed)
    ("GET", "/api/v1/auth/me", None, {"alice": 200, "bob": 200, "sam": 200, "root": 200}),
    ("GET", "/api/v1/users", None, {"alice": 403, "bob": 403, "sam": 403, "root": 200}),
    (
        "POST",
        "/api/v1/users",
        {"username": "carol", "password": "a long enough password", "role": "agent", "skills": ["cards"]},
        {"alice": 403, "bob": 403, "sam": 403, "root": 201},
    ),
    ("GET", "/api/v1/conversations", None, {"alice": 200, "bob": 200, "sam": 200, "root": 200}),
    ("GET", "/api/v1/conversations/c1", None, {"alice": 200, "bob": 404, "sam": 200, "root": 200}),
    ("GET", "/api/v1/conversations/c1/audit", None, {"alice": 200, "bob": 404, "sam": 200, "root": 200}),
    ("POST", "/api/v1/conversations/c1/accept", None, {"alice": 200, "bob": 404, "sam": 403, "root": 403}),
    (
        "POST",
        "/api/v1/conversations/c1/reply",
        {"text": "On it."},
        {"alice": 201, "bob": 404, "sam": 201, "root": 201},
    ),
    (
        "POST",
        "/api/v1/conversations/c1/transfer",
        {"to_queue": "general", "reason": REASON},
        {"alice": 200, "bob": 404, "sam": 200, "root": 200},
    ),
    (
        "POST",
        "/api/v1/conversations/c1/resolve",
        {"reason": REASON},
        {"alice": 200, "bob": 404, "sam": 200, "root": 200},
    ),
    (
        "POST",
        "/api/v1/conversations/c1/priority",
        {"priority": 90, "reason": REASON},
        {"alice": 403, "bob": 403, "sam": 200, "root": 200},
    ),
    (
        "POST",
        "/api/v1/conversations/c1/reassign",
        {"to_agent_id": "BOB", "reason": REASON},
        {"alice": 403, "bob": 403, "sam": 200, "root": 200},
    ),
    (
        "POST",
        "/api/v1/escalations/1/feedback",
        {"verdict": "correct"},
        {"alice": 201, "bob": 404, "sam": 201, "root": 201},
    ),
    ("GET", "/api/v1/escalations/1/feedback", None, {"alice": 200, "bob": 404, "sam": 200, "root": 200}),
    (
        "POST",
        "/api/v1/escalations/1/unflag",
        {"reason": REASON},
        {"alice": 403, "bob": 403, "sam": 200, "root": 200},
    ),
    ("GET", "/api/v1/agents", None, {"alice": 200, "bob": 200, "sam": 200, "root": 200}),
    (
        "PUT",
        "/api/v1/agents/me/status",
        {"status": "away"},
        {"alice": 200, "bob": 200, "sam": 403, "root": 403},
    ),
    ("GET", "/api/v1/queues", None, {"alice": 200, "bob": 200, "sam": 200, "root": 200}),
    ("GET", "/api/v1/queue-names", None, {"alice": 200, "bob": 200, "sam": 200, "root": 200}),
    ("GET", "/api/v1/metrics", None, {"alice": 403, "bob": 403, "sam": 200, "root": 200}),
    # the bot's endpoint takes the triage token only: user tokens are not it
    (
        "POST",
        "/api/v1/handoff",
        {"conversation_id": "c9"},
        {"alice": 401, "bob": 401, "sam": 401, "root": 401},
    ),
]


@pytest.fixture
def world(factory: sessionmaker[Session], team: dict[str, int]) -> dict[str, int]:
    with session_scope(factory) as session:
        conversation = factories.escalated(session, "c1")
        factories.assign(session, conversation, session.get_one(factories.User, team["alice"]))
    return team


@pytest.mark.parametrize("role", ["anon", "alice", "bob", "sam", "root"])
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), ROUTES, ids=[f"{r[0]} {r[1]}" for r in ROUTES]
)
def test_role_against_route(
    client: TestClient,
    world: dict[str, int],
    role: str,
    method: str,
    path: str,
    body: dict[str, Any] | None,
    expected: dict[str, int],
) -> None:
    headers = {} if role == "anon" else bearer(client, role)
    if body is not None and body.get("to_agent_id") == "BOB":
        body = {**body, "to_agent_id": world["bob"]}
    response = client.request(method, path, json=body, headers=headers)
    want = 401 if role == "anon" else expected[role]
    assert response.status_code == want, response.text
