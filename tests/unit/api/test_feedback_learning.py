"""Feedback worth learning from through the API (issues #20, #23): words added to a flag's explanation
with a verdict, and missed flags, with each role and each refusal; the audit records and the export."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api import factories
from tests.unit.api.conftest import bearer
from triage.privacy import clearline as privacy_tables
from triage.storage.db import AuditRecord, Feedback, Message, MissedFlag, Sender, User, session_scope

# c1: escalated by the policy, queue cards, assigned to alice (bob's queues are transfers)
# asked: the customer asked for a person; alice took it and resolved it (queue cards, back with the bot)
# calm: the bot kept it; no queue, so only supervisors and admins see it
EMOJI = "still nothing 😡 where is my money now"  # "money" at 28 in code points, 29 in UTF-16 units


@pytest.fixture
def world(factory: sessionmaker[Session], team: dict[str, int]) -> dict[str, int]:
    with session_scope(factory) as session:
        alice = session.get_one(User, team["alice"])
        factories.assign(session, factories.escalated(session, "c1"), alice)
        emoji = Message(conversation_id="c1", sender=Sender.CUSTOMER, text=EMOJI)
        session.add(emoji)
        factories.handed_off_on_request(session, "asked", alice)
        factories.bot_only(session, "calm")
        session.flush()
        ids = {
            (m.conversation_id, m.sender.value, m.text[:5]): m.id for m in session.scalars(select(Message))
        }
    return {
        **team,
        "stressed": ids[("c1", "customer", factories.STRESSED[:5])],
        "c1_bot": ids[("c1", "bot", "Hello")],
        "emoji": ids[("c1", "customer", EMOJI[:5])],
        "asked": ids[("asked", "customer", "my ca")],
        "calm": ids[("calm", "customer", "I hav")],
        "calm_bot": ids[("calm", "bot", "Let m")],
    }


def word(message_id: int, text: str, word: str, start: int | None = None) -> dict[str, Any]:
    at = text.index(word) if start is None else start
    return {"message_id": message_id, "start": at, "end": at + len(word), "word": word}


def stolen(world: dict[str, int]) -> dict[str, Any]:
    return word(world["stressed"], factories.STRESSED, "card")


# -- added words with a verdict ------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "status"), [("alice", 201), ("bob", 404), ("sam", 201), ("root", 201)])
def test_each_role_adds_words_with_a_verdict_and_reads_them_back(
    client: TestClient, world: dict[str, int], role: str, status: int
) -> None:
    headers = bearer(client, role)
    added = [stolen(world), word(world["emoji"], EMOJI, "money")]
    response = client.post(
        "/api/v1/escalations/1/feedback",
        json={"verdict": "correct", "added_words": added, "comment": "and these"},
        headers=headers,
    )
    assert response.status_code == status, response.text
    listed = client.get("/api/v1/escalations/1/feedback", headers=headers)
    if status == 404:
        assert listed.status_code == 404
        return
    assert response.json()["added_words"] == added and response.json()["unmarked_words"] == []
    assert [f["added_words"] for f in listed.json()] == [added]
    assert added[1]["start"] == 28  # code points: JavaScript would count 29


def test_added_words_are_in_the_audit_record(
    client: TestClient, world: dict[str, int], factory: sessionmaker[Session]
) -> None:
    body = {"verdict": "wrong", "added_words": [stolen(world)]}
    assert (
        client.post("/api/v1/escalations/1/feedback", json=body, headers=bearer(client, "alice")).status_code
        == 201
    )
    with factory() as session:
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "feedback")).one()
        assert record.inputs["added_words"] == [stolen(world)] and record.actor == "alice"


@pytest.mark.parametrize(
    ("which", "start", "end", "text", "says"),
    [
        ("stressed", 2, 6, "This", "is not the text at [2, 6) of message"),
        ("stressed", 0, 999, "This", "outside its text"),
        ("stressed", 0, 4, "THIS", "which reads 'This'"),
        ("emoji", 29, 34, "money", "which reads 'oney '"),  # UTF-16 offsets after the emoji
        ("c1_bot", 0, 5, "Hello", "is the bot's"),
        ("asked", 0, 2, "my", "is not a message of conversation 'c1'"),
        ("unknown", 0, 2, "my", "is not a message of conversation 'c1'"),
    ],
)
def test_a_word_that_is_not_the_customers_stored_text_is_a_clear_422(
    client: TestClient,
    world: dict[str, int],
    factory: sessionmaker[Session],
    which: str,
    start: int,
    end: int,
    text: str,
    says: str,
) -> None:
    bad = {"message_id": world.get(which, 99_999), "start": start, "end": end, "word": text}
    response = client.post(
        "/api/v1/escalations/1/feedback",
        json={"verdict": "correct", "added_words": [bad]},
        headers=bearer(client, "sam"),
    )
    assert response.status_code == 422, response.text
    assert says in response.json()["detail"]
    with factory() as session:
        assert session.scalars(select(Feedback)).all() == []


@pytest.mark.parametrize(
    "bad",
    [
        {"message_id": 1, "start": 0, "end": 4},  # no word
        {"message_id": 1, "start": -1, "end": 4, "word": "This"},
        {"message_id": 1, "start": 0, "end": 4, "word": ""},
        {"message_id": 1, "start": 0, "end": 4, "word": "This", "score": 1},
    ],
)
def test_a_malformed_word_is_refused_by_the_schema(
    client: TestClient, world: dict[str, int], bad: dict
) -> None:
    response = client.post(
        "/api/v1/escalations/1/feedback",
        json={"verdict": "correct", "added_words": [bad]},
        headers=bearer(client, "sam"),
    )
    assert response.status_code == 422, response.text


# -- missed flags --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "conversation", "status"),
    [
        ("alice", "asked", 201),  # hers: the customer had to ask, the policy never flagged it
        ("bob", "asked", 404),  # not his queue
        ("alice", "calm", 404),  # nobody's queue: supervisors only
        ("sam", "calm", 201),
        ("root", "calm", 201),
        ("sam", "asked", 201),
    ],
)
def test_each_role_marks_a_missed_flag_where_it_may_see_the_conversation(
    client: TestClient,
    world: dict[str, int],
    factory: sessionmaker[Session],
    role: str,
    conversation: str,
    status: int,
) -> None:
    headers = bearer(client, role)
    said = (
        "I have been charged twice and nobody cares"
        if conversation == "calm"
        else "my card is gone, I am so done"
    )
    words = [word(world[conversation], said, "nobody" if conversation == "calm" else "done")]
    body = {"message_id": world[conversation], "comment": "should have gone to a person", "words": words}
    response = client.post(f"/api/v1/conversations/{conversation}/missed-flag", json=body, headers=headers)
    assert response.status_code == status, response.text
    listed = client.get(f"/api/v1/conversations/{conversation}/missed-flag", headers=headers)
    if status == 404:
        assert listed.status_code == 404
        assert response.json()["detail"] == f"conversation {conversation!r} not found"
        with factory() as session:
            assert session.scalars(select(MissedFlag)).all() == []
        return
    missed = response.json()
    assert missed["conversation_id"] == conversation and missed["message_id"] == world[conversation]
    assert missed["words"] == words and missed["comment"] == "should have gone to a person"
    assert missed["user_id"] == world[role] and missed["user_name"] == role.title()
    assert listed.status_code == 200 and listed.json() == [missed]
    with factory() as session:
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "missed_flag")).one()
        assert (record.actor, record.conversation_id) == (role, conversation)
        assert record.inputs["words"] == words and record.outcome["missed_flag_id"] == missed["id"]


def test_a_missed_flag_needs_nothing_but_the_conversation(client: TestClient, world: dict[str, int]) -> None:
    response = client.post("/api/v1/conversations/calm/missed-flag", json={}, headers=bearer(client, "sam"))
    assert response.status_code == 201, response.text
    assert (response.json()["message_id"], response.json()["words"], response.json()["comment"]) == (
        None,
        [],
        None,
    )


def test_no_login_no_missed_flags(client: TestClient, world: dict[str, int]) -> None:
    assert client.post("/api/v1/conversations/calm/missed-flag", json={}).status_code == 401
    assert client.get("/api/v1/conversations/calm/missed-flag").status_code == 401


@pytest.mark.parametrize(
    ("conversation", "body", "status", "says"),
    [
        ("nope", {}, 404, "conversation 'nope' not found"),
        ("c1", {}, 409, "already flagged: give a verdict on the escalation instead (escalation 1)"),
        ("calm", {"message_id": "stressed"}, 422, "is not a message of conversation 'calm'"),
        ("calm", {"message_id": "calm_bot"}, 422, "is the bot's"),
        ("calm", {"message_id": 99_999}, 422, "is not a message of conversation 'calm'"),
        ("calm", {"words": [{"message_id": "calm", "start": 0, "end": 6, "word": "I have"}]}, 201, ""),
        (
            "calm",
            {"words": [{"message_id": "calm", "start": 0, "end": 6, "word": "I hav"}]},
            422,
            "is not the text",
        ),
        (
            "calm",
            {"words": [{"message_id": "calm_bot", "start": 0, "end": 3, "word": "Let"}]},
            422,
            "the bot's",
        ),
        (
            "calm",
            {"words": [{"message_id": "stressed", "start": 0, "end": 4, "word": "This"}]},
            422,
            "conversation",
        ),
        ("calm", {"message_id": 0}, 422, ""),  # the schema's: ids start at 1
        ("calm", {"comment": "x" * 1001}, 422, ""),
        ("calm", {"reason": "no such field"}, 422, ""),
    ],
)
def test_missed_flag_refusals_are_clear(
    client: TestClient,
    world: dict[str, int],
    factory: sessionmaker[Session],
    conversation: str,
    body: dict[str, Any],
    status: int,
    says: str,
) -> None:
    def resolve(value: Any) -> Any:
        return world[value] if isinstance(value, str) and value in world else value

    sent = {key: resolve(value) for key, value in body.items()}
    if "words" in sent:
        sent["words"] = [{**w, "message_id": resolve(w["message_id"])} for w in sent["words"]]
    response = client.post(
        f"/api/v1/conversations/{conversation}/missed-flag", json=sent, headers=bearer(client, "sam")
    )
    assert response.status_code == status, response.text
    assert says in str(response.json().get("detail", ""))
    if status != 201:
        with factory() as session:
            assert session.scalars(select(MissedFlag)).all() == []


def test_an_agent_meets_the_409_only_on_a_conversation_it_may_see(
    client: TestClient, world: dict[str, int]
) -> None:
    assert (
        client.post(
            "/api/v1/conversations/c1/missed-flag", json={}, headers=bearer(client, "alice")
        ).status_code
        == 409
    )
    assert (
        client.post(
            "/api/v1/conversations/c1/missed-flag", json={}, headers=bearer(client, "bob")
        ).status_code
        == 404
    )


def test_a_withdrawn_flag_can_be_followed_by_a_missed_flag(client: TestClient, world: dict[str, int]) -> None:
    sam = bearer(client, "sam")
    assert (
        client.post("/api/v1/escalations/1/unflag", json={"reason": "sarcasm"}, headers=sam).status_code
        == 200
    )
    response = client.post(
        "/api/v1/conversations/c1/missed-flag", json={"message_id": world["emoji"]}, headers=sam
    )
    assert response.status_code == 201, response.text


def test_the_comment_is_stored_redacted(
    client: TestClient, world: dict[str, int], factory: sessionmaker[Session]
) -> None:
    body = {"comment": "customer wrote from jane.doe@example.com"}
    response = client.post("/api/v1/conversations/calm/missed-flag", json=body, headers=bearer(client, "sam"))
    assert response.json()["comment"] == "customer wrote from <EMAIL>"
    with factory() as session:
        assert session.scalars(select(MissedFlag.comment)).one() == "customer wrote from <EMAIL>"


# -- privacy -------------------------------------------------------------------------------------------


def test_erasure_removes_missed_flags_and_the_audit_keeps_no_words_or_comment(
    client: TestClient, world: dict[str, int], factory: sessionmaker[Session]
) -> None:
    said = "I have been charged twice and nobody cares"
    body = {
        "message_id": world["calm"],
        "comment": "missed it",
        "words": [word(world["calm"], said, "nobody")],
    }
    assert (
        client.post(
            "/api/v1/conversations/calm/missed-flag", json=body, headers=bearer(client, "sam")
        ).status_code
        == 201
    )
    with session_scope(factory) as session:
        assert privacy_tables.count(session, ["calm"])["missed_flags"] == 1
        [row] = privacy_tables.rows(session, ["calm"])["missed_flags"]
        assert row["words"][0]["word"] == "nobody" and row["comment"] == "missed it"
        counts = privacy_tables.remove(session, ["calm"], {"calm": "erased-1"})
    assert counts["missed_flags"] == 1 and counts["messages"] == 2 and counts["conversations"] == 1
    with factory() as session:
        assert session.scalars(select(MissedFlag)).all() == []
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "missed_flag")).one()
        assert record.conversation_id == "erased-1"
        assert record.inputs["words"] == [{"message_id": world["calm"], "start": 30, "end": 36}]
        assert "comment" not in record.inputs and "nobody" not in str(record.inputs)


def test_erasure_takes_the_added_words_with_the_feedback(
    client: TestClient, world: dict[str, int], factory: sessionmaker[Session]
) -> None:
    body = {"verdict": "correct", "added_words": [stolen(world)]}
    assert (
        client.post("/api/v1/escalations/1/feedback", json=body, headers=bearer(client, "sam")).status_code
        == 201
    )
    with session_scope(factory) as session:
        [row] = privacy_tables.rows(session, ["c1"])["feedback"]
        assert row["added_words"] == [stolen(world)]
        assert privacy_tables.remove(session, ["c1"], {"c1": "erased-2"})["feedback"] == 1
    with factory() as session:
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "feedback")).one()
        assert [set(w) for w in record.inputs["added_words"]] == [{"message_id", "start", "end"}]
