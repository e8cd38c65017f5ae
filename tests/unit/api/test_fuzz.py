"""Property-based: whatever the OpenAPI schema lets a client send, the api never answers 5xx."""

from __future__ import annotations

import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.strategies import SearchStrategy
from schemathesis import Case
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api import factories
from tests.unit.api.conftest import bearer
from triage.db import session_scope


def check_operation(strategy: SearchStrategy[Case], headers: dict[str, str]) -> None:
    @given(case=strategy)
    @settings(max_examples=20, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    def no_5xx(case: Case) -> None:
        response = case.call(headers=headers)
        assert response.status_code < 500, (case.method, case.formatted_path, response.text[:300])

    no_5xx()


def test_no_operation_answers_a_server_error(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    with session_scope(factory) as session:
        factories.escalated(session, "c1")
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    supervisor, agent = bearer(client, "sam"), bearer(client, "alice")
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        headers = agent if operation.path.startswith("/api/v1/agents/me") else supervisor
        check_operation(operation.as_strategy(), headers)
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert len(checked) >= 20, checked
