"""GET /api/v1/conversations/{id}/customer: the provider's records of the conversation's customer, for whoever
may see the conversation, read at request time, audited, never stored."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.ratelimit import limiter
from api.relay import OutboxRelay
from api.routes import customer_panel
from api.settings import ApiSettings
from tests.unit.api import factories, provider_rows
from tests.unit.api.conftest import RecordingRasa, bearer
from triage.settings import CoreSettings
from triage.storage.db import AuditRecord, Conversation, session_scope

CONVERSATION = "tg-4711"  # a Telegram chat: the platform vouches for its sender ids
NAME = 'Anna <img src=x onerror="alert(1)"> Smith'


def make_client(
    core: CoreSettings, factory: sessionmaker[Session], rasa: RecordingRasa, **settings: object
) -> TestClient:
    limiter.reset()
    api_settings = ApiSettings(cookie_secure=False, **settings)  # type: ignore[arg-type]
    return TestClient(create_app(core, api_settings, factory, OutboxRelay(factory, lambda: rasa)))


@pytest.fixture
def provider_url(tmp_path: Path) -> str:
    return provider_rows.build(tmp_path / "provider.db", CONVERSATION, name=NAME)


@pytest.fixture
def client(
    core: CoreSettings, factory: sessionmaker[Session], rasa: RecordingRasa, provider_url: str
) -> Iterator[TestClient]:
    with make_client(core, factory, rasa, provider_db_url=provider_url) as test_client:
        yield test_client


@pytest.fixture
def held(factory: sessionmaker[Session], team: dict[str, int]) -> None:
    """An escalated conversation in the cards queue, on Telegram."""
    with session_scope(factory) as session:
        factories.escalated(session, CONVERSATION).channel = "telegram"


def views(factory: sessionmaker[Session]) -> list[AuditRecord]:
    with factory() as session:
        stmt = select(AuditRecord).where(AuditRecord.action == "customer_view").order_by(AuditRecord.id)
        return list(session.scalars(stmt))


def url(conversation_id: str = CONVERSATION) -> str:
    return f"/api/v1/conversations/{conversation_id}/customer"


@pytest.mark.parametrize("who", ["alice", "sam", "root"])  # the cards agent, a supervisor, an admin
def test_who_may_see_the_conversation_sees_the_customer(client: TestClient, held: None, who: str) -> None:
    response = client.get(url(), headers=bearer(client, who))
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["verified"] is True and body["not_verified_because"] is None
    assert (body["name"], body["tier"]) == (NAME, "premium")
    assert body["cards"][1] == {
        "last_four": "1881",
        "kind": "physical",
        "status": "shipped",
        "dispatched_on": "2026-12-04",
        "expected_by": "2026-12-09",
    }
    assert [t["reference"] for t in body["transfers"]][:2] == ["TRF-100245", "TRF-100378"]
    assert len(body["transfers"]) == 5 and len(body["refunds"]) == 5
    assert body["transfers"][0]["amount"] == "£250.00" and body["transfers"][0]["amount_minor"] == 25000
    assert body["transfers"][1]["failure_reason"] == "account number rejected"
    assert body["refunds"][0]["merchant"] == "Skyline Air" and body["refunds"][0]["amount"] == "£189.99"
    assert "TRF-BEN" not in response.text  # another customer's payment


def test_an_agent_outside_its_queue_and_nobody_signed_in_see_nothing(client: TestClient, held: None) -> None:
    response = client.get(url(), headers=bearer(client, "bob"))  # transfers agent
    assert response.status_code == 404 and "Anna" not in response.text
    assert client.get(url("no-such-conversation"), headers=bearer(client, "alice")).status_code == 404
    assert client.get(url()).status_code == 401


def test_each_read_is_audited_without_values_once_per_viewer_in_the_window(
    client: TestClient, held: None, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    for who in ("alice", "alice", "sam", "bob"):
        client.get(url(), headers=bearer(client, who))
    records = views(factory)
    assert [(r.actor, r.actor_type, r.conversation_id, r.inputs, r.outcome) for r in records] == [
        ("alice", "user", CONVERSATION, {"user_id": team["alice"]}, {}),
        ("sam", "user", CONVERSATION, {"user_id": team["sam"]}, {}),
    ]
    with factory() as session:  # nothing the provider holds was written to Clearline's tables
        texts = [str(row) for row in session.execute(select(AuditRecord.inputs, AuditRecord.outcome))]
        assert not any("Anna" in t or "4242" in t or "TRF-" in t for t in texts)
        assert session.get(Conversation, CONVERSATION).customer_tier == "standard"  # type: ignore[union-attr]


def test_a_sender_the_provider_does_not_know_is_not_verified(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    with session_scope(factory) as session:
        factories.escalated(session, "tg-unknown").channel = "telegram"
    body = client.get(url("tg-unknown"), headers=bearer(client, "alice")).json()
    assert body == {
        "conversation_id": "tg-unknown",
        "verified": False,
        "not_verified_because": "unknown",
        "name": None,
        "tier": None,
        "cards": [],
        "transfers": [],
        "refunds": [],
    }


def test_a_channel_that_vouches_for_nobody_is_not_verified_even_with_a_matching_id(
    client: TestClient, held: None, factory: sessionmaker[Session]
) -> None:
    """The web chat's and REST's sender ids are chosen by the client: the bot identifies nobody by them
    outside demo mode, and neither does the panel (nor does it read the provider)."""
    with session_scope(factory) as session:
        session.get(Conversation, CONVERSATION).channel = "rest"  # type: ignore[union-attr]
    response = client.get(url(), headers=bearer(client, "alice"))
    body = response.json()
    assert (body["verified"], body["not_verified_because"], body["name"], body["cards"]) == (
        False,
        "channel",
        None,
        [],
    )
    assert "Anna" not in response.text and views(factory) == []


def test_configured_identity_channels_are_the_action_servers(
    core: CoreSettings, factory: sessionmaker[Session], rasa: RecordingRasa, provider_url: str, held: None
) -> None:
    with session_scope(factory) as session:
        session.get(Conversation, CONVERSATION).channel = "rest"  # type: ignore[union-attr]
    with make_client(
        core, factory, rasa, provider_db_url=provider_url, identity_channels="rest, slack"
    ) as client:
        assert client.get(url(), headers=bearer(client, "alice")).json()["verified"] is True
    demo = core.model_copy(update={"demo": True})
    with make_client(demo, factory, rasa, provider_db_url=provider_url) as client:  # demo: every channel
        assert client.get(url(), headers=bearer(client, "alice")).json()["name"] == NAME


@pytest.mark.parametrize(
    "provider_db_url",
    ["", "sqlite:///{tmp}/missing/provider.db", "not a url", "postgresql://x@127.0.0.1:1/provider"],
)
def test_a_provider_that_cannot_be_read_is_a_503_with_a_message(
    core: CoreSettings,
    factory: sessionmaker[Session],
    rasa: RecordingRasa,
    held: None,
    tmp_path: Path,
    provider_db_url: str,
) -> None:
    configured = provider_db_url.format(tmp=tmp_path)
    with make_client(core, factory, rasa, provider_db_url=configured) as client:
        response = client.get(url(), headers=bearer(client, "alice"))
    assert response.status_code == 503
    detail = response.json()["detail"]
    assert "provider" in detail and str(tmp_path) not in detail
    assert views(factory) == []  # nothing was read
    assert not (tmp_path / "missing").exists()


def test_a_read_that_cannot_be_audited_shows_nothing(
    core: CoreSettings,
    factory: sessionmaker[Session],
    rasa: RecordingRasa,
    provider_url: str,
    held: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(*_args: object, **_kwargs: object) -> bool:
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr(customer_panel, "record_customer_view", broken)
    app = create_app(
        core, ApiSettings(provider_db_url=provider_url), factory, OutboxRelay(factory, lambda: rasa)
    )
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get(url(), headers=bearer(client, "alice"))
    assert response.status_code == 500 and "Anna" not in response.text
