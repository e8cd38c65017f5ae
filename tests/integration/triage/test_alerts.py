"""Alerts raised from the open conversations, once each, audited; their webhooks POSTed to a real HTTP
server on loopback (a stand-in for Slack's incoming webhook) through the outbox, retried after a failure;
an erased conversation's alerts and undelivered webhooks go with it."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.triage.conftest import add_user
from tests.unit.triage.policies import pinned_policy
from triage import services
from triage.audit import WORKER
from triage.domain.policy import PolicyInput
from triage.privacy import clearline
from triage.services.alerts import acknowledge, raise_alerts
from triage.settings import get_settings
from triage.storage.db import (
    AgentStatus,
    Alert,
    AuditRecord,
    Base,
    Conversation,
    OutboxCommand,
    Role,
    User,
    make_engine,
    make_session_factory,
    session_scope,
    utcnow,
)
from triage.storage.outbox import WEBHOOK_ATTEMPTS, deliver_outbox, enqueue
from triage.webhooks import OutboxCommands


class Receiver(BaseHTTPRequestHandler):
    """Answers the first ``fail_first`` POSTs with ``failure`` (500), then 200; keeps every JSON body."""

    bodies: list[dict[str, Any]] = []
    fail_first = 0
    failure = 500

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        type(self).bodies.append(body)
        failing = len(type(self).bodies) <= type(self).fail_first
        self.send_response(type(self).failure if failing else 200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    Receiver.bodies, Receiver.fail_first, Receiver.failure = [], 0, 500
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hooks/alerts"
    server.shutdown()
    server.server_close()


@pytest.fixture
def factory(
    tmp_path: Path, receiver: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[sessionmaker[Session]]:
    monkeypatch.setenv("CLEARLINE_ALERT_WEBHOOK_URLS", json.dumps([receiver]))
    monkeypatch.setenv("CLEARLINE_PUBLIC_URL", "https://support.example")
    get_settings.cache_clear()
    engine = make_engine(f"sqlite:///{tmp_path / 'alerts.db'}")
    Base.metadata.create_all(engine)
    yield make_session_factory(engine)
    engine.dispose()
    get_settings.cache_clear()


class NoRasa:
    def send(self, *_args: object) -> None:
        raise AssertionError("a webhook must not reach Rasa")


def escalate(session: Session, conversation_id: str) -> None:
    session.add(services.new_conversation(conversation_id))
    session.flush()
    decision = pinned_policy().evaluate(PolicyInput(0.95, [0.2, 0.95], intent="compromised_card"))
    services.escalate(
        session, conversation_id, decision=decision, explanations=[], trigger="policy", actor=WORKER
    )


def test_alerts_once_each_audited_and_posted_with_a_retry(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        escalate(session, "c1")  # P1 in cards, waiting
        for command in session.scalars(select(OutboxCommand)):  # the escalation's own are Rasa's
            command.sent_at = utcnow()
    later = utcnow() + timedelta(seconds=45)  # a P1 waiting 45 s
    with session_scope(factory) as session:
        raised = raise_alerts(session, later)
        assert [a.kind for a in raised] == ["p1_waiting"]
        assert raise_alerts(session, later + timedelta(seconds=1)) == []  # once
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "alert")).one()
        assert record.conversation_id == "c1" and record.outcome["kind"] == "p1_waiting"

    Receiver.fail_first = 1
    commands = OutboxCommands(NoRasa())
    try:
        assert deliver_outbox(factory, commands) == 0  # the receiver answered 500: kept, retried
        with session_scope(factory) as session:
            command = session.scalars(select(OutboxCommand).where(OutboxCommand.kind == "webhook")).one()
            assert command.attempts == 1 and "webhook answered 500" in (command.last_error or "")
            command.next_attempt_at = None  # the backoff's second, skipped
        assert deliver_outbox(factory, commands) == 1
    finally:
        commands.close()
    assert len(Receiver.bodies) == 2 and Receiver.bodies[0] == Receiver.bodies[1]
    body = Receiver.bodies[-1]
    assert body["text"].startswith("Clearline critical: P1 waiting 45 s: conversation c1 (cards, P1)")
    assert body["blocks"][0]["type"] == "section" and body["clearline"] == {"kind": "p1_waiting"}
    assert "<https://support.example/supervisor|Open the dashboard>" in json.dumps(body)


def test_sla_and_agent_offline_alerts_and_acknowledging(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        escalate(session, "c2")
        ann = add_user(session, "ann")
        services.accept(session, "c2", ann)
        conversation = session.get_one(Conversation, "c2")
        deadline = services.as_utc(conversation.sla_deadline)
    with session_scope(factory) as session:
        assert [a.kind for a in raise_alerts(session, deadline - timedelta(seconds=30))] == ["sla_soon"]
        services.check_sla(session, deadline + timedelta(seconds=1))
        assert [a.kind for a in raise_alerts(session, deadline + timedelta(seconds=1))] == ["sla_breached"]
    with session_scope(factory) as session:
        ann = session.scalars(select(User).where(User.username == "ann")).one()
        services.set_agent_status(session, ann, AgentStatus.OFFLINE, actor=WORKER)
        offline = session.scalars(select(Alert).where(Alert.kind == "agent_offline")).one()
        assert offline.text == "Ann went offline with 1 open conversation(s); they are back in their queues"
        sam = add_user(session, "sam", role=Role.SUPERVISOR, skills=())
        acknowledge(session, offline.id, sam)
        first = offline.acknowledged_at
        acknowledge(session, offline.id, sam)  # again: nothing changes
        assert offline.acknowledged_at == first and offline.acknowledged_by == sam.id
        acks = session.scalars(select(AuditRecord).where(AuditRecord.action == "alert_ack")).all()
        assert len(acks) == 1 and acks[0].actor == "sam"


def test_erasing_a_conversation_takes_its_alerts_and_pending_webhooks(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        escalate(session, "c3")
    with session_scope(factory) as session:
        raise_alerts(session, utcnow() + timedelta(minutes=1))
        assert session.scalars(select(Alert)).all()
        assert session.scalars(select(OutboxCommand).where(OutboxCommand.kind == "webhook")).all()
    with session_scope(factory) as session:
        counts = clearline.remove(session, ["c3"], {"c3": "erased-3"})
    assert counts["alerts"] >= 1
    with factory() as session:
        assert session.scalars(select(Alert)).all() == []
        assert session.scalars(select(OutboxCommand).where(OutboxCommand.kind == "webhook")).all() == []


class RecordingRasa:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []

    def send(self, conversation_id: str, kind: str, _payload: dict[str, Any]) -> None:
        self.sent.append((conversation_id, kind))


def test_a_receiver_that_is_down_never_holds_back_the_customers_messages(
    factory: sessionmaker[Session],
) -> None:
    with session_scope(factory) as session:
        escalate(session, "c4")
    with session_scope(factory) as session:
        raise_alerts(session, utcnow() + timedelta(minutes=1))  # a P1 waiting: a webhook queued
        enqueue(session, "c4", "utter", {"response": "utter_still_there"})  # then a message for the customer
    Receiver.fail_first = 1000  # the receiver answers 500 to everything
    rasa = RecordingRasa()
    commands = OutboxCommands(rasa)
    try:
        deliver_outbox(factory, commands)
    finally:
        commands.close()
    assert ("c4", "utter") in rasa.sent  # delivered although the webhook before it failed
    with factory() as session:
        webhooks = session.scalars(select(OutboxCommand).where(OutboxCommand.kind == "webhook")).all()
        assert webhooks and {w.conversation_id for w in webhooks} == {"alert:c4"}
        assert all(w.sent_at is None for w in webhooks) and webhooks[0].attempts == 1
        for record in session.scalars(select(AuditRecord).where(AuditRecord.action == "alert")):
            assert "c4" not in str(record.inputs) + str(record.outcome)  # erasure renames the column only


def queue_two_alerts(factory: sessionmaker[Session], conversation_id: str) -> list[str]:
    """A P1 a minute in the queue: its SLA soon due and the P1 waiting, two webhooks under one outbox key."""
    with session_scope(factory) as session:
        escalate(session, conversation_id)
        for command in session.scalars(select(OutboxCommand)):  # the escalation's own are Rasa's
            command.sent_at = utcnow()
    with session_scope(factory) as session:
        kinds = [a.kind for a in raise_alerts(session, utcnow() + timedelta(minutes=1))]
    assert sorted(kinds) == ["p1_waiting", "sla_soon"]
    return kinds


def webhooks(session: Session) -> list[OutboxCommand]:
    return list(
        session.scalars(
            select(OutboxCommand).where(OutboxCommand.kind == "webhook").order_by(OutboxCommand.id)
        )
    )


def test_a_receiver_gone_for_good_is_given_up_audited_and_holds_nothing_back(
    factory: sessionmaker[Session],
) -> None:
    kinds = queue_two_alerts(factory, "c5")
    Receiver.fail_first, Receiver.failure = 1, 404  # no such hook (once), then a hook that answers
    commands = OutboxCommands(NoRasa())
    try:
        assert deliver_outbox(factory, commands) == 1  # the second alert went out in the same pass
        assert deliver_outbox(factory, commands) == 0  # and the refused one is not tried again
    finally:
        commands.close()
    assert [b["clearline"]["kind"] for b in Receiver.bodies] == kinds  # both tried, in order, once
    with factory() as session:
        refused, sent = webhooks(session)
        assert refused.abandoned_at is not None and refused.sent_at is None and refused.attempts == 1
        assert refused.last_error == "WebhookRefused: webhook answered 404"
        assert sent.sent_at is not None and sent.abandoned_at is None
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "webhook_abandoned")).one()
        assert record.conversation_id == "c5" and record.actor == "worker"
        assert record.outcome == {
            "alert_id": refused.payload["alert_id"],
            "attempts": 1,
            "status": 404,
            "refused_for_good": True,
        }
        # the URL (it may hold a secret token) is neither audited nor kept once the webhook is done with
        assert "hooks/alerts" not in json.dumps([record.inputs, record.outcome])
        assert refused.payload == {"alert_id": record.outcome["alert_id"]}
        assert sent.payload == {"alert_id": sent.payload["alert_id"]} and sent.payload["alert_id"] is not None


def test_a_receiver_failing_on_is_retried_then_given_up(factory: sessionmaker[Session]) -> None:
    queue_two_alerts(factory, "c6")
    Receiver.fail_first = 1000  # 500 to everything
    commands = OutboxCommands(NoRasa())
    try:
        assert deliver_outbox(factory, commands) == 0
        with session_scope(factory) as session:
            first, second = webhooks(session)
            assert first.attempts == 1 and first.abandoned_at is None and first.next_attempt_at is not None
            assert second.attempts == 0  # waits behind the first: one key's alerts stay in order
            first.attempts, first.next_attempt_at = (
                WEBHOOK_ATTEMPTS - 1,
                None,
            )  # ~20 minutes of retries, skipped
        deliver_outbox(factory, commands)  # the last try of the first; the second's first
    finally:
        commands.close()
    with factory() as session:
        first, second = webhooks(session)
        assert first.attempts == WEBHOOK_ATTEMPTS and first.abandoned_at is not None
        assert second.attempts == 1 and second.abandoned_at is None  # tried in the same pass, retried later
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "webhook_abandoned")).one()
        assert record.outcome["status"] == 500 and record.outcome["refused_for_good"] is False
