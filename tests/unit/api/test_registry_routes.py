"""The registry's routes: who may do what, the errors, the api's switch at its next request, and the
bot's hand-off escalation recording the active model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api.conftest import TRIAGE_TOKEN, bearer, login
from tests.unit.triage.policies import SHIPPED_POLICY, shipped_policy_data
from triage.domain.policy import load_policy
from triage.registry.artifacts import model_candidate
from triage.settings import ROOT
from triage.storage.db import AuditRecord, Escalation

SHIPPED_MODEL = model_candidate(ROOT / "data" / "models" / "emotions").version
SHIPPED_POLICY_VERSION = load_policy(SHIPPED_POLICY).version
REASON = {"reason": "fewer missed refunds"}


def policy_yaml(version: str, **changes: Any) -> str:
    return yaml.safe_dump(shipped_policy_data() | {"version": version, **changes})


def model_dir(tmp_path: Path, version: str) -> str:
    path = tmp_path / version
    path.mkdir()
    (path / "config.json").write_text("{}")
    (path / "model.safetensors").write_bytes(version.encode())
    (path / "clearline.json").write_text(json.dumps({"version": version}))
    return str(path)


ROLE_ROUTES: list[tuple[str, str, str, dict[str, int]]] = [
    ("GET", "/api/v1/models", "", {"alice": 403, "sam": 200, "root": 200}),
    ("GET", "/api/v1/policies", "", {"alice": 403, "sam": 200, "root": 200}),
    ("GET", f"/api/v1/policies/{SHIPPED_POLICY_VERSION}", "", {"alice": 403, "sam": 200, "root": 200}),
    ("POST", "/api/v1/policies", "policy", {"alice": 403, "sam": 403, "root": 201}),
    ("POST", "/api/v1/models", "model", {"alice": 403, "sam": 403, "root": 201}),
    ("POST", "/api/v1/policies/candidate/promote", "reason", {"alice": 403, "sam": 403, "root": 404}),
    ("POST", "/api/v1/models/candidate/promote", "reason", {"alice": 403, "sam": 403, "root": 404}),
    ("POST", "/api/v1/policies/rollback", "reason", {"alice": 403, "sam": 403, "root": 409}),
    ("POST", "/api/v1/models/rollback", "reason", {"alice": 403, "sam": 403, "root": 409}),
]


@pytest.mark.parametrize("role", ["anon", "alice", "sam", "root"])
@pytest.mark.parametrize(
    ("method", "path", "body", "expected"), ROLE_ROUTES, ids=[f"{r[0]} {r[1]}" for r in ROLE_ROUTES]
)
def test_supervisors_see_and_only_admins_change_the_registry(
    client: TestClient,
    team: dict[str, int],
    tmp_path: Path,
    role: str,
    method: str,
    path: str,
    body: str,
    expected: dict[str, int],
) -> None:
    bodies = {
        "": None,
        "reason": REASON,
        "policy": {"yaml": policy_yaml("candidate"), **REASON},
        "model": {"path": model_dir(tmp_path, "candidate"), **REASON},
    }
    headers = {} if role == "anon" else bearer(client, role)
    response = client.request(method, path, json=bodies[body], headers=headers)
    assert response.status_code == (401 if role == "anon" else expected[role]), response.text


def test_the_configured_pair_is_registered_and_active_at_start(
    client: TestClient, team: dict[str, int]
) -> None:
    admin = bearer(client, "root")
    models = client.get("/api/v1/models", headers=admin).json()
    policies = client.get("/api/v1/policies", headers=admin).json()
    assert [(m["version"], m["active"], m["added_by"]) for m in models] == [(SHIPPED_MODEL, True, "registry")]
    assert [(p["version"], p["active"]) for p in policies] == [(SHIPPED_POLICY_VERSION, True)]
    shown = client.get(f"/api/v1/policies/{SHIPPED_POLICY_VERSION}", headers=admin).json()
    assert shown["yaml"] == SHIPPED_POLICY.read_text()


def test_a_promoted_policy_applies_at_the_next_request_and_a_rollback_restores_it(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session]
) -> None:
    admin = bearer(client, "root")
    queues = shipped_policy_data()["queues"] | {"mortgages": ["mortgage_question"]}
    added = client.post(
        "/api/v1/policies",
        json={"yaml": policy_yaml("with-mortgages", queues=queues), **REASON},
        headers=admin,
    )
    assert added.status_code == 201, added.text
    assert "mortgages" not in client.get("/api/v1/queue-names", headers=admin).json()  # added, not active
    promoted = client.post("/api/v1/policies/with-mortgages/promote", json=REASON, headers=admin)
    assert promoted.json() == {
        "kind": "policy",
        "action": "promote",
        "before": SHIPPED_POLICY_VERSION,
        "after": "with-mortgages",
    }
    assert "mortgages" in client.get("/api/v1/queue-names", headers=admin).json()
    back = client.post("/api/v1/policies/rollback", json={"reason": "queue not staffed yet"}, headers=admin)
    assert back.status_code == 200 and back.json()["after"] == SHIPPED_POLICY_VERSION
    assert "mortgages" not in client.get("/api/v1/queue-names", headers=admin).json()
    with factory() as session:
        records = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.action.in_(["policy_promote", "policy_rollback"]))
            .order_by(AuditRecord.id)
        ).all()
    assert [(r.action, r.actor, r.inputs["reason"], r.outcome["version"]) for r in records] == [
        (
            "policy_promote",
            "registry",
            "the configured policy, registered on first start",
            SHIPPED_POLICY_VERSION,
        ),
        ("policy_promote", "root", "fewer missed refunds", "with-mortgages"),
        ("policy_rollback", "root", "queue not staffed yet", SHIPPED_POLICY_VERSION),
    ]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "detail"),
    [
        ("POST", "/api/v1/policies", {"yaml": "escalate_at: [", **REASON}, 422, "is not valid YAML"),
        (
            "POST",
            "/api/v1/policies",
            {"yaml": policy_yaml("x", escalate_at=500), **REASON},
            422,
            "escalate_at",
        ),
        ("POST", "/api/v1/policies", {"yaml": policy_yaml("x")}, 422, "reason"),
        ("POST", "/api/v1/models", {"path": "/nowhere/model", **REASON}, 422, "not a directory"),
        ("POST", f"/api/v1/policies/{SHIPPED_POLICY_VERSION}/promote", REASON, 409, "already the active one"),
        ("POST", f"/api/v1/models/{SHIPPED_MODEL}/promote", REASON, 409, "already the active one"),
        ("POST", "/api/v1/models/rollback", REASON, 409, "replaced no other"),
        ("GET", "/api/v1/policies/nope", None, 404, "no policy version 'nope'"),
        ("POST", "/api/v1/models/nope/promote", {"reason": "  "}, 422, "reason"),
    ],
)
def test_bad_input_is_refused_clearly(
    client: TestClient, team: dict[str, int], method: str, path: str, body: Any, status: int, detail: str
) -> None:
    response = client.request(method, path, json=body, headers=bearer(client, "root"))
    assert response.status_code == status and detail in response.text, response.text


def test_a_model_directory_without_weights_is_refused(
    client: TestClient, team: dict[str, int], tmp_path: Path
) -> None:
    path = Path(model_dir(tmp_path, "no-weights"))
    (path / "model.safetensors").unlink()
    response = client.post(
        "/api/v1/models", json={"path": str(path), **REASON}, headers=bearer(client, "root")
    )
    assert response.status_code == 422 and "no weights" in response.json()["detail"]
    assert len(client.get("/api/v1/models", headers=bearer(client, "root")).json()) == 1


def test_a_promotion_from_the_browser_needs_the_csrf_token(
    client: TestClient, team: dict[str, int], tmp_path: Path
) -> None:
    csrf = login(client, "root")
    body = {"path": model_dir(tmp_path, "m2"), **REASON}
    assert client.post("/api/v1/models", json=body).status_code == 403
    assert client.post("/api/v1/models", json=body, headers={"X-CSRF-Token": csrf}).status_code == 201
    promote = client.post("/api/v1/models/m2/promote", json=REASON, headers={"X-CSRF-Token": csrf})
    assert promote.status_code == 200 and promote.json()["before"] == SHIPPED_MODEL


def test_the_bot_s_hand_off_escalation_records_the_active_model(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session], tmp_path: Path
) -> None:
    admin = bearer(client, "root")
    client.post("/api/v1/models", json={"path": model_dir(tmp_path, "m2"), **REASON}, headers=admin)
    client.post("/api/v1/models/m2/promote", json=REASON, headers=admin)
    body = {"conversation_id": "sender-1", "reason": "customer asked for a human", "intent": "request_human"}
    response = client.post("/api/v1/handoff", json=body, headers={"Authorization": f"Bearer {TRIAGE_TOKEN}"})
    assert response.status_code == 202
    with factory() as session:
        escalation = session.get_one(Escalation, response.json()["escalation_id"])
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "escalate")).one()
    assert (escalation.model_version, escalation.policy_version) == ("m2", SHIPPED_POLICY_VERSION)
    assert record.versions == {"policy": SHIPPED_POLICY_VERSION, "model": "m2"}
