"""GET /api/v1/audit: the live feed over REST, with the same visibility as the websocket."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api import factories
from tests.unit.api.conftest import bearer
from triage import audit
from triage.storage.db import session_scope


def seed(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        factories.escalated(session, "cards-1")  # audit id 1
        factories.escalated(session, "transfers-1", intent="transfer_not_received_by_recipient")  # id 2
        # a system record whose actor has a name an agent could have: never "their" record
        audit.record(session, audit.Actor.system("alice"), "sweep", inputs={})  # id 3
        audit.record(session, audit.Actor("user", "alice", None), "agent_status", inputs={})  # id 4


def ids(client: TestClient, user: str, **params: object) -> list[int]:
    response = client.get("/api/v1/audit", params=params, headers=bearer(client, user))
    assert response.status_code == 200, response.text
    return [record["id"] for record in response.json()]


def test_supervisor_reads_everything_after_an_id_or_the_newest_first(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session]
) -> None:
    seed(factory)
    assert ids(client, "sam") == [1, 2, 3, 4]
    assert ids(client, "sam", after=2) == [3, 4]
    assert ids(client, "sam", newest=True, limit=2) == [4, 3]


def test_an_agent_sees_their_queues_and_their_own_actions_only(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session]
) -> None:
    seed(factory)
    assert ids(client, "alice") == [1, 4]  # cards-1 and her own action, not the system's "alice"
    assert ids(client, "bob") == [2]


def test_bad_parameters_are_refused(client: TestClient, team: dict[str, int]) -> None:
    for params in ({"after": -1}, {"after": 2**63}, {"limit": 0}, {"limit": 5000}, {"after": "x"}):
        assert client.get("/api/v1/audit", params=params, headers=bearer(client, "sam")).status_code == 422
    assert client.get("/api/v1/audit").status_code == 401


@pytest.fixture(autouse=True)
def only_the_tests_records(client: TestClient, factory: sessionmaker[Session]) -> None:
    """The app's first start registers the configured model and policy (audited by actor `registry`);
    the feeds below are asserted record by record, so those go first."""
    from sqlalchemy import delete

    from triage.storage.db import AuditRecord

    with factory() as session:
        session.execute(delete(AuditRecord).where(AuditRecord.actor == "registry"))
        session.commit()
