"""The customer's rating (issue #20): POST /api/v1/csat with the bot's token, and the question after a
resolved hand-off."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api.conftest import TRIAGE_TOKEN
from tests.unit.api.factories import bot_only, escalated
from triage import services
from triage.audit import Actor
from triage.storage.db import AuditRecord, Conversation, OutboxCommand, User
from triage.storage.workplace_tables import CsatRating

BOT = {"Authorization": f"Bearer {TRIAGE_TOKEN}"}


def resolved_by(factory: sessionmaker[Session], conversation_id: str, username: str = "alice") -> int:
    """A policy escalation an agent accepted, answered and resolved; returns the escalation's id."""
    with factory() as session:
        agent = session.scalars(select(User).where(User.username == username)).one()
        conversation = escalated(session, conversation_id)
        services.accept(session, conversation_id, agent)
        services.agent_reply(session, conversation_id, agent, "Your card is frozen now.")
        services.resolve(session, conversation_id, actor=Actor.of(agent))
        session.commit()
        return int(conversation.latest_escalation_id or 0)


def rate(client: TestClient, conversation_id: str, rating: object, **more: object):
    return client.post(
        "/api/v1/csat", json={"conversation_id": conversation_id, "rating": rating, **more}, headers=BOT
    )


def test_an_answered_hand_off_ends_with_the_rating_question(
    factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    resolved_by(factory, "c1")
    with factory() as session:
        kinds = [
            (c.kind, c.payload.get("name"))
            for c in session.scalars(select(OutboxCommand).where(OutboxCommand.conversation_id == "c1"))
        ]
    assert kinds[-2:] == [("answer_pending", None), ("utter", "utter_ask_csat")]
    with factory() as session:
        question = session.scalars(
            select(OutboxCommand)
            .where(OutboxCommand.conversation_id == "c1")
            .order_by(OutboxCommand.id.desc())
        ).first()
        escalation_id = session.get_one(Conversation, "c1").latest_escalation_id
    assert question is not None and question.payload["optional"] is True
    # the bot keeps what the question is about, and sends it back with the rating
    assert question.payload["slots"] == {"csat_asked": f"escalation:{escalation_id}"}


def test_a_rating_after_the_hand_off_rates_it_with_its_agent_and_queue_and_a_second_replaces_it(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    escalation_id = resolved_by(factory, "c1")
    first = rate(client, "c1", 2, channel="telegram")
    assert first.status_code == 201, first.text
    body = first.json()
    assert body | {"id": 0} == {
        "id": 0,
        "conversation_id": "c1",
        "rating": 2,
        "escalated": True,
        "escalation_id": escalation_id,
        "replaced": False,
    }
    again = rate(client, "c1", 5, channel="telegram")
    assert again.status_code == 201 and again.json()["replaced"] and again.json()["id"] == body["id"]
    with factory() as session:
        [row] = session.scalars(select(CsatRating)).all()
        assert (row.rating, row.agent_id, row.queue, row.channel) == (5, team["alice"], "cards", "telegram")
        trail = session.scalars(select(AuditRecord).where(AuditRecord.action == "csat")).all()
        assert [(r.actor, r.inputs) for r in trail] == [
            ("bot", {"rating": 2, "previous": None, "about": None}),
            ("bot", {"rating": 5, "previous": 2, "about": None}),
        ]


def test_the_bots_own_conversation_is_rated_too(client: TestClient, factory: sessionmaker[Session]) -> None:
    with factory() as session:
        bot_only(session, "web-9")
        session.commit()
    answer = rate(client, "web-9", 4)
    assert answer.status_code == 201
    assert answer.json()["escalated"] is False and answer.json()["escalation_id"] is None


def test_a_conversation_still_with_our_team_or_unknown_is_refused_and_nothing_is_kept(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    with factory() as session:
        escalated(session, "open-1")
        session.commit()
    waiting = rate(client, "open-1", 4)
    assert waiting.status_code == 409 and "once it is resolved" in waiting.json()["detail"]
    assert rate(client, "nobody", 4).status_code == 404
    with factory() as session:
        assert session.scalars(select(CsatRating)).all() == []


def test_only_the_bot_may_rate_and_only_with_a_rating(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    with factory() as session:
        bot_only(session, "web-9")
        session.commit()
    body = {"conversation_id": "web-9", "rating": 4}
    assert client.post("/api/v1/csat", json=body).status_code == 401
    assert client.post("/api/v1/csat", json=body, headers={"Authorization": "Bearer nope"}).status_code == 401
    for bad in (0, 6, "4", 4.5, True, None, "<script>", 10**30):
        assert rate(client, "web-9", bad).status_code == 422, bad
    for body in (
        {},
        {"conversation_id": "web-9"},
        {"conversation_id": "", "rating": 4},
        {"conversation_id": "x" * 256, "rating": 4},
        {"conversation_id": "web-9", "rating": 4, "surprise": 1},
        {"conversation_id": "web-9", "rating": 4, "channel": "c" * 65},
    ):
        assert client.post("/api/v1/csat", json=body, headers=BOT).status_code == 422, body
    assert (
        client.post(
            "/api/v1/csat", content=b"\xff\xfe", headers=BOT | {"Content-Type": "application/json"}
        ).status_code
        == 422
    )
    with factory() as session:
        assert session.scalars(select(CsatRating)).all() == []


def test_the_figures_give_the_average_and_its_breakdowns_over_the_window(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    from datetime import timedelta

    from tests.unit.api.conftest import bearer
    from triage.storage.db import utcnow

    resolved_by(factory, "c1", "alice")
    resolved_by(factory, "c2", "bob")
    with factory() as session:
        for name in ("web-1", "web-2", "old"):
            bot_only(session, name)
        session.commit()
    for conversation_id, rating in (("c1", 5), ("c2", 2), ("web-1", 4), ("web-2", 3), ("old", 1)):
        assert rate(client, conversation_id, rating).status_code == 201
    with factory() as session:  # a rating from before the window
        old = session.scalars(select(CsatRating).where(CsatRating.conversation_id == "old")).one()
        old.created_at = utcnow() - timedelta(days=2)
        session.commit()
    figures = client.get("/api/v1/metrics?window_hours=24", headers=bearer(client, "sam")).json()
    assert (figures["csat_average"], figures["csat_responses"]) == (3.5, 4)
    csat = figures["csat"]
    assert csat["distribution"] == [0, 1, 1, 1, 1]
    assert [(g["key"], g["label"], g["average"], g["responses"]) for g in csat["by_escalated"]] == [
        ("bot", "The bot alone", 3.5, 2),
        ("escalated", "Handled by our team", 3.5, 2),
    ]
    assert [(g["label"], g["average"]) for g in csat["by_queue"]] == [("cards", 3.5)]
    assert [(g["label"], g["average"], g["responses"]) for g in csat["by_agent"]] == [
        ("Alice", 5.0, 1),
        ("Bob", 2.0, 1),
    ]
    week = client.get("/api/v1/metrics?window_hours=168", headers=bearer(client, "sam")).json()
    assert (week["csat_average"], week["csat_responses"]) == (3.0, 5)


def test_what_the_question_was_about_keeps_the_bots_rating_off_the_agents(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    escalation_id = resolved_by(factory, "c1")
    handoff = rate(client, "c1", 5, about=f"escalation:{escalation_id}")
    assert handoff.status_code == 201 and handoff.json()["escalation_id"] == escalation_id
    # "no, bye": the bot's goodbye question, answered right after: the bot's rating, the agent's stays 5
    bot = rate(client, "c1", 1, about="bot")
    assert bot.status_code == 201 and bot.json()["escalated"] is False and not bot.json()["replaced"]
    with factory() as session:
        kept = {(r.escalation_id, r.rating) for r in session.scalars(select(CsatRating))}
    assert kept == {(escalation_id, 5), (None, 1)}
    stale = rate(client, "c1", 3, about=f"escalation:{escalation_id + 1}")
    assert stale.status_code == 409 and "latest resolved hand-off" in stale.json()["detail"]
    for about in ("", "escalation:", "escalation:x", "Bot", "bot ", "escalation:1" + "0" * 20, 5):
        assert rate(client, "c1", 3, about=about).status_code == 422, about


def test_a_hand_off_resolved_from_the_queue_is_rated_for_the_agent_who_answered_it(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    from triage.storage.db import AgentStatus

    with factory() as session:
        alice = session.scalars(select(User).where(User.username == "alice")).one()
        sam = session.scalars(select(User).where(User.username == "sam")).one()
        escalated(session, "c1")
        services.accept(session, "c1", alice)
        services.agent_reply(session, "c1", alice, "Your card is frozen now.")
        services.set_agent_status(session, alice, AgentStatus.OFFLINE, actor=Actor.of(alice))  # requeued
        assert session.get_one(Conversation, "c1").assigned_agent_id is None
        services.resolve(session, "c1", actor=Actor.of(sam))
        session.commit()
    answer = rate(client, "c1", 4)
    assert answer.status_code == 201 and answer.json()["escalated"] is True
    with factory() as session:
        assert session.scalars(select(CsatRating.agent_id)).one() == team["alice"]
