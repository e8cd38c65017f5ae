"""The live socket: audit records in id order, filtered by role and queue, from any process."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.websockets import WebSocketDisconnect

from api import live
from api.queries import audit_after
from api.security import hash_password
from tests.unit.api import factories
from tests.unit.api.conftest import bearer, login
from triage import audit
from triage.storage.db import AuditRecord, session_scope


def records(ws: Any, count: int) -> list[dict[str, Any]]:
    got = []
    while len(got) < count:
        message = ws.receive_json()
        if message["type"] == "audit":
            got.append(message["record"])
    return got


@pytest.fixture
def two(factory: sessionmaker[Session], team: dict[str, int]) -> list[int]:
    """Two escalations; their audit ids (1 and 2 on SQLite; later on PostgreSQL, whose sequence goes on
    after the registry's first-start records are deleted)."""
    with session_scope(factory) as session:
        factories.escalated(session, "cards-1")
        factories.escalated(session, "transfers-1", intent="transfer_not_received_by_recipient")
    with factory() as session:
        return list(session.scalars(select(AuditRecord.id).order_by(AuditRecord.id)))


def test_supervisor_gets_everything_in_order(client: TestClient, two: list[int]) -> None:
    with client.websocket_connect("/api/v1/live?after=0", headers=bearer(client, "sam")) as ws:
        assert ws.receive_json() == {"type": "hello", "last_id": 0}
        got = records(ws, 2)
    assert [(r["id"], r["conversation_id"], r["action"]) for r in got] == [
        (two[0], "cards-1", "escalate"),
        (two[1], "transfers-1", "escalate"),
    ]


def test_agent_gets_only_their_queues_and_new_records_arrive(
    client: TestClient, two: list[int], factory: sessionmaker[Session]
) -> None:
    with client.websocket_connect("/api/v1/live?after=0", headers=bearer(client, "alice")) as ws:
        ws.receive_json()
        assert [r["conversation_id"] for r in records(ws, 1)] == ["cards-1"]
        # a record written later by another process (here: another session) is streamed too
        with session_scope(factory) as session:
            audit.record(session, audit.ROUTER, "note", conversation_id="transfers-1")
            audit.record(session, audit.ROUTER, "note", conversation_id="cards-1")
        newer = records(ws, 1)
    # the note on transfers-1 (the next id) is not hers; the one after it is
    assert newer[0]["conversation_id"] == "cards-1" and newer[0]["id"] == two[1] + 2


def test_without_after_the_stream_starts_now(
    client: TestClient, two: list[int], factory: sessionmaker[Session]
) -> None:
    with client.websocket_connect("/api/v1/live", headers=bearer(client, "sam")) as ws:
        assert ws.receive_json() == {"type": "hello", "last_id": two[1]}
        with session_scope(factory) as session:
            audit.record(session, audit.ROUTER, "note", conversation_id="cards-1")
        assert records(ws, 1)[0]["id"] == two[1] + 1


def test_cookie_session_works_and_anonymous_or_cross_site_is_refused(
    client: TestClient, team: dict[str, int]
) -> None:
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/api/v1/live") as ws:
        ws.receive_json()
    assert refused.value.code == 1008
    login(client, "sam")
    with client.websocket_connect("/api/v1/live", headers={"origin": "http://testserver"}) as ws:
        assert ws.receive_json()["type"] == "hello"
    evil = {"origin": "https://evil.example"}
    live = "/api/v1/live"
    with pytest.raises(WebSocketDisconnect) as cross, client.websocket_connect(live, headers=evil) as ws:
        ws.receive_json()
    assert cross.value.code == 1008


@pytest.mark.parametrize(
    "change",
    [{"is_active": False}, {"password_hash": hash_password("a new password!")}],
    ids=["deactivated", "new password"],
)
def test_socket_closes_when_the_user_is_deactivated_or_the_password_changes(
    client: TestClient,
    two: list[int],
    factory: sessionmaker[Session],
    team: dict[str, int],
    change: dict[str, Any],
) -> None:
    with client.websocket_connect("/api/v1/live", headers=bearer(client, "sam")) as ws:
        assert ws.receive_json()["type"] == "hello"
        with session_scope(factory) as session:
            sam = session.get_one(factories.User, team["sam"])
            for name, value in change.items():
                setattr(sam, name, value)
        note_on(factory, "cards-1")  # what the socket would stream if it were still open
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1008


def note_on(factory: sessionmaker[Session], conversation_id: str) -> None:
    with session_scope(factory) as session:
        audit.record(session, audit.ROUTER, "note", conversation_id=conversation_id)


def test_socket_closes_when_its_session_logs_out(
    client: TestClient, two: list[int], factory: sessionmaker[Session]
) -> None:
    csrf = login(client, "sam")
    with client.websocket_connect("/api/v1/live", headers={"origin": "http://testserver"}) as ws:
        assert ws.receive_json()["type"] == "hello"
        assert client.post("/api/v1/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 204
        note_on(factory, "cards-1")  # what the socket would stream if it were still open
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1008


def test_no_record_is_sent_once_the_session_has_ended(
    client: TestClient,
    two: list[int],
    factory: sessionmaker[Session],
    team: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The session ends between the poll's check and its read: what was read is not sent."""

    def read_then_deactivate(
        session: Session, user: factories.User, after_id: int, through: int
    ) -> list[Any]:
        found = audit_after(session, user, after_id, through=through)
        if found:
            with session_scope(factory) as other:
                other.get_one(factories.User, team["sam"]).is_active = False
        return found

    monkeypatch.setattr(live, "audit_after", read_then_deactivate)
    with client.websocket_connect("/api/v1/live", headers=bearer(client, "sam")) as ws:
        assert ws.receive_json()["type"] == "hello"
        note_on(factory, "cards-1")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 1008


def test_an_id_beyond_any_database_is_refused_not_a_crash(client: TestClient, two: list[int]) -> None:
    url = f"/api/v1/live?after={2**63}"
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        client.websocket_connect(url, headers=bearer(client, "sam")) as ws,
    ):
        ws.receive_json()
    assert closed.value.code != 1011  # refused as bad input, not an internal error


@pytest.fixture(autouse=True)
def only_the_tests_records(client: TestClient, factory: sessionmaker[Session]) -> None:
    """The app's first start registers the configured model and policy (audited by actor `registry`);
    the feeds below are asserted record by record, so those go first."""
    with factory() as session:
        session.execute(delete(AuditRecord).where(AuditRecord.actor == "registry"))
        session.commit()
