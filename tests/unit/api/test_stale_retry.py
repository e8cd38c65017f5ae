"""A background writer commits to the conversation between an action's read and its write (the worker
storing the customer's next message): an action with no ``expected_version`` runs again on the fresh row;
one with a version, or a row changed on every try, is a 409 that stores nothing (``api.unit_of_work``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.unit_of_work import STALE_ATTEMPTS, commit_work
from tests.unit.api import factories
from tests.unit.api.conftest import TRIAGE_TOKEN, RecordingRasa, bearer
from tests.unit.api.test_actions import REASON, c1  # noqa: F401 - c1: the escalated conversation "c1"
from triage import services
from triage.storage.db import (
    AuditRecord,
    Conversation,
    Escalation,
    Message,
    OutboxCommand,
    Sender,
    session_scope,
)


class Racing:
    """Wraps a service: on its first ``times`` calls, another session commits a change to the
    conversation (as the worker does on a customer message) after the route read it and before the
    service writes it."""

    def __init__(self, factory: sessionmaker[Session], original: Callable[..., Any], times: int) -> None:
        self.factory = factory
        self.original = original
        self.times = times
        self.calls = 0

    def __call__(self, session: Session, conversation_id: str, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        # the read (a route may have made it already), held: the identity map keeps objects weakly
        read = session.get(Conversation, conversation_id)
        if self.calls <= self.times:
            with session_scope(self.factory) as other:
                row = other.get(Conversation, conversation_id)
                if row is not None:
                    row.last_message_at = row.last_message_at + timedelta(seconds=1)
                    row.priority = 5
        result = self.original(session, conversation_id, *args, **kwargs)
        del read
        return result


def count(factory: sessionmaker[Session], model: Any, *where: Any) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model).where(*where)) or 0)


@pytest.mark.usefixtures("c1")
def test_an_unversioned_action_runs_again_on_the_fresh_row(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    racing = Racing(factory, services.set_priority, times=1)
    monkeypatch.setattr(services, "set_priority", racing)
    response = client.post(
        "/api/v1/conversations/c1/priority",
        json={"priority": 99, "reason": REASON},
        headers=bearer(client, "sam"),
    )
    assert response.status_code == 200, response.text
    assert racing.calls == 2
    with factory() as session:
        assert session.get_one(Conversation, "c1").priority == 99
    # the first try's audit record went with its rollback: one decision, one record
    assert count(factory, AuditRecord, AuditRecord.action == "override_priority") == 1


@pytest.mark.usefixtures("c1")
def test_a_versioned_action_on_a_changed_row_is_a_409_that_changes_nothing(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    sam = bearer(client, "sam")
    seen = client.get("/api/v1/conversations/c1", headers=sam).json()["version"]
    racing = Racing(factory, services.set_priority, times=1)
    monkeypatch.setattr(services, "set_priority", racing)
    response = client.post(
        "/api/v1/conversations/c1/priority",
        json={"priority": 99, "reason": REASON, "expected_version": seen},
        headers=sam,
    )
    assert response.status_code == 409 and "reload" in response.json()["detail"]
    assert racing.calls == 1
    with factory() as session:
        assert session.get_one(Conversation, "c1").priority == 5  # the other writer's
    assert count(factory, AuditRecord, AuditRecord.action == "override_priority") == 0


@pytest.mark.usefixtures("c1")
def test_a_row_changed_on_every_try_is_a_409_after_the_last(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    racing = Racing(factory, services.set_priority, times=STALE_ATTEMPTS)
    monkeypatch.setattr(services, "set_priority", racing)
    response = client.post(
        "/api/v1/conversations/c1/priority",
        json={"priority": 99, "reason": REASON},
        headers=bearer(client, "sam"),
    )
    assert response.status_code == 409
    assert racing.calls == STALE_ATTEMPTS
    with factory() as session:
        assert session.get_one(Conversation, "c1").priority == 5


@pytest.mark.usefixtures("c1")
def test_an_agent_reply_during_the_customers_next_message_is_stored_and_sent_once(
    client: TestClient,
    factory: sessionmaker[Session],
    rasa: RecordingRasa,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    alice = bearer(client, "alice")
    assert client.post("/api/v1/conversations/c1/accept", headers=alice).status_code == 200
    racing = Racing(factory, services.agent_reply, times=1)
    monkeypatch.setattr(services, "agent_reply", racing)
    reply = client.post("/api/v1/conversations/c1/reply", json={"text": "I froze the card."}, headers=alice)
    assert reply.status_code == 201, reply.text
    assert racing.calls == 2
    assert count(factory, Message, Message.sender == Sender.AGENT) == 1
    assert count(factory, OutboxCommand, OutboxCommand.kind == "say") == 1
    assert [payload["text"] for _, kind, payload in rasa.sent if kind == "say"] == ["I froze the card."]


def test_the_bots_handoff_during_the_customers_message_is_taken(
    client: TestClient, factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    with session_scope(factory) as session:  # a conversation the worker has stored already
        factories.bot_only(session, "sender-1")
    racing = Racing(factory, services.request_handoff, times=1)
    monkeypatch.setattr(services, "request_handoff", racing)
    response = client.post(
        "/api/v1/handoff",
        json={"conversation_id": "sender-1", "reason": "customer asked for a human"},
        headers={"Authorization": f"Bearer {TRIAGE_TOKEN}"},
    )
    assert response.status_code == 202, response.text
    assert racing.calls == 2
    assert count(factory, Escalation, Escalation.conversation_id == "sender-1") == 1


def test_other_errors_are_not_run_again(factory: sessionmaker[Session]) -> None:
    calls = []

    def work() -> None:
        calls.append(1)
        raise ValueError("a rule said no")

    with factory() as session, pytest.raises(ValueError):
        commit_work(session, work, expected_version=None)
    assert calls == [1]
