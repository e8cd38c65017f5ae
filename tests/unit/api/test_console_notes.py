"""Internal notes through the API: who may add and read them, the order of 404/403/409, bad input,
the audit record, and that a note never becomes a Rasa command."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api import factories
from tests.unit.api.conftest import RecordingRasa, bearer
from triage.privacy import clearline as privacy_tables
from triage.storage.db import AuditRecord, ConversationNote, OutboxCommand, User, session_scope


@pytest.fixture
def c1(factory: sessionmaker[Session], team: dict[str, int]) -> str:
    """Escalated and assigned to alice."""
    with session_scope(factory) as session:
        conversation = factories.escalated(session, "c1")
        factories.assign(session, conversation, session.get_one(User, team["alice"]))
    return "c1"


def notes(client: TestClient, headers: dict[str, str], cid: str = "c1") -> list[dict[str, object]]:
    response = client.get(f"/api/v1/conversations/{cid}/notes", headers=headers)
    assert response.status_code == 200, response.text
    return list(response.json())


def outbox(factory: sessionmaker[Session]) -> list[tuple[str, dict[str, object]]]:
    with factory() as session:
        return [
            (c.kind, c.payload) for c in session.scalars(select(OutboxCommand).order_by(OutboxCommand.id))
        ]


def test_the_agent_adds_a_note_that_is_stored_redacted_audited_and_never_sent(
    client: TestClient, c1: str, factory: sessionmaker[Session], rasa: RecordingRasa, team: dict[str, int]
) -> None:
    alice = bearer(client, "alice")
    before = outbox(factory)
    text = "Customer is <b>upset</b>; wrote from ann@example.com, call back tomorrow"
    added = client.post("/api/v1/conversations/c1/notes", json={"text": text}, headers=alice)
    assert added.status_code == 201, added.text
    note = added.json()
    assert note["text"] == "Customer is <b>upset</b>; wrote from <EMAIL>, call back tomorrow"
    [span] = note["redactions"]  # where the placeholder is, so the console never guesses from text
    assert (span["start"], span["end"]) == (37, 44) and note["text"][37:44] == "<EMAIL>"
    assert note["author_name"] == "Alice" and note["author_id"] == team["alice"]

    assert outbox(factory) == before  # no command for Rasa: the customer never gets it
    assert all("upset" not in str(payload) for _, _, payload in rasa.sent)
    with factory() as session:
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "note")).one()
        assert (record.actor, record.conversation_id) == ("alice", "c1")
        assert record.outcome == {"note_id": note["id"]} and record.inputs["redacted"] == 1
        assert "upset" not in str(record.inputs) + str(record.outcome)  # the text stays in one place
    # the transcript's messages are untouched: a note is not a message
    detail = client.get("/api/v1/conversations/c1", headers=alice).json()
    assert all("upset" not in m["text"] for m in detail["messages"])
    assert [n["id"] for n in notes(client, alice)] == [note["id"]]


def test_supervisors_and_admins_add_notes_and_every_viewer_reads_them(client: TestClient, c1: str) -> None:
    for name in ("sam", "root"):
        response = client.post(
            "/api/v1/conversations/c1/notes",
            json={"text": f"checked by {name}"},
            headers=bearer(client, name),
        )
        assert response.status_code == 201, response.text
    assert [n["text"] for n in notes(client, bearer(client, "alice"))] == [
        "checked by sam",
        "checked by root",
    ]
    assert [n["author_name"] for n in notes(client, bearer(client, "sam"))] == ["Sam", "Root"]


def test_ownership_comes_before_the_version_and_unknown_ids_are_404(
    client: TestClient, c1: str, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    with session_scope(factory) as session:
        factories.escalated(session, "c2", intent="transfer_not_received_by_recipient")  # bob's queue
        factories.assign(
            session, session.get_one(factories.Conversation, "c2"), session.get_one(User, team["bob"])
        )
    alice, bob = bearer(client, "alice"), bearer(client, "bob")
    body = {"text": "a note", "expected_version": 999}
    # bob cannot see c1 (not his queue, not his): 404, as for any id that does not exist
    assert client.post("/api/v1/conversations/c1/notes", json=body, headers=bob).status_code == 404
    assert client.post("/api/v1/conversations/nope/notes", json=body, headers=alice).status_code == 404
    assert client.get("/api/v1/conversations/nope/notes", headers=alice).status_code == 404
    # alice may see c2 only if it is in her queues; either way she may not write on it, and a stale
    # version is never told to someone who may not act
    refused = client.post("/api/v1/conversations/c2/notes", json=body, headers=alice)
    assert refused.status_code in (403, 404) and "version" not in refused.text
    stale = client.post("/api/v1/conversations/c1/notes", json=body, headers=alice)
    assert stale.status_code == 409 and "version" in stale.text
    with factory() as session:
        assert session.scalars(select(ConversationNote)).all() == []


def test_an_agent_cannot_note_a_queued_conversation_nobody_holds(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    with session_scope(factory) as session:
        factories.escalated(session, "waiting")  # cards queue: alice sees it
    alice = bearer(client, "alice")
    assert client.get("/api/v1/conversations/waiting/notes", headers=alice).status_code == 200
    response = client.post("/api/v1/conversations/waiting/notes", json={"text": "mine?"}, headers=alice)
    assert response.status_code == 403 and "not assigned to you" in response.text
    assert (
        client.post(
            "/api/v1/conversations/waiting/notes", json={"text": "triage note"}, headers=bearer(client, "sam")
        ).status_code
        == 201
    )


def test_no_login_no_notes(client: TestClient, c1: str) -> None:
    assert client.get("/api/v1/conversations/c1/notes").status_code == 401
    assert client.post("/api/v1/conversations/c1/notes", json={"text": "x"}).status_code == 401


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"text": ""}, "at least 1"),
        ({"text": "   \n "}, "at least 1"),
        ({"text": "x" * 4001}, "at most 4000"),
        ({"text": "bin\x00ary"}, "pattern"),
        ({"text": 42}, "string"),
        ({}, "Field required"),
        ({"text": "ok", "extra": 1}, "Extra inputs"),
    ],
)
def test_bad_notes_are_refused_clearly_and_nothing_is_stored(
    client: TestClient, c1: str, factory: sessionmaker[Session], body: dict[str, object], needle: str
) -> None:
    response = client.post("/api/v1/conversations/c1/notes", json=body, headers=bearer(client, "alice"))
    assert response.status_code == 422 and needle in response.text, response.text
    with factory() as session:
        assert session.scalars(select(ConversationNote)).all() == []


def test_invalid_utf8_and_huge_bodies_are_refused(
    client: TestClient, c1: str, factory: sessionmaker[Session]
) -> None:
    headers = {**bearer(client, "alice"), "Content-Type": "application/json"}
    broken = client.post(
        "/api/v1/conversations/c1/notes", content=b'{"text": "\xff\xfe caf\xc3"}', headers=headers
    )
    assert broken.status_code == 400 and "error parsing the body" in broken.text
    huge = client.post(
        "/api/v1/conversations/c1/notes", content=b'{"text": "' + b"a" * 2_000_000 + b'"}', headers=headers
    )
    assert huge.status_code == 422 and "a" * 100 not in huge.text  # the input is never echoed back
    with factory() as session:
        assert session.scalars(select(ConversationNote)).all() == []


def test_erasure_removes_a_conversations_notes(
    client: TestClient, c1: str, factory: sessionmaker[Session]
) -> None:
    assert (
        client.post(
            "/api/v1/conversations/c1/notes", json={"text": "remember"}, headers=bearer(client, "alice")
        ).status_code
        == 201
    )
    with session_scope(factory) as session:
        assert privacy_tables.count(session, ["c1"])["notes"] == 1
        assert [row["text"] for row in privacy_tables.rows(session, ["c1"])["notes"]] == ["remember"]
        counts = privacy_tables.remove(session, ["c1"], {"c1": "erased-1"})
    assert counts["notes"] == 1 and counts["conversations"] == 1
    with factory() as session:
        assert session.scalars(select(ConversationNote)).all() == []
