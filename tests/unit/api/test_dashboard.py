"""Queues with SLA timers, agents with load and status, the supervisor's figures, feedback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api import factories
from tests.unit.api.conftest import bearer
from triage import audit, services
from triage.storage.db import AgentStatus, Conversation, ConversationState, Feedback, User, session_scope


def test_queues_show_waiting_time_sla_and_breaches(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    with session_scope(factory) as session:
        factories.escalated(session, "late", minutes_ago=3)  # deadline 60 s after it queued: breached
        factories.escalated(session, "fresh")
        factories.escalated(session, "mine", text="My card was stolen, help")
        factories.assign(session, session.get_one(Conversation, "mine"), session.get_one(User, team["alice"]))
    queues = client.get("/api/v1/queues", headers=bearer(client, "sam")).json()
    cards = next(q for q in queues if q["name"] == "cards")
    waiting = {w["id"]: w for w in cards["waiting"]}
    assert set(waiting) == {"late", "fresh"} and cards["assigned"] == 1
    assert waiting["late"]["sla_breached"] is True and waiting["late"]["sla_remaining_s"] < 0
    assert 170 < waiting["late"]["waiting_s"] < 400
    assert waiting["fresh"]["sla_breached"] is False and waiting["fresh"]["sla_remaining_s"] > 0
    assert cards["oldest_wait_s"] == waiting["late"]["waiting_s"]
    bob_view = client.get("/api/v1/queues", headers=bearer(client, "bob")).json()
    assert [q["name"] for q in bob_view] == ["transfers"] and bob_view[0]["waiting"] == []


def test_agents_with_load_and_setting_my_status_requeues(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    with session_scope(factory) as session:
        conv = factories.escalated(session, "c1")
        factories.assign(session, conv, session.get_one(User, team["alice"]))
    agents = {a["username"]: a for a in client.get("/api/v1/agents", headers=bearer(client, "sam")).json()}
    assert set(agents) == {"alice", "bob"}  # supervisors and admins are not agents
    assert agents["alice"]["load"] == 1 and agents["alice"]["capacity"] == 3 and agents["bob"]["load"] == 0
    response = client.put(
        "/api/v1/agents/me/status", json={"status": "offline"}, headers=bearer(client, "alice")
    )
    assert response.status_code == 200
    assert response.json()["requeued"] == ["c1"] and response.json()["load"] == 0
    with factory() as session:
        assert session.get_one(Conversation, "c1").state == ConversationState.QUEUED
        assert session.get_one(User, team["alice"]).status == AgentStatus.OFFLINE
    bad = client.put("/api/v1/agents/me/status", json={"status": "asleep"}, headers=bearer(client, "alice"))
    assert bad.status_code == 422


def test_feedback_is_stored_and_drives_flag_precision(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    with session_scope(factory) as session:
        for cid in ("a", "b", "c"):
            factories.escalated(session, cid)
    alice, sam = bearer(client, "alice"), bearer(client, "sam")
    detail = client.get("/api/v1/conversations/a", headers=alice).json()
    word = detail["escalations"][0]["explanations"][0]["words"][0]
    unmark = {
        "message_id": detail["messages"][2]["id"],
        "start": word["start"],
        "end": word["end"],
        "word": word["word"],
    }
    given = client.post(
        "/api/v1/escalations/1/feedback",
        json={"verdict": "correct", "unmarked_words": [unmark], "comment": "right, but not that word"},
        headers=alice,
    )
    assert given.status_code == 201 and given.json()["unmarked_words"] == [unmark]
    assert (
        client.post("/api/v1/escalations/2/feedback", json={"verdict": "correct"}, headers=sam).status_code
        == 201
    )
    assert (
        client.post("/api/v1/escalations/3/feedback", json={"verdict": "wrong"}, headers=sam).status_code
        == 201
    )
    listed = client.get("/api/v1/escalations/1/feedback", headers=sam).json()
    assert [f["comment"] for f in listed] == ["right, but not that word"]
    figures = client.get("/api/v1/metrics", headers=sam).json()
    assert figures["flag_precision"] == round(2 / 3, 4) and figures["feedback_count"] == 3
    with factory() as session:
        assert len(session.scalars(select(Feedback)).all()) == 3


def test_feedback_input_is_validated(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    with session_scope(factory) as session:
        factories.escalated(session, "a")
    sam = bearer(client, "sam")
    for body in (
        {"verdict": "maybe"},
        {},
        {"verdict": "wrong", "unmarked_words": [{"word": "x"}]},
        {"verdict": "wrong", "unmarked_words": [{"message_id": 1, "start": 5, "end": 2, "word": "x"}]},
        {"verdict": "wrong", "comment": "c" * 1001},
    ):
        assert client.post("/api/v1/escalations/1/feedback", json=body, headers=sam).status_code == 422, body
    with factory() as session:
        assert session.scalars(select(Feedback)).all() == []


def test_figures(client: TestClient, factory: sessionmaker[Session], team: dict[str, int]) -> None:
    with session_scope(factory) as session:
        late = factories.escalated(session, "late", minutes_ago=3)
        late.sla_breached = True
        quick = factories.escalated(session, "quick")
        quick.first_agent_reply_at = quick.escalated_at + timedelta(seconds=40)  # type: ignore[operator]
        slow = factories.escalated(session, "slow")
        slow.first_agent_reply_at = slow.escalated_at + timedelta(seconds=100)  # type: ignore[operator]
    figures = client.get("/api/v1/metrics?window_hours=6", headers=bearer(client, "sam")).json()
    assert figures["escalations"] == 3 and sum(h["count"] for h in figures["escalations_per_hour"]) == 3
    assert len(figures["escalations_per_hour"]) == 6
    assert figures["median_first_reply_s"] == 70.0
    assert figures["sla_breach_rate"] == round(1 / 3, 4)
    # each conversation has a 0.12 and a 0.91 customer message
    assert figures["stress_histogram"][1] == 3 and figures["stress_histogram"][9] == 3
    assert figures["flag_precision"] is None
    assert client.get("/api/v1/metrics?window_hours=0", headers=bearer(client, "sam")).status_code == 422


def test_figures_that_say_what_they_mean(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    """Escalation rate, precision from the latest verdicts with unflags as wrong, time to resolution,
    and the breakdowns by queue and by agent."""
    with session_scope(factory) as session:
        alice = session.get_one(factories.User, team["alice"])
        sam = session.get_one(factories.User, team["sam"])
        answered = factories.escalated(session, "answered")
        factories.assign(session, answered, alice)
        services.agent_reply(session, "answered", alice, "Hello, I am on it")
        services.resolve(session, "answered", actor=audit.Actor("user", "alice", alice.id))
        wrong_then_right = factories.escalated(session, "judged")
        factories.escalated(session, "withdrawn", intent="transfer_not_received_by_recipient")
        session.add(Conversation(id="calm", stress_trajectory=[]))
        session.flush()
        judged = wrong_then_right.escalations[-1].id
        services.record_feedback(session, judged, user=sam, verdict="wrong", unmarked_words=[], comment=None)
        services.record_feedback(
            session, judged, user=sam, verdict="correct", unmarked_words=[], comment=None
        )
        withdrawn = session.get_one(Conversation, "withdrawn").escalations[-1].id
        services.unflag(
            session, withdrawn, reason="the customer was joking", actor=audit.Actor("user", "sam", sam.id)
        )
    figures = client.get("/api/v1/metrics?window_hours=6", headers=bearer(client, "sam")).json()
    assert figures["conversations"] == 4 and figures["escalations"] == 3
    assert figures["escalation_rate"] == 0.75
    assert figures["flag_precision"] == 0.5  # judged: right (its latest verdict); withdrawn: wrong
    assert figures["median_resolution_s"] is not None and figures["median_resolution_s"] >= 0
    queues = {q["queue"]: q for q in figures["by_queue"]}
    assert queues["cards"]["escalations"] == 2 and queues["cards"]["flag_precision"] == 1.0
    assert queues["transfers"]["flag_precision"] == 0.0
    assert queues["cards"]["median_first_reply_s"] is not None
    assert figures["by_agent"] == [
        {"agent_id": team["alice"], "name": "Alice", "conversations_answered": 1, "replies": 1, "resolved": 1}
    ]
    assert client.get("/api/v1/metrics?window_hours=6", headers=bearer(client, "alice")).status_code == 403


def test_empty_figures(client: TestClient, team: dict[str, int]) -> None:
    def this_hour() -> datetime:
        return datetime.now(UTC).replace(minute=0, second=0, microsecond=0)

    before = this_hour()
    figures = client.get("/api/v1/metrics", headers=bearer(client, "sam")).json()
    after = this_hour()
    per_hour = figures.pop("escalations_per_hour")
    # no data: counts are 0, and rates, medians and precision are None (nothing to divide by), not 0
    assert figures == {
        "window_hours": 24,
        "conversations": 0,
        "escalations": 0,
        "escalation_rate": None,
        "flag_precision": None,
        "feedback_count": 0,
        "median_first_reply_s": None,
        "median_resolution_s": None,
        "sla_breach_rate": None,
        "by_queue": [],
        "by_agent": [],
        "stress_histogram": [0] * 10,
        "stress_bins": [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0],
        "csat_average": None,
        "csat_responses": 0,
        "csat": {
            "average": None,
            "responses": 0,
            "distribution": [0, 0, 0, 0, 0],
            "by_escalated": [],
            "by_queue": [],
            "by_agent": [],
        },
    }
    # every hour of the window is listed, with 0, oldest first and ending with the current hour
    assert [h["count"] for h in per_hour] == [0] * 24
    hours = [datetime.fromisoformat(h["hour"]) for h in per_hour]
    assert hours[-1] in (before, after)  # the request may straddle the turn of an hour
    assert hours == [hours[-1] - timedelta(hours=23 - i) for i in range(24)]


def test_queue_names_come_from_the_policy(client: TestClient, team: dict[str, int]) -> None:
    names = client.get("/api/v1/queue-names", headers=bearer(client, "alice")).json()
    assert {"cards", "transfers", "general"} <= set(names) and names == sorted(names)
    assert client.get("/api/v1/queue-names").status_code == 401


def test_overdue_conversations_count_as_breached_before_the_worker_marks_them(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    with session_scope(factory) as session:
        factories.escalated(session, "late", minutes_ago=3)  # deadline passed, sla_breached still False
    figures = client.get("/api/v1/metrics", headers=bearer(client, "sam")).json()
    assert figures["sla_breach_rate"] == 1.0
    cards = next(
        q for q in client.get("/api/v1/queues", headers=bearer(client, "sam")).json() if q["name"] == "cards"
    )
    assert cards["breaches"] == 1


def test_median_first_reply_of_an_odd_count_is_the_middle_wait(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    with session_scope(factory) as session:
        for name, seconds in (("a", 10), ("b", 300), ("c", 45)):
            conv = factories.escalated(session, name)
            conv.first_agent_reply_at = conv.escalated_at + timedelta(seconds=seconds)  # type: ignore[operator]
    figures = client.get("/api/v1/metrics?window_hours=1", headers=bearer(client, "sam")).json()
    assert figures["median_first_reply_s"] == 45.0
