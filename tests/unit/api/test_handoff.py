"""The bot's hand-off endpoint."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api.conftest import TRIAGE_TOKEN, RecordingRasa
from triage.storage.db import AuditRecord, Conversation, ConversationState, Escalation

BOT = {"Authorization": f"Bearer {TRIAGE_TOKEN}"}


def test_handoff_escalates_and_returns_202(
    client: TestClient, factory: sessionmaker[Session], rasa: RecordingRasa
) -> None:
    body = {"conversation_id": "sender-1", "reason": "customer asked for a human", "intent": "request_human"}
    response = client.post("/api/v1/handoff", json=body, headers=BOT)
    assert response.status_code == 202
    escalation_id = response.json()["escalation_id"]
    with factory() as session:
        conversation = session.get_one(Conversation, "sender-1")
        assert conversation.state == ConversationState.QUEUED and conversation.human_requested
        assert session.get_one(Escalation, escalation_id).trigger == "bot_request"
        actions = list(
            session.scalars(select(AuditRecord.action).where(AuditRecord.conversation_id == "sender-1"))
        )
    assert "handoff_request" in actions
    assert [kind for _, kind, _ in rasa.sent] == ["pause", "utter"]
    again = client.post("/api/v1/handoff", json=body, headers=BOT)  # idempotent while open
    assert again.status_code == 202 and again.json()["escalation_id"] == escalation_id


def test_handoff_needs_the_triage_token(client: TestClient) -> None:
    body = {"conversation_id": "sender-1"}
    assert client.post("/api/v1/handoff", json=body).status_code == 401
    assert (
        client.post("/api/v1/handoff", json=body, headers={"Authorization": "Bearer wrong"}).status_code
        == 401
    )
    assert (
        client.post("/api/v1/handoff", json=body, headers={"Authorization": TRIAGE_TOKEN}).status_code == 401
    )


def test_handoff_validates_the_body(client: TestClient, factory: sessionmaker[Session]) -> None:
    for body in (
        {},
        {"conversation_id": ""},
        {"conversation_id": "x" * 256},
        {"conversation_id": "a\x00"},
        {"conversation_id": "ok", "reason": "r" * 501},
        {"conversation_id": "ok", "surprise": 1},
    ):
        assert client.post("/api/v1/handoff", json=body, headers=BOT).status_code == 422, body
    with factory() as session:
        assert session.scalars(select(Conversation)).all() == []
