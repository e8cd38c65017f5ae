"""A customer's earlier conversations in the console (GET /conversations/{id}/earlier, issue #20)."""

from __future__ import annotations

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api.conftest import bearer
from tests.unit.api.factories import bot_only, escalated
from triage.storage.db import Conversation, utcnow
from triage.storage.workplace_tables import CsatRating

ANNA = "cref:v1:" + "a" * 40
BEN = "cref:v1:" + "b" * 40


def linked(
    session: Session, conversation_id: str, ref: str | None, *, days_ago: int = 0, queue: str | None = None
):
    conversation = session.get_one(Conversation, conversation_id)
    conversation.customer_ref = ref
    conversation.started_at = utcnow() - timedelta(days=days_ago)
    if queue is not None:
        conversation.queue = queue
    return conversation


def seed(factory: sessionmaker[Session], team: dict[str, int]) -> None:
    with factory() as session:
        escalated(session, "now")  # cards queue
        linked(session, "now", ANNA)
        bot_only(session, "web-old")
        linked(session, "web-old", ANNA, days_ago=9, queue="cards")
        escalated(session, "tg-last-week")
        last_week = linked(session, "tg-last-week", ANNA, days_ago=7)
        last_week.assigned_agent_id = team["alice"]
        last_week.resolved_at = utcnow() - timedelta(days=7)
        session.add(
            CsatRating(conversation_id="tg-last-week", rating=2, escalated=True, agent_id=team["alice"])
        )
        session.flush()
        session.add(
            CsatRating(conversation_id="tg-last-week", rating=5, escalated=True, agent_id=team["alice"])
        )
        bot_only(session, "transfers-q")
        linked(session, "transfers-q", ANNA, days_ago=3, queue="transfers")
        bot_only(session, "someone-else")
        linked(session, "someone-else", BEN, days_ago=1, queue="cards")
        session.commit()


def test_a_supervisor_sees_the_customers_other_conversations_newest_first_with_how_they_ended(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    seed(factory, team)
    answer = client.get("/api/v1/conversations/now/earlier", headers=bearer(client, "sam"))
    assert answer.status_code == 200
    body = answer.json()
    assert body["linked"] is True and body["not_shown"] == 0
    rows = body["conversations"]
    assert [r["id"] for r in rows] == ["transfers-q", "tg-last-week", "web-old"]  # not "now", not Ben's
    last_week = rows[1]
    assert (last_week["escalated"], last_week["agent"], last_week["csat"]) == (True, "Alice", 5)
    assert last_week["resolved_at"] is not None
    assert (rows[2]["escalated"], rows[2]["csat"], rows[2]["agent"]) == (False, None, None)


def test_an_agent_sees_only_those_they_may_open_and_how_many_others_there_are(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    seed(factory, team)
    body = client.get("/api/v1/conversations/now/earlier", headers=bearer(client, "alice")).json()
    assert [r["id"] for r in body["conversations"]] == ["tg-last-week", "web-old"]  # cards, or hers
    assert body["not_shown"] == 1  # the transfers one
    # bob (transfers) may not open "now" (cards): the same 404 as an unknown id
    assert client.get("/api/v1/conversations/now/earlier", headers=bearer(client, "bob")).status_code == 404
    assert client.get("/api/v1/conversations/nope/earlier", headers=bearer(client, "sam")).status_code == 404
    assert client.get("/api/v1/conversations/now/earlier").status_code == 401


def test_a_conversation_whose_customer_the_bot_does_not_know_links_nothing(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    seed(factory, team)
    with factory() as session:
        bot_only(session, "anonymous")
        session.commit()
    body = client.get("/api/v1/conversations/anonymous/earlier", headers=bearer(client, "sam")).json()
    assert body == {"conversation_id": "anonymous", "linked": False, "conversations": [], "not_shown": 0}
    long_id = "x" * 256
    assert (
        client.get(f"/api/v1/conversations/{long_id}/earlier", headers=bearer(client, "sam")).status_code
        == 422
    )
