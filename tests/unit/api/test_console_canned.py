"""Canned replies through the API: supervisors manage them, agents get them filled for a conversation,
unknown variables and bad input are refused, every change is audited; a reply with a variable left
unfilled is never sent; agent display names reach the customer."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api import factories
from tests.unit.api.conftest import RecordingRasa, bearer
from triage.storage.db import AuditRecord, CannedReply, Message, Sender, User, session_scope

FROZEN = "Hi {{customer_name}}, {{agent_name}} here: your card ending {{card_ending}} stays frozen."


@pytest.fixture
def c1(factory: sessionmaker[Session], team: dict[str, int]) -> str:
    """Escalated to the cards queue after the bot named a card; assigned to alice."""
    with session_scope(factory) as session:
        conversation = factories.escalated(session, "c1")
        session.add(
            Message(conversation_id="c1", sender=Sender.BOT, text="Done: your card ending 1881 is frozen.")
        )
        factories.assign(session, conversation, session.get_one(User, team["alice"]))
    return "c1"


def create(client: TestClient, who: str, **body: object) -> dict[str, object]:
    response = client.post("/api/v1/canned-replies", json=body, headers=bearer(client, who))
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_supervisor_adds_one_and_the_agent_gets_it_filled_for_her_conversation(
    client: TestClient, c1: str, factory: sessionmaker[Session]
) -> None:
    made = create(client, "sam", queue="cards", title="Card frozen", body=FROZEN)
    assert made["variables"] == ["customer_name", "agent_name", "card_ending"]
    create(client, "root", title="Wait", body="One moment please, {{agent_name}} is checking.")  # every queue
    create(client, "sam", queue="transfers", title="Transfer", body="Your transfer is on its way.")

    offered = client.get("/api/v1/conversations/c1/canned-replies", headers=bearer(client, "alice")).json()
    assert [o["title"] for o in offered] == ["Wait", "Card frozen"]  # not the transfers queue's
    frozen = offered[1]
    # no stored customer name: left visible for the agent to fill, never sent empty
    assert frozen["text"] == "Hi {{customer_name}}, Alice here: your card ending 1881 stays frozen."
    assert frozen["unfilled"] == ["customer_name"]
    # a supervisor filling it gets their own name
    by_sam = client.get("/api/v1/conversations/c1/canned-replies", headers=bearer(client, "sam")).json()
    assert by_sam[1]["text"].startswith("Hi {{customer_name}}, Sam here")

    # the agent's list: her queues' (cards, general) and every queue's; a supervisor's: all
    assert {
        c["title"] for c in client.get("/api/v1/canned-replies", headers=bearer(client, "alice")).json()
    } == {
        "Card frozen",
        "Wait",
    }
    assert len(client.get("/api/v1/canned-replies", headers=bearer(client, "sam")).json()) == 3
    with factory() as session:
        actions = list(session.scalars(select(AuditRecord.action).where(AuditRecord.action.like("canned%"))))
    assert actions == ["canned_reply_create"] * 3


def test_the_reply_path_refuses_an_unfilled_variable_and_sends_the_filled_text_with_the_name(
    client: TestClient, c1: str, factory: sessionmaker[Session], rasa: RecordingRasa
) -> None:
    alice = bearer(client, "alice")
    left = "Hi {{customer_name}}, Alice here: your card ending 1881 stays frozen."
    refused = client.post("/api/v1/conversations/c1/reply", json={"text": left}, headers=alice)
    assert refused.status_code == 422 and "{{customer_name}}" in refused.text
    with factory() as session:
        assert session.scalars(select(Message).where(Message.sender == Sender.AGENT)).all() == []
    sent = client.post(
        "/api/v1/conversations/c1/reply",
        json={"text": left.replace("{{customer_name}}", "Ann")},
        headers=alice,
    )
    assert sent.status_code == 201, sent.text
    [(_, kind, payload)] = [c for c in rasa.sent if c[1] == "say"]
    assert payload["agent_name"] == "Alice" and payload["text"].startswith("Hi Ann, Alice here")


@pytest.mark.parametrize("who", ["alice"])
def test_agents_cannot_manage_canned_replies(client: TestClient, c1: str, who: str) -> None:
    made = create(client, "sam", queue="cards", title="T", body="text")
    headers = bearer(client, who)
    assert (
        client.post("/api/v1/canned-replies", json={"title": "x", "body": "y"}, headers=headers).status_code
        == 403
    )
    assert (
        client.patch(f"/api/v1/canned-replies/{made['id']}", json={"title": "z"}, headers=headers).status_code
        == 403
    )
    assert client.delete(f"/api/v1/canned-replies/{made['id']}", headers=headers).status_code == 403
    assert client.get("/api/v1/canned-replies").status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "needle"),
    [
        (
            {"title": "Hi", "body": "Hello {{name}}"},
            422,
            "unknown variable(s) {{name}}; known: {{customer_name}}",
        ),
        ({"title": "Hi", "body": "Hello {{agent_name}"}, 422, "outside a placeholder"),
        ({"title": "Hi", "body": "x", "queue": "nowhere"}, 422, "unknown queue 'nowhere'"),
        ({"title": "Hi", "body": "x", "queue": "Bad Queue"}, 422, "pattern"),
        ({"title": "", "body": "x"}, 422, "at least 1"),
        ({"title": "Hi", "body": "x" * 2001}, 422, "at most 2000"),
        ({"title": "Hi", "body": "nul\x00"}, 422, "pattern"),
        ({"title": "Hi"}, 422, "Field required"),
    ],
)
def test_bad_canned_replies_are_refused_clearly_and_nothing_is_stored(
    client: TestClient,
    team: dict[str, int],
    factory: sessionmaker[Session],
    body: dict[str, object],
    status: int,
    needle: str,
) -> None:
    response = client.post("/api/v1/canned-replies", json=body, headers=bearer(client, "sam"))
    assert response.status_code == status and needle in response.text, response.text
    with factory() as session:
        assert session.scalars(select(CannedReply)).all() == []
        assert session.scalars(select(AuditRecord).where(AuditRecord.action.like("canned%"))).all() == []


def test_update_delete_duplicates_and_unknown_ids(
    client: TestClient, team: dict[str, int], factory: sessionmaker[Session]
) -> None:
    sam = bearer(client, "sam")
    first = create(client, "sam", queue="cards", title="Greeting", body="Hello")
    create(client, "sam", title="Greeting", body="Hello everywhere")  # same title, other scope: fine
    duplicate = client.post(
        "/api/v1/canned-replies", json={"queue": "cards", "title": "Greeting", "body": "x"}, headers=sam
    )
    assert duplicate.status_code == 409 and "exists for queue 'cards'" in duplicate.text

    changed = client.patch(
        f"/api/v1/canned-replies/{first['id']}",
        json={"body": "Hi {{agent_name}}", "queue": None},
        headers=sam,
    )
    assert changed.status_code == 409  # now it would clash with the every-queue "Greeting"
    changed = client.patch(
        f"/api/v1/canned-replies/{first['id']}", json={"body": "Hi {{agent_name}}"}, headers=sam
    )
    assert changed.status_code == 200 and changed.json()["variables"] == ["agent_name"]
    bad = client.patch(f"/api/v1/canned-replies/{first['id']}", json={"body": "Hi {{nope}}"}, headers=sam)
    assert bad.status_code == 422 and "{{nope}}" in bad.text
    with factory() as session:
        assert session.get_one(CannedReply, first["id"]).body == "Hi {{agent_name}}"  # nothing lost

    assert client.patch("/api/v1/canned-replies/9999", json={"title": "x"}, headers=sam).status_code == 404
    assert client.delete("/api/v1/canned-replies/9999", headers=sam).status_code == 404
    assert (
        client.delete(f"/api/v1/canned-replies/{first['id']}", headers=bearer(client, "root")).status_code
        == 204
    )
    with factory() as session:
        assert session.get(CannedReply, first["id"]) is None
        trail = [
            (r.action, r.actor)
            for r in session.scalars(
                select(AuditRecord).where(AuditRecord.action.like("canned%")).order_by(AuditRecord.id)
            )
        ]
    assert trail == [
        ("canned_reply_create", "sam"),
        ("canned_reply_create", "sam"),
        ("canned_reply_update", "sam"),
        ("canned_reply_delete", "root"),
    ]


def test_canned_replies_of_a_conversation_one_cannot_see_are_404(client: TestClient, c1: str) -> None:
    assert (
        client.get("/api/v1/conversations/c1/canned-replies", headers=bearer(client, "bob")).status_code
        == 404
    )
    assert (
        client.get("/api/v1/conversations/nope/canned-replies", headers=bearer(client, "sam")).status_code
        == 404
    )


def test_the_variables_are_listed(client: TestClient, team: dict[str, int]) -> None:
    names = [
        v["name"]
        for v in client.get("/api/v1/canned-replies/variables", headers=bearer(client, "alice")).json()
    ]
    assert names == ["customer_name", "card_ending", "agent_name"]
