"""A customer's export and erasure over REST (admins only) and on the admin page, and the access log: who
opened which transcript."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.app import create_app
from api.relay import OutboxRelay
from api.routes import conversations
from api.settings import ApiSettings
from tests.integration.triage import privacy_seed as seed
from tests.unit.api import factories
from tests.unit.api.conftest import TRIAGE_TOKEN, RecordingRasa, bearer, login
from triage.privacy import rules
from triage.settings import CoreSettings
from triage.storage.db import AuditRecord, Conversation, session_scope

CUSTOMER = "tg-90210"
WORDS = "Plover garden 12"


@pytest.fixture
def core(db_url: str, tmp_path: Path) -> CoreSettings:
    """Rasa's stores in this test's folder (never data/runtime), and no settling wait."""
    tracker, broker = (f"sqlite:///{tmp_path / name}" for name in ("tracker.db", "events.db"))
    seed.create_rasa_tables(tracker, broker)
    return CoreSettings(
        database_url=db_url,
        rasa_tracker_url=tracker,
        events_url=broker,
        erase_settle_s=0,
        demo=False,
        secret_key="test-secret-key-0123456789",
        pii_key="test-pii-key-0123456789",  # noqa: S106
        rasa_token="test-rasa-token-0123456789",
        triage_token=TRIAGE_TOKEN,
    )


@pytest.fixture
def held(factory: sessionmaker[Session], core: CoreSettings, team: dict[str, int]) -> None:
    with session_scope(factory) as session:
        factories.escalated(session, CUSTOMER, text=f"{WORDS}: my card was stolen, this is ridiculous")
    seed.rasa_turns(core.rasa_tracker_url, core.events_url, CUSTOMER, WORDS, seed.now())


def actions(factory: sessionmaker[Session], action: str) -> list[AuditRecord]:
    with factory() as session:
        return list(
            session.scalars(select(AuditRecord).where(AuditRecord.action == action).order_by(AuditRecord.id))
        )


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("alice", 403), ("sam", 403), ("root", 200)])
def test_only_admins_export(client: TestClient, held: None, who: str | None, status: int) -> None:
    headers = bearer(client, who) if who else {}
    response = client.get(f"/api/v1/customers/{CUSTOMER}/export", headers=headers)
    assert response.status_code == status


@pytest.mark.parametrize(("who", "status"), [(None, 401), ("alice", 403), ("sam", 403)])
def test_only_admins_erase(
    client: TestClient, held: None, factory: sessionmaker[Session], who: str | None, status: int
) -> None:
    headers = bearer(client, who) if who else {}
    response = client.post(f"/api/v1/customers/{CUSTOMER}/erase", json={"reason": "r"}, headers=headers)
    assert response.status_code == status
    with factory() as session:
        assert session.get(Conversation, CUSTOMER) is not None
    assert actions(factory, "erase") == []


def test_export_streams_one_json_download_of_every_store_and_is_audited(
    client: TestClient, held: None, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    response = client.get(
        f"/api/v1/customers/{CUSTOMER}/export", params={"also": "web-no-such"}, headers=bearer(client, "root")
    )
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.headers["content-disposition"] == 'attachment; filename="clearline-customer-export.json"'
    document = response.json()
    assert document["customer_ids"] == [CUSTOMER, "web-no-such"]
    assert document["counts"]["clearline"]["messages"] == 3 and document["counts"]["rasa_tracker"] == {
        "events": 4
    }
    assert WORDS in json.dumps(document)
    assert [(r.actor, r.conversation_id, r.inputs) for r in actions(factory, "customer_export")] == [
        ("root", CUSTOMER, {"ids_in_request": 2}),
        ("root", "web-no-such", {"ids_in_request": 2}),
    ]


def test_erase_by_an_admin_answers_per_id_and_again_clearly(
    client: TestClient, held: None, factory: sessionmaker[Session], core: CoreSettings
) -> None:
    headers = bearer(client, "root")
    response = client.post(
        f"/api/v1/customers/{CUSTOMER}/erase",
        json={"reason": "DSR-19", "also": ["web-unknown"]},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    first, unknown = response.json()["results"]
    assert first["status"] == "erased" and first["counts"]["rasa_broker"] == {"events": 4}
    assert first["counts"]["clearline"]["conversations"] == 1
    assert unknown == {
        "customer_id": "web-unknown",
        "status": "nothing_held",
        "counts": first["counts"] | {k: dict.fromkeys(v, 0) for k, v in first["counts"].items()},
        "previously_erased_at": None,
        "previously_erased_by": None,
    }
    again = client.post(
        f"/api/v1/customers/{CUSTOMER}/erase", json={"reason": "DSR-19 again"}, headers=headers
    )
    (repeat,) = again.json()["results"]
    assert repeat["status"] == "already_erased" and repeat["previously_erased_by"] == "root"
    records = actions(factory, "erase")
    assert [(r.actor, r.actor_type, r.inputs["reason"]) for r in records] == [
        ("root", "user", "DSR-19"),
        ("root", "user", "DSR-19"),
        ("root", "user", "DSR-19 again"),
    ]
    assert records[0].conversation_id == rules.pseudonym(core.secret_key, CUSTOMER)
    for url in (core.database_url, core.rasa_tracker_url, core.events_url):
        assert CUSTOMER not in seed.everything(url) and "Plover" not in seed.everything(url)


@pytest.mark.parametrize(
    ("path", "body", "detail"),
    [
        (f"/api/v1/customers/{CUSTOMER}/erase", {"reason": ""}, "reason"),
        (f"/api/v1/customers/{CUSTOMER}/erase", {"reason": "x" * 501}, "reason"),
        (f"/api/v1/customers/{CUSTOMER}/erase", {}, "reason"),
        (f"/api/v1/customers/{'x' * 256}/erase", {"reason": "r"}, "customer_id"),
        ("/api/v1/customers/pseudonym:abc/erase", {"reason": "r"}, "erased conversation"),
        (f"/api/v1/customers/{CUSTOMER}/erase", {"reason": "r", "also": [""]}, "empty"),
    ],
)
def test_bad_erasure_requests_are_422_and_change_nothing(
    client: TestClient, held: None, factory: sessionmaker[Session], path: str, body: dict, detail: str
) -> None:
    response = client.post(path, json=body, headers=bearer(client, "root"))
    assert response.status_code == 422 and detail in json.dumps(response.json())
    with factory() as session:
        assert session.get(Conversation, CUSTOMER) is not None
    assert actions(factory, "erase") == []


def test_a_browser_erasure_needs_the_csrf_token(client: TestClient, held: None) -> None:
    csrf = login(client, "root")
    url = f"/api/v1/customers/{CUSTOMER}/erase"
    assert client.post(url, json={"reason": "r"}).status_code == 403
    assert client.post(url, json={"reason": "r"}, headers={"X-CSRF-Token": csrf}).status_code == 200


def test_opening_a_transcript_is_logged_once_per_viewer_in_the_window(
    client: TestClient, held: None, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    for who in ("sam", "sam", "alice", "sam"):
        assert client.get(f"/api/v1/conversations/{CUSTOMER}", headers=bearer(client, who)).status_code == 200
    assert client.get("/api/v1/conversations/nope", headers=bearer(client, "sam")).status_code == 404
    assert client.get(f"/api/v1/conversations/{CUSTOMER}", headers=bearer(client, "bob")).status_code == 404
    views = actions(factory, "transcript_view")
    assert [(r.actor, r.actor_type, r.conversation_id, r.inputs) for r in views] == [
        ("sam", "user", CUSTOMER, {"user_id": team["sam"]}),
        ("alice", "user", CUSTOMER, {"user_id": team["alice"]}),
    ]
    with session_scope(factory) as session:  # the window passes
        session.execute(
            update(AuditRecord).values(at=seed.now() - rules.TRANSCRIPT_VIEW_WINDOW - timedelta(seconds=1))
        )
    client.get(f"/api/v1/conversations/{CUSTOMER}", headers=bearer(client, "sam"))
    assert [r.actor for r in actions(factory, "transcript_view")] == ["sam", "alice", "sam"]


def test_the_views_are_in_the_audit_feed_and_on_the_live_socket(
    client: TestClient, held: None, factory: sessionmaker[Session]
) -> None:
    headers = bearer(client, "sam")
    with client.websocket_connect("/api/v1/live", headers=headers) as ws:
        hello = ws.receive_json()
        client.get(f"/api/v1/conversations/{CUSTOMER}", headers=headers)
        message = ws.receive_json()
    assert message["type"] == "audit" and message["record"]["action"] == "transcript_view"
    assert message["record"]["id"] > hello["last_id"]
    feed = client.get("/api/v1/audit", params={"newest": "true", "limit": 1}, headers=headers).json()
    assert feed[0]["action"] == "transcript_view" and feed[0]["actor"] == "sam"


def test_a_view_that_cannot_be_logged_shows_no_transcript(
    core: CoreSettings, factory: sessionmaker[Session], held: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: object, **_kwargs: object) -> bool:
        raise RuntimeError("audit table unavailable")

    monkeypatch.setattr(conversations, "record_transcript_view", broken)
    app = create_app(core, ApiSettings(), factory, OutboxRelay(factory, RecordingRasa))
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get(f"/api/v1/conversations/{CUSTOMER}", headers=bearer(client, "sam"))
    assert response.status_code == 500 and "Plover" not in response.text


def test_the_admin_page_is_for_admins(client: TestClient, team: dict[str, int]) -> None:
    assert (
        client.get("/admin/privacy", follow_redirects=False).headers["location"]
        == "/login?next=/admin/privacy"
    )
    login(client, "sam")
    assert client.get("/admin/privacy", follow_redirects=False).headers["location"] == "/"
    assert "/admin/privacy" not in client.get("/supervisor").text
    login(client, "root")
    page = client.get("/admin/privacy")
    assert page.status_code == 200
    for part in (
        'id="customer-ids"',
        'id="export"',
        'id="erase-form"',
        'id="erase-yes"',
        "/static/js/privacy.js",
    ):
        assert part in page.text
    assert 'href="/admin/privacy"' in client.get("/supervisor").text


def test_linked_takes_the_customers_other_conversations_too(
    client: TestClient, held: None, factory: sessionmaker[Session]
) -> None:
    """Once the bot knew who the customer is, their conversations share a reference: an export or an
    erasure ``linked`` covers them all, and nobody else's."""
    ref, other = "cref:v1:" + "c" * 40, "cref:v1:" + "d" * 40
    with session_scope(factory) as session:
        session.get_one(Conversation, CUSTOMER).customer_ref = ref
        for conversation_id, customer in (("web-same-1", ref), ("web-same-2", ref), ("web-someone", other)):
            factories.bot_only(session, conversation_id).customer_ref = customer
    headers = bearer(client, "root")
    plain = client.get(f"/api/v1/customers/{CUSTOMER}/export", headers=headers).json()
    assert plain["customer_ids"] == [CUSTOMER]
    exported = client.get(f"/api/v1/customers/{CUSTOMER}/export?linked=true", headers=headers).json()
    assert exported["customer_ids"] == [CUSTOMER, "web-same-1", "web-same-2"]
    erased = client.post(
        "/api/v1/customers/web-same-2/erase", json={"reason": "DSR-20", "linked": True}, headers=headers
    )
    assert erased.status_code == 200
    assert [r["customer_id"] for r in erased.json()["results"]] == ["web-same-2", CUSTOMER, "web-same-1"]
    with factory() as session:
        left = set(session.scalars(select(Conversation.id)))
    assert left == {"web-someone"}
