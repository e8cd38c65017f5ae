"""GET /api/v1/conversations/{id}/suggestion and POST .../suggestion/verdict: the suggested next action with
its reasons for whoever may see the conversation, from the provider's records read now; verdicts kept with
the reasons shown and audited; refusals (404, 409, 422, 503) store nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.routes.suggestions import CHANNEL_IDENTIFIES_NOBODY
from tests.unit.api import factories
from tests.unit.api import test_customer_panel as panel
from tests.unit.api.conftest import RecordingRasa, bearer
from tests.unit.api.test_customer_panel import make_client
from tests.unit.api.test_free_text_redaction import PII_NOTE, REDACTED_NOTE
from triage.domain.suggestions import NO_RECORDS
from triage.settings import CoreSettings
from triage.storage.db import AuditRecord, Conversation, session_scope
from triage.storage.workplace_tables import SuggestionVerdict

CONVERSATION = panel.CONVERSATION  # Telegram: the platform vouches for its sender ids
FREEZE = "freeze_card:4242"


# the customer panel's: a provider database whose customer (cards 4242 active, 1881 shipped; transfers,
# refunds) has this conversation's sender id; a client reading it; a customer who reports their card stolen,
# escalated in the cards queue, on Telegram
provider_url, client, held = panel.provider_url, panel.client, panel.held


def url(conversation_id: str = CONVERSATION, verdict: bool = False) -> str:
    return f"/api/v1/conversations/{conversation_id}/suggestion" + ("/verdict" if verdict else "")


def verdicts(factory: sessionmaker[Session]) -> list[SuggestionVerdict]:
    with factory() as session:
        return list(session.scalars(select(SuggestionVerdict).order_by(SuggestionVerdict.id)))


def records(factory: sessionmaker[Session], action: str) -> list[AuditRecord]:
    with factory() as session:
        return list(session.scalars(select(AuditRecord).where(AuditRecord.action == action)))


@pytest.mark.parametrize("who", ["alice", "sam", "root"])  # the cards agent, a supervisor, an admin
def test_who_may_see_the_conversation_gets_the_suggestion_with_its_reasons(
    client: TestClient, held: None, who: str
) -> None:
    response = client.get(url(), headers=bearer(client, who))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["conversation_id"] == CONVERSATION and body["none_because"] is None
    [best] = body["suggestions"]  # nothing else the customer asked fits the records
    assert (best["key"], best["action"], best["title"]) == (
        FREEZE,
        "freeze_card",
        "Freeze the card ending 4242",
    )
    assert best["reasons"] == [
        "the customer reports the card lost or stolen",
        "card ending 4242 is active: anyone holding its details can still use it",
        "the triage policy weighed it on the latest escalation (intent lost_or_stolen_card -> +30)",
    ]
    assert best["evidence"]["record"] == {"card": "4242", "status": "active"}
    assert best["verdict"] is None


def test_an_agent_outside_its_queue_unknown_ids_and_nobody_signed_in_get_nothing(
    client: TestClient, held: None, factory: sessionmaker[Session]
) -> None:
    body = {"key": FREEZE, "verdict": "accepted"}
    for method, path in (("GET", url()), ("POST", url(verdict=True))):
        bob = client.request(method, path, headers=bearer(client, "bob"), json=body)  # transfers agent
        assert bob.status_code == 404 and "4242" not in bob.text
        assert client.request(method, path, json=body).status_code == 401
    for unknown in ("no-such-conversation", "x" * 255):
        assert client.get(url(unknown), headers=bearer(client, "alice")).status_code == 404
        response = client.post(url(unknown, verdict=True), headers=bearer(client, "sam"), json=body)
        assert response.status_code == 404
    assert verdicts(factory) == []


def test_accepting_keeps_the_verdict_with_its_reasons_audited_and_shown_after_a_reload(
    client: TestClient, held: None, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    alice = bearer(client, "alice")
    comment = 'froze it <script>alert("x")</script> & called'
    response = client.post(
        url(verdict=True), headers=alice, json={"key": FREEZE, "verdict": "accepted", "comment": comment}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["key"], body["action"], body["verdict"], body["by"]) == (
        FREEZE,
        "freeze_card",
        "accepted",
        "Alice",
    )
    assert body["comment"] == comment  # text, as given (nothing in it to redact)
    [row] = verdicts(factory)
    assert (row.conversation_id, row.suggestion_key, row.action, row.verdict, row.user_id) == (
        CONVERSATION,
        FREEZE,
        "freeze_card",
        "accepted",
        team["alice"],
    )
    assert row.reasons == body["reasons"] and row.reasons[1].startswith("card ending 4242 is active")
    [record] = records(factory, "suggestion_verdict")
    assert (record.actor, record.conversation_id) == ("alice", CONVERSATION)
    assert record.inputs == {"action": "freeze_card", "verdict": "accepted", "comment": comment}
    assert record.outcome == {"suggestion_verdict_id": row.id}
    assert "4242" not in str(record.inputs)  # the key names the card: kept in the row, not the audit trail

    shown = client.get(url(), headers=bearer(client, "sam")).json()["suggestions"][0]["verdict"]
    assert (shown["verdict"], shown["by"]) == ("accepted", "Alice")


def test_the_latest_verdict_on_a_key_is_the_one_shown(client: TestClient, held: None) -> None:
    for who, verdict in (("alice", "accepted"), ("sam", "dismissed")):
        body = {"key": FREEZE, "verdict": verdict}
        assert client.post(url(verdict=True), headers=bearer(client, who), json=body).status_code == 201
    shown = client.get(url(), headers=bearer(client, "root")).json()["suggestions"][0]["verdict"]
    assert (shown["verdict"], shown["by"]) == ("dismissed", "Sam")


def test_a_key_not_suggested_now_is_refused_and_nothing_is_kept(
    client: TestClient, held: None, factory: sessionmaker[Session]
) -> None:
    for key in ("freeze_card:1881", "open_refund:charge", "anything"):
        response = client.post(
            url(verdict=True), headers=bearer(client, "alice"), json={"key": key, "verdict": "accepted"}
        )
        assert response.status_code == 409
        assert response.json()["detail"] == (
            f"{key!r} is not suggested for this conversation now (suggested: {FREEZE})"
        )
    assert verdicts(factory) == [] and records(factory, "suggestion_verdict") == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"key": FREEZE},
        {"verdict": "accepted"},
        {"key": "", "verdict": "accepted"},
        {"key": "k" * 129, "verdict": "accepted"},
        {"key": FREEZE, "verdict": "maybe"},
        {"key": FREEZE, "verdict": True},
        {"key": 4242, "verdict": "accepted"},
        {"key": [FREEZE], "verdict": "accepted"},
        {"key": FREEZE, "verdict": "accepted", "comment": "x" * 1001},
        {"key": FREEZE, "verdict": "accepted", "comment": 7},
        {"key": FREEZE, "verdict": "accepted", "comment": "nul\x00byte"},
        {"key": "freeze\x00card", "verdict": "accepted"},
        {"key": FREEZE, "verdict": "accepted", "user_id": 1},
        [FREEZE, "accepted"],
        "accepted",
    ],
)
def test_bad_bodies_are_422_and_nothing_is_kept(
    client: TestClient, held: None, factory: sessionmaker[Session], body: Any
) -> None:
    response = client.post(url(verdict=True), headers=bearer(client, "alice"), json=body)
    assert response.status_code == 422, response.text
    assert verdicts(factory) == []


def test_a_body_that_is_not_json_or_is_huge_is_refused(
    client: TestClient, held: None, factory: sessionmaker[Session]
) -> None:
    headers = {**bearer(client, "alice"), "Content-Type": "application/json"}
    assert client.post(url(verdict=True), headers=headers, content=b"\xff\xfe not json").status_code in (
        400,
        422,
    )
    huge = b'{"key": "' + b"k" * 2_000_000 + b'", "verdict": "accepted"}'
    assert client.post(url(verdict=True), headers=headers, content=huge).status_code in (413, 422)
    assert verdicts(factory) == []


def test_a_channel_that_vouches_for_nobody_or_an_unknown_customer_gets_no_suggestion(
    client: TestClient, held: None, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    with session_scope(factory) as session:
        session.get(Conversation, CONVERSATION).channel = "rest"  # type: ignore[union-attr]
        factories.escalated(session, "tg-unknown").channel = "telegram"
    body = client.get(url(), headers=bearer(client, "alice")).json()
    assert body["suggestions"] == [] and body["none_because"] == CHANNEL_IDENTIFIES_NOBODY
    assert records(factory, "customer_view") == []  # the provider was not read
    body = client.get(url("tg-unknown"), headers=bearer(client, "alice")).json()
    assert body["suggestions"] == [] and body["none_because"] == NO_RECORDS
    refused = client.post(
        url("tg-unknown", verdict=True),
        headers=bearer(client, "alice"),
        json={"key": FREEZE, "verdict": "dismissed"},
    )
    assert refused.status_code == 409 and "(suggested: none)" in refused.json()["detail"]


def test_reading_the_provider_is_audited_as_a_customer_view(
    client: TestClient, held: None, factory: sessionmaker[Session]
) -> None:
    client.get(url(), headers=bearer(client, "alice"))
    assert [r.actor for r in records(factory, "customer_view")] == ["alice"]


def test_a_provider_that_cannot_be_read_is_a_503_with_a_message_and_nothing_is_kept(
    core: CoreSettings, factory: sessionmaker[Session], rasa: RecordingRasa, held: None, tmp_path: Path
) -> None:
    missing = f"sqlite:///{tmp_path}/missing/provider.db"
    with make_client(core, factory, rasa, provider_db_url=missing) as client:
        got = client.get(url(), headers=bearer(client, "alice"))
        posted = client.post(
            url(verdict=True), headers=bearer(client, "alice"), json={"key": FREEZE, "verdict": "accepted"}
        )
    for response in (got, posted):
        assert response.status_code == 503
        detail = response.json()["detail"]
        assert "provider" in detail and str(tmp_path) not in detail
    assert verdicts(factory) == [] and records(factory, "customer_view") == []


def test_a_comment_is_stored_redacted(client: TestClient, held: None, factory: sessionmaker[Session]) -> None:
    body = {"key": FREEZE, "verdict": "dismissed", "comment": PII_NOTE}
    response = client.post(url(verdict=True), headers=bearer(client, "alice"), json=body)
    assert response.status_code == 201 and response.json()["comment"] == REDACTED_NOTE
    [record] = records(factory, "suggestion_verdict")
    assert record.inputs["comment"] == REDACTED_NOTE
    assert [row.comment for row in verdicts(factory)] == [REDACTED_NOTE]  # kept with the verdict too
