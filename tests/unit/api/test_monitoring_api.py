"""GET /api/v1/monitoring/drift and /bias: supervisors and admins only; the active model's figures."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sentiment.settings import SentimentSettings
from tests.unit.api import factories
from tests.unit.api.conftest import bearer
from triage.monitoring.drift import model_at
from triage.registry.tables import ModelVersion
from triage.storage.db import Message, Sender, session_scope


def test_drift_and_bias_of_the_stored_scores(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session]
) -> None:
    version = model_at(SentimentSettings().model_dir).version  # the shipped model, with its reference
    with session_scope(factory) as session:
        conversation = factories.escalated(session, "monitored-1")
        for stress in (0.1, 0.2, 0.9):
            session.add(
                Message(
                    conversation_id=conversation.id,
                    sender=Sender.CUSTOMER,
                    text="where is my card",
                    stress=stress,
                    flagged=stress >= 0.3,
                    labels=["neutral"],
                    model_version=version,
                )
            )
    sam = bearer(client, "sam")
    drift = client.get("/api/v1/monitoring/drift", params={"days": 1}, headers=sam)
    assert drift.status_code == 200, drift.text
    (today,) = drift.json()["days"]
    assert (today["messages"], today["flag_rate"]) == (3, pytest.approx(0.3333))
    assert today["alert"] is False  # 3 messages: under the minimum a day needs to alert
    bias = client.get("/api/v1/monitoring/bias", headers=sam).json()
    assert bias["overall"]["messages"] == 5  # the factory's two scored turns and these three
    assert {row["segment"] for row in bias["dimensions"]["channel"]} == {"socketio"}
    assert client.get("/api/v1/monitoring/bias", headers=bearer(client, "root")).status_code == 200


@pytest.mark.parametrize("path", ["/api/v1/monitoring/drift", "/api/v1/monitoring/bias"])
def test_agents_and_strangers_are_refused_and_bad_windows_are_422(
    client: TestClient, team: dict[str, int], path: str
) -> None:
    assert client.get(path).status_code == 401
    assert client.get(path, headers=bearer(client, "alice")).status_code == 403
    sam = bearer(client, "sam")
    for days in ("0", "91", "week"):
        assert client.get(path, params={"days": days}, headers=sam).status_code == 422


def test_a_model_without_a_reference_is_a_409_that_says_how_to_add_one(
    client: TestClient, team: dict[str, int], tmp_path: Path, factory: sessionmaker[Session]
) -> None:
    (tmp_path / "clearline.json").write_text(json.dumps({"version": "bare@1"}))
    with session_scope(factory) as session:  # the active registered model is the one monitored
        active = session.scalars(select(ModelVersion).where(ModelVersion.active.is_(True))).one()
        active.path = str(tmp_path)
    answer = client.get("/api/v1/monitoring/drift", headers=bearer(client, "sam"))
    assert answer.status_code == 409
    assert "clearline reference-emotions" in answer.json()["detail"]
