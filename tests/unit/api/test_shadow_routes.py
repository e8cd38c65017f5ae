"""The shadow model over HTTP: admins set and stop it with a reason, supervisors read the report."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api import factories
from tests.unit.api.conftest import bearer
from tests.unit.api.test_registry_routes import REASON, SHIPPED_MODEL, model_dir
from triage.storage.db import AuditRecord, Message, session_scope


def test_admins_set_and_stop_the_shadow_and_supervisors_read_its_report(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    root, sam, alice = bearer(client, "root"), bearer(client, "sam"), bearer(client, "alice")
    added = client.post("/api/v1/models", json={"path": model_dir(tmp_path, "cand"), **REASON}, headers=root)
    assert added.status_code == 201, added.text
    assert client.post("/api/v1/models/cand/shadow", json=REASON, headers=sam).status_code == 403
    assert client.post("/api/v1/models/cand/shadow", json=REASON).status_code == 401
    assert client.post("/api/v1/models/cand/shadow", json={"reason": ""}, headers=root).status_code == 422
    assert client.post("/api/v1/models/nope/shadow", json=REASON, headers=root).status_code == 404
    active = client.post(f"/api/v1/models/{SHIPPED_MODEL}/shadow", json=REASON, headers=root)
    assert active.status_code == 409 and "active model" in active.json()["detail"]
    done = client.post("/api/v1/models/cand/shadow", json=REASON, headers=root)
    assert done.status_code == 200 and done.json() == {"shadow": "cand", "previous": None}
    listed = {m["version"]: m for m in client.get("/api/v1/models", headers=sam).json()}
    assert listed["cand"]["shadow"] and listed["cand"]["shadow_since"]
    assert not listed[SHIPPED_MODEL]["shadow"]

    with session_scope(factory) as session:  # as the worker's leader would store the shadow's scores
        factories.escalated(session, "shadowed-1")
        session.execute(
            update(Message)
            .where(Message.conversation_id == "shadowed-1", Message.stress.is_not(None))
            .values(shadow_stress=0.2, shadow_flagged=False, shadow_model_version="cand")
        )
    report = client.get("/api/v1/monitoring/shadow", headers=sam).json()
    assert (report["shadow_version"], report["scored"], report["disagreements"]) == ("cand", 2, 1)
    assert report["latest_disagreements"][0]["conversation_id"] == "shadowed-1"
    assert client.get("/api/v1/monitoring/shadow", headers=alice).status_code == 403
    assert client.get("/api/v1/monitoring/shadow", params={"limit": 501}, headers=sam).status_code == 422

    off = client.post("/api/v1/models/shadow/off", json={"reason": "seen enough"}, headers=root)
    assert off.status_code == 200 and off.json() == {"shadow": None, "previous": "cand"}
    assert client.post("/api/v1/models/shadow/off", json=REASON, headers=sam).status_code == 403
    # no shadow: an empty report, nothing made up
    after = client.get("/api/v1/monitoring/shadow", headers=sam).json()
    assert (after["shadow_version"], after["scored"], after["agreement"]) == (None, 0, None)
    with factory() as session:
        reasons = session.scalars(
            select(AuditRecord.inputs).where(AuditRecord.action == "model_shadow").order_by(AuditRecord.id)
        ).all()
        assert [r["reason"] for r in reasons] == [REASON["reason"], "seen enough"]
