"""Property-based: whatever the OpenAPI schema lets a client send, the api never answers 5xx.

Each operation is fuzzed by every identity that may call it (an agent, a supervisor, an admin, the bot
with the triage token, or no login for the open ones): called by a role it refuses, an operation
answers 401 or 403 before its handler runs, and "no 5xx" would hold whatever the handler does.
"""

from __future__ import annotations

import re

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.strategies import SearchStrategy
from schemathesis import Case
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.chat_identity import CHAT_COOKIE, new_chat_id, signed_chat_id
from tests.unit.api import factories
from tests.unit.api.conftest import TRIAGE_TOKEN, bearer
from triage.settings import CoreSettings
from triage.storage.db import Role, User, session_scope

REFUSED = (401, 403)  # what the login, role and token checks answer, before any validation
MAX_EXAMPLES = 8  # per operation and identity: about 60 pairs, so the test stays near half a minute


def check_operation(strategy: SearchStrategy[Case], identity: str, headers: dict[str, str]) -> None:
    @given(case=strategy)
    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck)
    )
    def no_5xx(case: Case) -> None:
        response = case.call(headers=headers)
        assert response.status_code < 500, (identity, case.method, case.formatted_path, response.text[:300])

    no_5xx()


TEAM_ROLES = {"alice": Role.AGENT, "sam": Role.SUPERVISOR, "root": Role.ADMIN}


def restore_team(factory: sessionmaker[Session]) -> None:
    """The identities as the test began: active, in their roles (the admin's own fuzzed edits may have
    changed them, and an operation only agents may call would then go unfuzzed)."""
    with session_scope(factory) as session:
        for user in session.scalars(select(User).where(User.username.in_(TEAM_ROLES))):
            user.is_active, user.role = True, TEAM_ROLES[user.username]


def may_call(client: TestClient, method: str, path: str, headers: dict[str, str]) -> bool:
    """Whether the operation's checks let this identity through: they answer before its handler and
    before the path and body are validated, so placeholder path values and no body will do."""
    response = client.request(method, re.sub(r"\{[^}]+\}", "1", path), headers=headers)
    return response.status_code not in REFUSED


def test_no_operation_answers_a_server_error(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int], core: CoreSettings
) -> None:
    with session_scope(factory) as session:
        factories.escalated(session, "c1")
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    callers: dict[str, list[str]] = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        name = f"{operation.method.upper()} {operation.path}"
        callers[name] = []
        restore_team(factory)  # fuzzing PATCH /users/{id} may have deactivated or demoted one of them
        # fresh tokens for each operation: fuzzing POST /auth/logout revokes the ones it is given
        identities = {
            "anonymous": {},
            "agent": bearer(client, "alice"),
            "supervisor": bearer(client, "sam"),
            "admin": bearer(client, "root"),
            "bot": {"Authorization": f"Bearer {TRIAGE_TOKEN}"},
            # a customer's browser on the chat page: its signed chat cookie and the page's header
            "customer": {
                "Cookie": f"{CHAT_COOKIE}={signed_chat_id(core.secret_key, new_chat_id())}",
                "X-Clearline-Chat": "1",
            },
        }
        for identity, headers in identities.items():
            if may_call(client, operation.method.upper(), operation.path, headers):
                check_operation(operation.as_strategy(), identity, headers)
                callers[name].append(identity)
    assert len(callers) >= 20, callers
    assert [name for name, who in callers.items() if not who] == []  # none went unfuzzed
    # the gates as the routes declare them, so a wrong probe cannot quietly skip the handlers
    assert callers["POST /api/v1/users"] == ["admin"]
    assert callers["POST /api/v1/conversations/{conversation_id}/accept"] == ["agent"]
    assert callers["GET /api/v1/metrics"] == ["supervisor", "admin"]
    assert callers["POST /api/v1/handoff"] == ["bot"]
    assert callers["GET /api/v1/conversations"] == ["agent", "supervisor", "admin"]
