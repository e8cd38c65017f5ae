"""``POST /api/v1/replay``: the report of ``clearline replay --json`` for registered versions, for
supervisors and admins, audited, and nothing else written."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.routes import replay as replay_route
from tests.unit.api.conftest import bearer, login
from tests.unit.api.replay_rows import JUDGED, policy_yaml, seed_judged
from tests.unit.api.test_registry_routes import REASON, SHIPPED_MODEL, SHIPPED_POLICY_VERSION, model_dir
from tests.unit.triage.fakes import FakeScorer
from triage import replay_run
from triage.storage.db import AuditRecord, User, session_scope

REPORT_KEYS = {
    "conversations",
    "escalations_current",
    "escalations_candidate",
    "added",
    "removed",
    "priority_changed",
    "queue_changed",
    "precision_current",
    "precision_candidate",
    "recall_current",
    "recall_candidate",
    "feedback_used",
    "model",
    "policy",
}


@pytest.fixture
def judged(client: TestClient, team: dict[str, int], factory: sessionmaker[Session]) -> dict[str, str]:
    """The judged escalations of replay_rows and a candidate policy with the stress weight at 30,
    registered by the admin; the admin's bearer headers."""
    with session_scope(factory) as session:
        seed_judged(session, judge=session.get_one(User, team["sam"]))
    admin = bearer(client, "root")
    added = client.post(
        "/api/v1/policies", json={"yaml": policy_yaml("stress-30", 30), **REASON}, headers=admin
    )
    assert added.status_code == 201, added.text
    return admin


def replay(client: TestClient, who: str, **body: Any) -> Any:
    return client.post("/api/v1/replay", json=body, headers=bearer(client, who))


@pytest.mark.parametrize(("role", "expected"), [("anon", 401), ("alice", 403), ("sam", 200), ("root", 200)])
def test_supervisors_and_admins_replay(
    client: TestClient, judged: dict[str, str], role: str, expected: int
) -> None:
    headers = {} if role == "anon" else bearer(client, role)
    response = client.post("/api/v1/replay", json={"policy_version": "stress-30"}, headers=headers)
    assert response.status_code == expected, response.text


def test_a_registered_policy_s_report_is_the_command_s(client: TestClient, judged: dict[str, str]) -> None:
    response = replay(client, "sam", policy_version="stress-30")
    assert response.status_code == 200, response.text
    report = response.json()
    assert report.keys() >= REPORT_KEYS
    assert (report["conversations"], report["escalations_current"], report["escalations_candidate"]) == (
        4,
        3,
        2,
    )
    assert [(e["conversation_id"], e["verdict"]) for e in report["removed"]] == [("replay-waiting", "wrong")]
    changed = {e["conversation_id"]: (e["current"], e["candidate"]) for e in report["priority_changed"]}
    assert changed == {"replay-stolen": (100, 88), "replay-transfer": (77, 50)}
    assert report["feedback_used"] == len(JUDGED)
    assert (report["precision_current"], report["precision_candidate"]) == (round(2 / 3, 4), 1.0)
    assert (report["recall_current"], report["recall_candidate"]) == (1.0, 1.0)
    assert report["policy"] == {
        "path": None,
        "version": "stress-30",
        "registered": True,
        "current": False,
        "current_version": SHIPPED_POLICY_VERSION,
    }
    assert report["model"]["rescored"] is False and report["model"]["current_version"] == SHIPPED_MODEL


def test_without_versions_the_active_pair_changes_nothing(client: TestClient, judged: dict[str, str]) -> None:
    report = replay(client, "root").json()
    assert report["policy"]["version"] == SHIPPED_POLICY_VERSION and report["policy"]["current"] is True
    assert (report["added"], report["removed"], report["priority_changed"]) == ([], [], [])


def test_a_registered_model_is_loaded_from_its_directory(
    client: TestClient, judged: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = model_dir(tmp_path, "candidate-model")
    assert client.post("/api/v1/models", json={"path": path, **REASON}, headers=judged).status_code == 201
    loaded: list[replay_run.ModelChoice] = []

    def load(model: replay_run.ModelChoice) -> FakeScorer:
        loaded.append(model)
        return FakeScorer()  # stress 0.05 for these texts but "worried" (0.75)

    monkeypatch.setattr(replay_run, "load_scorer", load)
    report = replay(client, "sam", model_version="candidate-model").json()
    assert [(m.version, m.path) for m in loaded] == [("candidate-model", str(Path(path).resolve()))]
    assert report["model"]["version"] == "candidate-model" and report["model"]["rescored"] is True
    assert sorted(e["conversation_id"] for e in report["removed"]) == ["replay-stolen", "replay-waiting"]


def test_the_shipped_model_re_scores_by_its_registered_version(
    client: TestClient, judged: dict[str, str]
) -> None:
    """The real loader: the registered weights checked, the model loaded (seconds), every text re-scored."""
    response = replay(client, "sam", model_version=SHIPPED_MODEL)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["model"] == {
        "path": report["model"]["path"],
        "version": SHIPPED_MODEL,
        "current": True,
        "rescored": True,
        "current_version": SHIPPED_MODEL,
    }
    assert report["messages"] == 8  # the four conversations' customer messages


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        ({"policy_version": "nope"}, 404, "no policy version 'nope' is registered"),
        ({"model_version": "nope"}, 404, "no model version 'nope' is registered"),
        ({"since": "yesterday"}, 422, "since"),
        ({"since": "2026-12-06", "until": "2026-12-01"}, 422, "since is after until"),
        ({"policy_version": ""}, 422, "policy_version"),
        ({"since": "2026-01-01", "until": "2026-06-01"}, 422, "longer than 92 days"),
        ({"since": "2000-01-01"}, 422, "longer than 92 days"),  # until: now
    ],
)
def test_bad_input_is_refused(
    client: TestClient, judged: dict[str, str], body: dict[str, str], status: int, detail: str
) -> None:
    response = replay(client, "sam", **body)
    assert response.status_code == status and detail in response.text, response.text


def test_the_window_selects_conversations_by_their_start(client: TestClient, judged: dict[str, str]) -> None:
    report = replay(client, "sam", since="2000-01-01T00:00:00Z", until="2000-01-02").json()
    assert report["conversations"] == 0 and report["since"] == "2000-01-01T00:00:00+00:00"
    # another zone is the same moment in UTC; no dates: the last 30 days, which hold the seeded ones
    zoned = replay(client, "sam", since="2000-01-01T02:00:00+02:00", until="2000-01-02").json()
    assert zoned["since"] == "2000-01-01T00:00:00+00:00"
    assert replay(client, "sam").json()["conversations"] == 4


def test_a_replay_is_audited_and_writes_nothing_else(
    client: TestClient, judged: dict[str, str], db_url: str, factory: sessionmaker[Session]
) -> None:
    before = rows_but_audit(db_url)
    assert replay(client, "sam", policy_version="stress-30").status_code == 200
    assert rows_but_audit(db_url) == before
    with factory() as session:
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "replay")).one()
    assert (record.actor, record.inputs["policy_version"], record.inputs["model_version"]) == (
        "sam",
        "stress-30",
        None,
    )
    assert record.versions == {"model": SHIPPED_MODEL, "policy": "stress-30"}  # the stored scores' model
    assert record.outcome["removed"] == 1


def test_one_replay_at_a_time(client: TestClient, judged: dict[str, str]) -> None:
    with replay_route.RUNNING:
        response = replay(client, "sam")
    assert response.status_code == 409 and "another replay is running" in response.text
    assert replay(client, "sam").status_code == 200  # released after a refusal


def test_the_page_is_for_supervisors_and_offers_promotion_to_admins(
    client: TestClient, team: dict[str, int]
) -> None:
    signed_out = client.get("/supervisor/replay", follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/login?next=/supervisor/replay"
    login(client, "alice")
    assert client.get("/supervisor/replay", follow_redirects=False).headers["location"] == "/console"
    login(client, "sam")
    page = client.get("/supervisor/replay").text
    assert 'href="/supervisor/replay"' in client.get("/supervisor").text  # in the dashboard's nav
    assert 'id="replay-form"' in page and "/static/js/replay.js" in page
    assert 'id="promote-form"' not in page and 'id="rollback-form"' not in page
    login(client, "root")
    page = client.get("/supervisor/replay").text
    assert 'id="promote-form"' in page and 'id="rollback-form"' in page


def rows_but_audit(db_url: str) -> list[str]:
    """Every row of the database as SQL text, audit records and sessions (a bearer token opens one) left
    out."""
    with sqlite3.connect(db_url.removeprefix("sqlite:///")) as conn:
        return [
            line
            for line in conn.iterdump()
            if not line.startswith(('INSERT INTO "audit_log"', 'INSERT INTO "auth_sessions"'))
        ]
