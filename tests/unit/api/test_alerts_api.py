"""GET /api/v1/alerts and POST /api/v1/alerts/{id}/acknowledge: supervisors and admins only."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api import factories
from tests.unit.api.conftest import bearer
from triage.services.alerts import raise_alerts
from triage.storage.db import session_scope, utcnow


def test_the_feed_and_acknowledging(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session]
) -> None:
    with session_scope(factory) as session:
        factories.escalated(session, "cards-1")
    with session_scope(factory) as session:
        raised = raise_alerts(session, utcnow() + timedelta(minutes=2))  # a P1 waiting two minutes
        assert raised, "the seeded P1 conversation waits past the threshold"
        alert_id = raised[0].id
    sam = bearer(client, "sam")
    feed = client.get("/api/v1/alerts", params={"open": "true"}, headers=sam).json()
    assert [(a["id"], a["conversation_id"], a["acknowledged_at"]) for a in feed][:1] == [
        (alert_id, "cards-1", None)
    ]
    assert client.get("/api/v1/alerts", headers=bearer(client, "alice")).status_code == 403
    assert client.get("/api/v1/alerts").status_code == 401
    done = client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=sam)
    assert done.status_code == 200 and done.json()["acknowledged_by_name"] == "Sam"
    open_ids = [a["id"] for a in client.get("/api/v1/alerts", params={"open": "true"}, headers=sam).json()]
    assert alert_id not in open_ids
    everything = client.get("/api/v1/alerts", headers=bearer(client, "root")).json()
    assert any(a["id"] == alert_id and a["acknowledged_at"] for a in everything)
    assert client.post("/api/v1/alerts/999999/acknowledge", headers=sam).status_code == 404
    assert (
        client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=bearer(client, "alice")).status_code
        == 403
    )
    assert client.get("/api/v1/alerts", params={"limit": 0}, headers=sam).status_code == 422
