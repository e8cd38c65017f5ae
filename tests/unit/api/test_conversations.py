"""Reading conversations: visibility, filters, the detail view, the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api import factories
from tests.unit.api.conftest import bearer
from tests.unit.triage.policies import shipped_policy_data
from triage import services
from triage.audit import Actor
from triage.domain.policy import current_policy
from triage.redaction import redact_with_spans
from triage.storage.db import Conversation, Message, Sender, session_scope


@pytest.fixture
def three(factory: sessionmaker[Session], team: dict[str, int]) -> None:
    """cards-1 (stress 0.91, cards), transfers-1 (stress 0.62, transfers), calm (never escalated)."""
    with session_scope(factory) as session:
        factories.escalated(session, "cards-1")
        factories.escalated(
            session,
            "transfers-1",
            text="Where is my transfer? It is late again",
            intent="transfer_not_received_by_recipient",
            stress=0.62,
        )
        session.add(Conversation(id="calm", stress_trajectory=[0.05], max_stress=0.05))


def ids(response: object) -> list[str]:
    return [item["id"] for item in response.json()["items"]]  # type: ignore[attr-defined]


def test_agents_see_their_queues_and_supervisors_see_all(client: TestClient, three: None) -> None:
    assert ids(client.get("/api/v1/conversations", headers=bearer(client, "alice"))) == ["cards-1"]
    assert ids(client.get("/api/v1/conversations", headers=bearer(client, "bob"))) == ["transfers-1"]
    everything = client.get("/api/v1/conversations", headers=bearer(client, "sam")).json()
    assert everything["total"] == 3 and set(ids_ := [i["id"] for i in everything["items"]]) == {
        "cards-1",
        "transfers-1",
        "calm",
    }
    assert ids_[0] == "cards-1"  # most urgent first


def test_filters(
    client: TestClient, three: None, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    sam = bearer(client, "sam")
    get = lambda query: ids(client.get(f"/api/v1/conversations?{query}", headers=sam))  # noqa: E731
    assert get("flagged=true") == ["cards-1", "transfers-1"]
    assert get("flagged=false") == ["calm"]
    assert get("queue=transfers") == ["transfers-1"]
    assert get("stress_min=0.8") == ["cards-1"]
    assert get("state=queued&priority_min=0") == ["cards-1", "transfers-1"]
    assert get("feedback=none") == ["cards-1", "transfers-1"]
    with session_scope(factory) as session:
        sam_user = session.get_one(factories.User, team["sam"])
        services.record_feedback(session, 1, user=sam_user, verdict="wrong", unmarked_words=[], comment=None)
    assert get("feedback=wrong") == ["cards-1"]
    assert get("feedback=none") == ["transfers-1"]
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    assert get(f"since={future}") == []
    assert get(f"until={future}&flagged=true") == ["cards-1", "transfers-1"]
    assert get("limit=1") == ["cards-1"] and get("limit=1&offset=1") == ["transfers-1"]


def test_filters_validate_their_input(client: TestClient, three: None) -> None:
    sam = bearer(client, "sam")
    for query in (
        "stress_min=2",
        "priority_min=-1",
        "limit=0",
        "limit=201",
        "feedback=maybe",
        "state=gone",
        "since=yesterday",
        "queue=" + "q" * 65,
    ):
        assert client.get(f"/api/v1/conversations?{query}", headers=sam).status_code == 422, query


def test_mine_lists_only_my_assignments(
    client: TestClient, three: None, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    with session_scope(factory) as session:
        factories.assign(
            session, session.get_one(Conversation, "cards-1"), session.get_one(factories.User, team["alice"])
        )
    assert ids(client.get("/api/v1/conversations?mine=true", headers=bearer(client, "alice"))) == ["cards-1"]
    assert ids(client.get("/api/v1/conversations?mine=true", headers=bearer(client, "bob"))) == []


def test_detail_has_transcript_trajectory_and_escalation(client: TestClient, three: None) -> None:
    detail = client.get("/api/v1/conversations/cards-1", headers=bearer(client, "alice")).json()
    assert [m["sender"] for m in detail["messages"]] == ["customer", "bot", "customer"]
    assert detail["stress_trajectory"] == [0.12, 0.91]
    assert detail["max_stress"] == 0.91 and detail["last_stress"] == 0.91
    escalation = detail["escalations"][0]
    assert escalation["priority_band"] == detail["priority_band"] and escalation["queue"] == "cards"
    assert any(f["factor"] == "stress" and f["contribution"] > 0 for f in escalation["factors"])
    # its explanations, as the worker stores them (filled, pending, failed): test_explanations.py
    stressed = detail["messages"][2]
    assert stressed["emotions"]["emotions"]["anger"] == 0.71 and stressed["labels"] == ["anger", "annoyance"]


def test_detail_gives_each_message_where_its_redactions_are(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    with session_scope(factory) as session:
        factories.escalated(session, "c1")
        redacted = redact_with_spans("typed <SCRIPT>, mine is ann@example.com")
        session.add_all(
            [
                Message(
                    conversation_id="c1",
                    sender=Sender.CUSTOMER,
                    text=redacted.text,
                    redactions=[span.as_dict() for span in redacted.spans],
                ),
                # stored before the spans were: no structural markers, whatever the text holds
                Message(conversation_id="c1", sender=Sender.CUSTOMER, text="old <EMAIL>"),
            ]
        )
    messages = client.get("/api/v1/conversations/c1", headers=bearer(client, "alice")).json()["messages"]
    assert (messages[-2]["text"], messages[-2]["redactions"]) == (
        "typed <SCRIPT>, mine is <EMAIL>",
        [{"entity": "EMAIL_ADDRESS", "start": 24, "end": 31}],
    )
    assert (messages[-1]["text"], messages[-1]["redactions"]) == ("old <EMAIL>", None)


def test_detail_gives_the_stress_the_policy_counts_from(client: TestClient, three: None) -> None:
    detail = client.get("/api/v1/conversations/cards-1", headers=bearer(client, "alice")).json()
    assert detail["stress_counts_from"] == current_policy().config.factors.stress.min == 0.4


def test_detail_follows_a_promoted_policy(client: TestClient, three: None, team: dict[str, int]) -> None:
    """The registry's active policy applies from the next request (editing the file does not: see
    docs/model-registry.md)."""
    data = shipped_policy_data()
    data["version"], data["factors"]["stress"]["min"] = "stress-from-042", 0.42
    admin = bearer(client, "root")
    reason = {"reason": "count milder stress"}
    added = client.post("/api/v1/policies", json={"yaml": yaml.safe_dump(data), **reason}, headers=admin)
    assert added.status_code == 201, added.text
    assert (
        client.post("/api/v1/policies/stress-from-042/promote", json=reason, headers=admin).status_code == 200
    )
    detail = client.get("/api/v1/conversations/cards-1", headers=bearer(client, "alice")).json()
    assert detail["stress_counts_from"] == 0.42


def test_detail_shows_the_customer_tier_the_worker_stored(
    client: TestClient, three: None, factory: sessionmaker[Session]
) -> None:
    url, headers = "/api/v1/conversations/cards-1", bearer(client, "alice")
    assert client.get(url, headers=headers).json()["customer_tier"] == "standard"
    with session_scope(factory) as session:
        session.get(Conversation, "cards-1").customer_tier = "vip"  # type: ignore[union-attr]
    assert client.get(url, headers=headers).json()["customer_tier"] == "vip"


def test_detail_of_another_queue_is_404(client: TestClient, three: None) -> None:
    assert client.get("/api/v1/conversations/transfers-1", headers=bearer(client, "alice")).status_code == 404


def test_audit_trail(
    client: TestClient, three: None, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    with session_scope(factory) as session:
        services.set_priority(
            session, "cards-1", priority=42, reason="calmer now", actor=Actor("user", "sam", team["sam"])
        )
    trail = client.get("/api/v1/conversations/cards-1/audit", headers=bearer(client, "sam")).json()
    assert [r["action"] for r in trail] == ["escalate", "override_priority"]
    assert trail[1]["actor"] == "sam" and trail[1]["inputs"]["reason"] == "calmer now"
    assert trail[0]["versions"]["policy"]
    assert client.get("/api/v1/conversations/nope/audit", headers=bearer(client, "sam")).status_code == 404


def test_time_filters_honour_the_offset_they_are_given(client: TestClient, three: None) -> None:
    """An hour ago written with +02:00 is still an hour ago (SQLite compares the stored text, so an
    offset left unconverted would move the bound two hours later, past the fixture's conversations)."""
    sam = bearer(client, "sam")
    get = lambda query: ids(client.get("/api/v1/conversations", params=query, headers=sam))  # noqa: E731
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).astimezone(timezone(timedelta(hours=2))).isoformat()
    assert get({"until": hour_ago, "flagged": "true"}) == []
    assert get({"since": hour_ago, "flagged": "true"}) == ["cards-1", "transfers-1"]
