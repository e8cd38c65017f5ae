"""Actions through the API: real triage services, real database, Rasa commands recorded by the relay."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.relay import OutboxRelay
from api.settings import ApiSettings
from tests.unit.api import factories
from tests.unit.api.conftest import RecordingRasa, bearer
from triage import services
from triage.settings import CoreSettings
from triage.storage.db import (
    AuditRecord,
    Conversation,
    ConversationState,
    Message,
    OutboxCommand,
    Sender,
    session_scope,
)

REASON = "needs the fraud team"


@pytest.fixture
def c1(factory: sessionmaker[Session], team: dict[str, int]) -> str:
    with session_scope(factory) as session:
        factories.escalated(session, "c1")
    return "c1"


def conversation(factory: sessionmaker[Session], cid: str) -> Conversation:
    with factory() as session:
        return session.get_one(Conversation, cid)


def test_accept_reply_resolve_flow(
    client: TestClient, c1: str, factory: sessionmaker[Session], rasa: RecordingRasa
) -> None:
    alice = bearer(client, "alice")
    accepted = client.post("/api/v1/conversations/c1/accept", headers=alice)
    assert accepted.status_code == 200 and accepted.json()["state"] == "assigned"
    assert accepted.json()["assigned_agent_name"] == "alice"

    reply = client.post(
        "/api/v1/conversations/c1/reply", json={"text": "I'm Alice, I froze the card."}, headers=alice
    )
    assert reply.status_code == 201
    with factory() as session:
        stored = session.get_one(Message, reply.json()["id"])
        assert stored.sender == Sender.AGENT and stored.text == "I'm Alice, I froze the card."
        outbox = session.scalars(select(OutboxCommand).where(OutboxCommand.kind == "say")).one()
        assert outbox.payload["message_id"] == stored.id
        assert stored.delivered is True  # the relay ran after the response
    said = {"text": "I'm Alice, I froze the card.", "message_id": stored.id, "agent_name": "Alice"}
    assert ("c1", "say", said) in rasa.sent
    # accepting told the customer who joined, by display name, before the reply
    assert ("c1", "agent_joined", {"agent_id": stored.agent_id, "agent_name": "Alice"}) in rasa.sent
    assert conversation(factory, "c1").first_agent_reply_at is not None

    resolved = client.post("/api/v1/conversations/c1/resolve", headers=alice)
    assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"
    kinds = [kind for _, kind, _ in rasa.sent]
    assert kinds[-4:] == ["resume", "utter", "answer_pending", "utter"]  # then the rating question
    assert rasa.sent[-1][2]["name"] == "utter_ask_csat" and rasa.sent[-1][2]["optional"] is True
    with factory() as session:
        actions = list(session.scalars(select(AuditRecord.action).where(AuditRecord.conversation_id == "c1")))
    assert actions == ["escalate", "accept", "reply", "resolve"]


def test_reply_pii_is_redacted_in_storage(
    client: TestClient, c1: str, factory: sessionmaker[Session]
) -> None:
    alice = bearer(client, "alice")
    client.post("/api/v1/conversations/c1/accept", headers=alice)
    text = "Write to me at alice.agent@example.com"
    reply = client.post("/api/v1/conversations/c1/reply", json={"text": text}, headers=alice)
    assert reply.status_code == 201
    assert reply.json()["text"] == "Write to me at <EMAIL>"
    assert reply.json()["redactions"] == [{"entity": "EMAIL_ADDRESS", "start": 15, "end": 22}]
    with factory() as session:
        stored = session.get_one(Message, reply.json()["id"])
        assert stored.text == "Write to me at <EMAIL>" and stored.redactions == reply.json()["redactions"]
    typed = client.post("/api/v1/conversations/c1/reply", json={"text": "Type <EMAIL> there"}, headers=alice)
    assert typed.json()["text"] == "Type <EMAIL> there" and typed.json()["redactions"] == []


def test_reply_before_accept_is_a_conflict(client: TestClient, c1: str) -> None:
    response = client.post(
        "/api/v1/conversations/c1/reply", json={"text": "hello"}, headers=bearer(client, "alice")
    )
    assert response.status_code == 409
    assert "not assigned" in response.json()["detail"]


@pytest.fixture
def alices_c1(factory: sessionmaker[Session], team: dict[str, int]) -> str:
    """c1 assigned to alice; dave, an agent of the same queue, sees it but does not hold it."""
    with session_scope(factory) as session:
        factories.user(session, "dave", factories.Role.AGENT, ("cards",))
        conv = factories.escalated(session, "c1")
        factories.assign(session, conv, session.get_one(factories.User, team["alice"]))
    return "c1"


def test_another_agent_cannot_act_on_my_conversation(client: TestClient, alices_c1: str) -> None:
    dave = bearer(client, "dave")  # same queue, so he sees it, but it is alice's
    assert client.post("/api/v1/conversations/c1/reply", json={"text": "hi"}, headers=dave).status_code == 403
    assert client.post("/api/v1/conversations/c1/accept", headers=dave).status_code == 403
    assert client.post("/api/v1/conversations/c1/resolve", headers=dave).status_code == 403


def test_a_non_owner_gets_403_before_the_version_check(
    client: TestClient, factory: sessionmaker[Session], alices_c1: str
) -> None:
    """A 409 names the conversation's version: only someone who may act on it gets one."""
    with session_scope(factory) as session:
        factories.escalated(session, "c2")  # queued, nobody's yet
    dave = bearer(client, "dave")  # same queue: he sees both conversations
    stale = {"expected_version": 999}
    for cid, action, body in (
        ("c1", "accept", stale),
        ("c1", "reply", {"text": "hi", **stale}),
        ("c1", "resolve", stale),
        ("c1", "transfer", {"to_queue": "transfers", "reason": REASON, **stale}),
        ("c2", "resolve", stale),  # only its agent or a supervisor may resolve it
        ("c2", "transfer", {"to_queue": "transfers", "reason": REASON, **stale}),
    ):
        response = client.post(f"/api/v1/conversations/{cid}/{action}", json=body, headers=dave)
        assert response.status_code == 403, (cid, action, response.text)
        assert "version" not in response.text, (cid, action)
    # whoever may act still learns that their copy is stale
    alice = bearer(client, "alice")
    mine = client.post("/api/v1/conversations/c1/reply", json={"text": "hi", **stale}, headers=alice)
    assert mine.status_code == 409 and "reload" in mine.json()["detail"]
    claimable = client.post("/api/v1/conversations/c2/accept", json=stale, headers=dave)
    assert claimable.status_code == 409


def test_bad_reply_input_is_refused_and_nothing_is_stored(
    client: TestClient, c1: str, factory: sessionmaker[Session]
) -> None:
    alice = bearer(client, "alice")
    client.post("/api/v1/conversations/c1/accept", headers=alice)
    for body in (
        {"text": ""},
        {"text": "   "},
        {"text": "x" * 2001},
        {"text": "a\x00b"},
        {},
        {"text": 5},
        {"text": "ok", "extra": 1},
    ):
        response = client.post("/api/v1/conversations/c1/reply", json=body, headers=alice)
        assert response.status_code == 422, body
        assert "Traceback" not in response.text
        assert all(set(error) == {"loc", "msg", "type"} for error in response.json()["detail"])  # no echo
    binary = client.post(
        "/api/v1/conversations/c1/reply",
        content=b"\x89PNG\r\n\x1a\n\x00",
        headers={**alice, "content-type": "application/octet-stream"},
    )
    assert binary.status_code == 422
    with factory() as session:
        assert session.scalars(select(Message).where(Message.sender == Sender.AGENT)).all() == []


def test_html_and_sql_like_text_are_stored_verbatim_as_text(
    client: TestClient, c1: str, factory: sessionmaker[Session]
) -> None:
    alice = bearer(client, "alice")
    client.post("/api/v1/conversations/c1/accept", headers=alice)
    for text in ("<script>alert(1)</script>", "'; DROP TABLE messages; --"):
        assert (
            client.post("/api/v1/conversations/c1/reply", json={"text": text}, headers=alice).status_code
            == 201
        )
    with factory() as session:
        texts = list(session.scalars(select(Message.text).where(Message.sender == Sender.AGENT)))
    assert texts == ["<script>alert(1)</script>", "'; DROP TABLE messages; --"]


def test_unknown_and_sql_like_ids_are_404(client: TestClient, c1: str) -> None:
    sam = bearer(client, "sam")
    for cid in ("nope", "c1' OR '1'='1", "%", "c1;--"):
        assert client.get(f"/api/v1/conversations/{cid}", headers=sam).status_code == 404
        assert client.post(f"/api/v1/conversations/{cid}/resolve", headers=sam).status_code == 404
    assert (
        client.post("/api/v1/escalations/999/unflag", json={"reason": REASON}, headers=sam).status_code == 404
    )
    assert (
        client.post("/api/v1/escalations/abc/unflag", json={"reason": REASON}, headers=sam).status_code == 422
    )
    assert client.get("/api/v1/conversations/" + "x" * 300, headers=sam).status_code == 422


def test_transfer_to_queue_and_unknown_queue(
    client: TestClient, c1: str, factory: sessionmaker[Session]
) -> None:
    sam = bearer(client, "sam")
    ok = client.post(
        "/api/v1/conversations/c1/transfer", json={"to_queue": "transfers", "reason": REASON}, headers=sam
    )
    assert ok.status_code == 200 and ok.json()["queue"] == "transfers" and ok.json()["state"] == "queued"
    unknown = client.post(
        "/api/v1/conversations/c1/transfer", json={"to_queue": "nowhere", "reason": REASON}, headers=sam
    )
    assert unknown.status_code == 422 and "unknown queue" in unknown.json()["detail"]
    both = client.post(
        "/api/v1/conversations/c1/transfer",
        json={"to_queue": "cards", "to_agent_id": 1, "reason": REASON},
        headers=sam,
    )
    assert both.status_code == 422


def test_supervisor_actions_require_a_reason(client: TestClient, c1: str, team: dict[str, int]) -> None:
    sam = bearer(client, "sam")
    for path, body in (
        ("/api/v1/conversations/c1/priority", {"priority": 90}),
        ("/api/v1/conversations/c1/reassign", {"to_agent_id": team["alice"]}),
        ("/api/v1/escalations/1/unflag", {}),
    ):
        assert client.post(path, json=body, headers=sam).status_code == 422
        assert client.post(path, json={**body, "reason": "  "}, headers=sam).status_code == 422


def test_reassign_priority_and_unflag(
    client: TestClient, c1: str, team: dict[str, int], factory: sessionmaker[Session], rasa: RecordingRasa
) -> None:
    sam = bearer(client, "sam")
    moved = client.post(
        "/api/v1/conversations/c1/reassign", json={"to_agent_id": team["bob"], "reason": REASON}, headers=sam
    )
    assert moved.status_code == 200 and moved.json()["assigned_agent_id"] == team["bob"]
    assert moved.json()["assigned_agent_name"] == "bob"
    back = client.post(
        "/api/v1/conversations/c1/reassign",
        json={"to_agent_id": team["alice"], "reason": REASON},
        headers=sam,
    )
    assert back.json()["assigned_agent_name"] == "alice"  # not the agent from before the change
    to_supervisor = client.post(
        "/api/v1/conversations/c1/reassign", json={"to_agent_id": team["sam"], "reason": REASON}, headers=sam
    )
    assert to_supervisor.status_code == 404
    priority = client.post(
        "/api/v1/conversations/c1/priority", json={"priority": 35, "reason": REASON}, headers=sam
    )
    assert priority.status_code == 200 and priority.json()["priority"] == 35
    assert (
        client.post(
            "/api/v1/conversations/c1/priority", json={"priority": 101, "reason": REASON}, headers=sam
        ).status_code
        == 422
    )
    unflag = client.post(
        "/api/v1/escalations/1/unflag", json={"reason": "not stressed, just brisk"}, headers=sam
    )
    assert unflag.status_code == 200 and unflag.json()["unflagged"] is True
    again = client.post(
        "/api/v1/escalations/1/unflag", json={"reason": "not stressed, just brisk"}, headers=sam
    )
    assert again.status_code == 409
    with factory() as session:
        reasons = [
            r.inputs.get("reason") for r in session.scalars(select(AuditRecord).order_by(AuditRecord.id))
        ]
    assert reasons.count(REASON) == 3 and "not stressed, just brisk" in reasons


def test_unflag_of_a_waiting_conversation_returns_it_to_the_bot(
    client: TestClient, c1: str, factory: sessionmaker[Session], rasa: RecordingRasa
) -> None:
    response = client.post(
        "/api/v1/escalations/1/unflag", json={"reason": "false alarm"}, headers=bearer(client, "sam")
    )
    assert response.status_code == 200
    assert conversation(factory, "c1").state == ConversationState.BOT
    assert [kind for _, kind, _ in rasa.sent][-3:] == ["resume", "utter", "answer_pending"]


def test_stale_version_is_a_409_and_changes_nothing(
    client: TestClient, c1: str, factory: sessionmaker[Session]
) -> None:
    sam = bearer(client, "sam")
    seen = client.get("/api/v1/conversations/c1", headers=sam).json()["version"]
    first = client.post(
        "/api/v1/conversations/c1/priority",
        json={"priority": 70, "reason": REASON, "expected_version": seen},
        headers=sam,
    )
    assert first.status_code == 200
    second = client.post(
        "/api/v1/conversations/c1/priority",
        json={"priority": 10, "reason": REASON, "expected_version": seen},
        headers=sam,
    )
    assert second.status_code == 409 and "reload" in second.json()["detail"]
    assert conversation(factory, "c1").priority == 70


def test_unexpected_errors_are_500_without_details(
    core: CoreSettings, factory: sessionmaker[Session], c1: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("secret internals: /etc/passwd")

    monkeypatch.setattr(services, "accept", broken)
    app = create_app(core, ApiSettings(), factory, OutboxRelay(factory, RecordingRasa))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/api/v1/conversations/c1/accept", headers=bearer(client, "alice"))
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}


def test_relay_failure_keeps_the_command_in_the_outbox(
    core: CoreSettings, factory: sessionmaker[Session], c1: str
) -> None:
    class RasaDown:
        def send(self, *_args: object) -> None:
            raise ConnectionError("rasa is down")

    app = create_app(core, ApiSettings(), factory, OutboxRelay(factory, RasaDown))
    with TestClient(app) as client:
        alice = bearer(client, "alice")
        client.post("/api/v1/conversations/c1/accept", headers=alice)
        reply = client.post("/api/v1/conversations/c1/reply", json={"text": "hello"}, headers=alice)
    assert reply.status_code == 201  # the reply is stored even though Rasa could not take it yet
    with factory() as session:
        pending = session.scalars(select(OutboxCommand).where(OutboxCommand.sent_at.is_(None))).all()
        assert pending and all("rasa is down" in (c.last_error or "") for c in pending[:1])
        assert session.get_one(Message, reply.json()["id"]).delivered is False


def test_resolve_with_a_closing_message_sends_it_first(
    client: TestClient, c1: str, factory: sessionmaker[Session], rasa: RecordingRasa
) -> None:
    alice = bearer(client, "alice")
    assert client.post("/api/v1/conversations/c1/accept", headers=alice).status_code == 200
    # nobody answered yet: the closing message is the answer, so no reason is needed
    closing = {"closing_message": "Your new card is on its way. The assistant is here if you need more."}
    too_long = client.post(
        "/api/v1/conversations/c1/resolve", json={"closing_message": "x" * 5000}, headers=alice
    )
    assert too_long.status_code == 422 and conversation(factory, "c1").state == ConversationState.ASSIGNED
    resolved = client.post("/api/v1/conversations/c1/resolve", json=closing, headers=alice)
    assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"
    kinds = [kind for _, kind, _ in rasa.sent]
    # the message, then the bot is back, then the rating question
    assert kinds[-5:] == ["say", "resume", "utter", "answer_pending", "utter"]
    said = next(payload for _, kind, payload in rasa.sent if kind == "say")
    assert said["text"] == closing["closing_message"]
    with factory() as session:
        actions = list(session.scalars(select(AuditRecord.action).where(AuditRecord.conversation_id == "c1")))
        replies = session.scalars(select(Message).where(Message.sender == Sender.AGENT)).all()
    assert actions[-2:] == ["reply", "resolve"] and [m.text for m in replies] == [closing["closing_message"]]


def test_a_closing_message_needs_someone_on_the_conversation(
    client: TestClient, c1: str, factory: sessionmaker[Session]
) -> None:
    sam = bearer(client, "sam")
    body = {"closing_message": "Bye for now", "reason": "the customer called instead"}
    refused = client.post("/api/v1/conversations/c1/resolve", json=body, headers=sam)
    assert refused.status_code == 422 and "accept it first" in refused.text
    assert conversation(factory, "c1").state == ConversationState.QUEUED
    assert client.post(
        "/api/v1/conversations/c1/resolve", json={"reason": body["reason"]}, headers=sam
    ).is_success
