"""GET /api/v1/audit: the live feed over REST, with the same visibility as the websocket."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api import factories
from tests.unit.api.conftest import bearer
from triage import audit
from triage.storage.db import AuditRecord, session_scope


def seed(factory: sessionmaker[Session]) -> list[int]:
    """Four records; returns their ids in order (not 1-4: PostgreSQL's sequence goes on after the
    registry's first-start records are deleted)."""
    with session_scope(factory) as session:
        factories.escalated(session, "cards-1")
        factories.escalated(session, "transfers-1", intent="transfer_not_received_by_recipient")
        # a system record whose actor has a name an agent could have: never "their" record
        audit.record(session, audit.Actor.system("alice"), "sweep", inputs={})
        audit.record(session, audit.Actor("user", "alice", None), "agent_status", inputs={})
    with factory() as session:
        return list(session.scalars(select(AuditRecord.id).order_by(AuditRecord.id)))


def ids(client: TestClient, user: str, **params: object) -> list[int]:
    response = client.get("/api/v1/audit", params=params, headers=bearer(client, user))
    assert response.status_code == 200, response.text
    return [record["id"] for record in response.json()]


def test_supervisor_reads_everything_after_an_id_or_the_newest_first(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session]
) -> None:
    cards, transfers, sweep, status = seed(factory)
    assert ids(client, "sam") == [cards, transfers, sweep, status]
    assert ids(client, "sam", after=transfers) == [sweep, status]
    assert ids(client, "sam", newest=True, limit=2) == [status, sweep]


def test_an_agent_sees_their_queues_and_their_own_actions_only(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session]
) -> None:
    cards, transfers, _sweep, status = seed(factory)
    assert ids(client, "alice") == [cards, status]  # cards-1 and her own action, not the system's "alice"
    assert ids(client, "bob") == [transfers]


def test_bad_parameters_are_refused(client: TestClient, team: dict[str, int]) -> None:
    for params in ({"after": -1}, {"after": 2**63}, {"limit": 0}, {"limit": 5000}, {"after": "x"}):
        assert client.get("/api/v1/audit", params=params, headers=bearer(client, "sam")).status_code == 422
    assert client.get("/api/v1/audit").status_code == 401


@pytest.fixture(autouse=True)
def only_the_tests_records(client: TestClient, factory: sessionmaker[Session]) -> None:
    """The app's first start registers the configured model and policy (audited by actor `registry`);
    the feeds below are asserted record by record, so those go first."""
    with factory() as session:
        session.execute(delete(AuditRecord).where(AuditRecord.actor == "registry"))
        session.commit()
