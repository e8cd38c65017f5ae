"""The live feed on PostgreSQL when audit records commit out of id order: the worker takes an audit id
early in a long transaction while the api commits a higher one. Neither an open socket nor a client that
resumes from its cursor (the socket's ``?after=`` or the REST feed's ``after``) may miss the late record.
The app and its fixtures are the api's (tests/unit/api/conftest.py), on a PostgreSQL schema here."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete
from sqlalchemy.orm import Session, sessionmaker

from tests.postgres import temporary_schema
from tests.unit.api.conftest import bearer
from triage import audit
from triage.storage.db import AuditRecord, session_scope
from triage.storage.migrate import upgrade

pytestmark = pytest.mark.postgres


@pytest.fixture
def db_url() -> Iterator[str]:
    with temporary_schema("live") as url:
        upgrade(url)
        yield url


@pytest.fixture(autouse=True)
def only_the_tests_records(client: TestClient, factory: sessionmaker[Session]) -> None:
    """The app's first start registers the configured model and policy (audited); the ids below are the
    test's own, so those records go before the feed is first read."""
    with factory() as session:
        session.execute(delete(AuditRecord).where(AuditRecord.actor == "registry"))
        session.commit()


@pytest.fixture
def worker_session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """The worker's long batch transaction; rolled back at the end if a test left it open."""
    with factory() as session:
        yield session


def note(factory: sessionmaker[Session], action: str) -> int:
    """An api request's audit record, committed at once."""
    with session_scope(factory) as session:
        entry = audit.record(session, audit.ROUTER, action)
        session.flush()
        return entry.id


def take_id_and_hold(worker_session: Session) -> int:
    """The worker writes its audit record early in its batch and keeps the transaction open."""
    entry = audit.record(worker_session, audit.WORKER, "score")
    worker_session.flush()
    return entry.id


def feed(client: TestClient, headers: dict[str, str], after: int) -> list[int]:
    response = client.get(f"/api/v1/audit?after={after}", headers=headers)
    assert response.status_code == 200, response.text
    return [record["id"] for record in response.json()]


def audit_ids_until(ws: Any, last: int) -> list[int]:
    got: list[int] = []
    while not got or got[-1] < last:
        message = ws.receive_json()
        if message["type"] == "audit":
            got.append(message["record"]["id"])
    return got


def test_a_client_resuming_from_its_cursor_gets_the_late_record(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int], worker_session: Session
) -> None:
    sam = bearer(client, "sam")
    first = note(factory, "note")
    assert feed(client, sam, 0) == [first]
    late = take_id_and_hold(worker_session)
    early = note(factory, "note")
    assert late < early
    assert feed(client, sam, first) == []  # before: [early], and a cursor at `early` skips `late`
    newest = client.get("/api/v1/audit?newest=true", headers=sam).json()
    assert [record["id"] for record in newest] == [first]  # nor is `early` offered as a starting point
    worker_session.commit()
    assert feed(client, sam, first) == [late, early]


def test_an_open_socket_streams_the_late_record_and_in_id_order(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int], worker_session: Session
) -> None:
    sam = bearer(client, "sam")
    first = note(factory, "note")
    with client.websocket_connect("/api/v1/live", headers=sam) as ws:
        assert ws.receive_json() == {"type": "hello", "last_id": first}
        late = take_id_and_hold(worker_session)
        early = note(factory, "note")
        time.sleep(0.5)  # ten polls of the socket meanwhile: before this fix it sent `early` here
        worker_session.commit()
        after = note(factory, "note")
        assert audit_ids_until(ws, after) == [late, early, after]


def test_a_socket_opened_while_a_record_is_in_flight_starts_below_it(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int], worker_session: Session
) -> None:
    sam = bearer(client, "sam")
    first = note(factory, "note")
    assert feed(client, sam, 0) == [first]  # the process has looked at the log before
    late = take_id_and_hold(worker_session)
    early = note(factory, "note")
    with client.websocket_connect("/api/v1/live", headers=sam) as ws:
        assert ws.receive_json() == {"type": "hello", "last_id": first}  # before: `early`, past `late`
        worker_session.commit()
        assert audit_ids_until(ws, early) == [late, early]


def test_a_new_process_waits_for_the_writers_it_found_then_starts_after_them(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int], worker_session: Session
) -> None:
    """A process that has never looked cannot tell which ids below the newest may still come: it waits
    once for the writers running then; every record that commits after its first cursor is sent."""
    sam = bearer(client, "sam")
    late = take_id_and_hold(worker_session)
    early = note(factory, "note")
    assert feed(client, sam, 0) == []  # the first look: `late` may still commit
    with client.websocket_connect("/api/v1/live", headers=sam) as ws:
        worker_session.commit()  # the hello waited for it
        assert ws.receive_json() == {"type": "hello", "last_id": early}
        after = note(factory, "note")
        assert audit_ids_until(ws, after) == [after]
    assert feed(client, sam, 0) == [late, early, after]
