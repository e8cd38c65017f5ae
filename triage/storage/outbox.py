"""Outbox: Rasa commands written with the business rows that caused them, delivered afterwards.

A command is claimed with a conditional UPDATE (a lease in ``next_attempt_at``) so the worker and the
api can both run the relay without sending a command twice; failures are retried with backoff.
Commands of one conversation are sent in order: after a failure the later ones wait. Rasa's commands are
retried until they are delivered (they carry what the customer must see); an alert's webhook is given up
(``gives_up``): people see the alert in the console anyway, and a dead receiver must not be polled for ever.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, Protocol

import structlog
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from triage import audit
from triage.domain.lifecycle import WEBHOOK, CommandKind
from triage.sealing import SealedValueUnreadable, seal, unseal
from triage.settings import get_settings
from triage.storage.db import Alert, Message, OutboxCommand, session_scope, utcnow

LEASE = timedelta(seconds=30)
MAX_BACKOFF = timedelta(minutes=5)
# 1 + 2 + ... + 256 s, then 5 minutes apart: the 12th failure comes about 20 minutes after the first,
# when the alert is stale (it stays in the console with its acknowledgement)
WEBHOOK_ATTEMPTS = 12

log = structlog.get_logger("triage.storage.outbox")


class RasaCommands(Protocol):
    def send(self, conversation_id: str, kind: str, payload: dict[str, Any]) -> None: ...


def enqueue(
    session: Session, conversation_id: str, kind: CommandKind, payload: dict[str, Any] | None = None
) -> OutboxCommand:
    """Add a command to the session; it is sent only after the caller commits. A text to deliver (an
    agent's reply, as typed) is stored sealed until it is delivered, then dropped."""
    payload = dict(payload or {})
    if isinstance(payload.get("text"), str):
        payload["text"] = seal(payload["text"], get_settings().pii_key)
    command = OutboxCommand(conversation_id=conversation_id, kind=kind, payload=payload)
    session.add(command)
    return command


def _opened(payload: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(payload.get("text"), str):
        return payload
    return {**payload, "text": unseal(payload["text"], get_settings().pii_key)}


def backoff(attempts: int) -> timedelta:
    """1 s, 2 s, 4 s ... capped at five minutes."""
    return min(MAX_BACKOFF, timedelta(seconds=2 ** max(0, attempts - 1)))


def gives_up(kind: str, attempts: int, failure: BaseException) -> bool:
    """After ``attempts`` failed tries (this one ``failure``), stop trying this command for good?"""
    if kind != WEBHOOK:
        return False  # Rasa's commands wait for Rasa, however long it is down
    return attempts >= WEBHOOK_ATTEMPTS or bool(getattr(failure, "final", False))


def claim(session: Session, command_id: int) -> bool:
    """Lease a due command for this relay; False when another relay holds it or it was sent."""
    now = utcnow()
    result = session.execute(
        update(OutboxCommand)
        .where(
            OutboxCommand.id == command_id,
            OutboxCommand.sent_at.is_(None),
            OutboxCommand.abandoned_at.is_(None),
            or_(OutboxCommand.next_attempt_at.is_(None), OutboxCommand.next_attempt_at <= now),
        )
        .values(next_attempt_at=now + LEASE)
    )
    return bool(getattr(result, "rowcount", 0) == 1)


def _pending(session: Session, limit: int) -> list[OutboxCommand]:
    now = utcnow()
    return list(
        session.scalars(
            select(OutboxCommand)
            .where(
                OutboxCommand.sent_at.is_(None),
                OutboxCommand.abandoned_at.is_(None),
                or_(OutboxCommand.next_attempt_at.is_(None), OutboxCommand.next_attempt_at <= now),
            )
            .order_by(OutboxCommand.id)
            .limit(limit)
        )
    )


def _unsent_ids(session: Session, conversation_ids: set[str]) -> dict[str, list[int]]:
    rows = session.execute(
        select(OutboxCommand.conversation_id, OutboxCommand.id)
        .where(
            OutboxCommand.sent_at.is_(None),
            OutboxCommand.abandoned_at.is_(None),
            OutboxCommand.conversation_id.in_(conversation_ids),
        )
        .order_by(OutboxCommand.id)
    )
    unsent: dict[str, list[int]] = {}
    for conversation_id, command_id in rows:
        unsent.setdefault(conversation_id, []).append(command_id)
    return unsent


def deliver_outbox(session_factory: sessionmaker[Session], rasa_client: RasaCommands, limit: int = 50) -> int:
    """Send due commands in id order; return how many were delivered."""
    with session_scope(session_factory) as session:
        due = [(c.id, c.conversation_id, c.kind, dict(c.payload)) for c in _pending(session, limit)]
        unsent = _unsent_ids(session, {c[1] for c in due})
    delivered = 0
    blocked: set[str] = set()
    for command_id, conversation_id, kind, payload in due:
        # an earlier command of this conversation is still waiting (retry or in flight): keep order
        if conversation_id in blocked or unsent.get(conversation_id, [command_id])[0] != command_id:
            blocked.add(conversation_id)
            continue
        with session_scope(session_factory) as session:
            if not claim(session, command_id):
                blocked.add(conversation_id)
                continue
        failure: Exception | None = None
        try:
            rasa_client.send(conversation_id, kind, _opened(payload))
        except Exception as exc:  # any failure is recorded and retried (or given up: gives_up), never lost
            failure = exc
        with session_scope(session_factory) as session:
            command = session.get(OutboxCommand, command_id)
            if command is None:
                continue
            command.attempts += 1
            if failure is None:
                command.sent_at = utcnow()
                command.last_error = None
                message_id = payload.get("message_id")
                if kind == "say" and isinstance(message_id, int):
                    message = session.get(Message, message_id)
                    if message is not None:
                        message.delivered = True
                    # the sealed text is only needed to deliver it: drop it once delivered
                    command.payload = {k: v for k, v in payload.items() if k != "text"}
                command.payload = _settled(kind, command.payload)
                delivered += 1
            else:
                command.last_error = _described(failure)
                abandoned = gives_up(kind, command.attempts, failure)
                if abandoned:
                    command.abandoned_at = utcnow()
                    _audit_abandoned(session, command, failure)
                    command.payload = _settled(kind, command.payload)
                else:
                    command.next_attempt_at = utcnow() + backoff(command.attempts)
                    blocked.add(conversation_id)
                (log.error if abandoned else log.warning)(
                    "outbox_command_abandoned" if abandoned else "outbox_delivery_failed",
                    conversation_id=conversation_id,
                    kind=kind,
                    attempts=command.attempts,
                    error=command.last_error,
                )
        if conversation_id not in blocked:  # delivered or given up: the key's next command may go
            unsent[conversation_id].remove(command_id)
        if failure is None:
            log.info("outbox_delivered", conversation_id=conversation_id, kind=kind)
    return delivered


def _settled(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """What a webhook keeps once sent or given up: its alert's id. The URL may hold the receiver's secret
    token and the body the alert's text; neither is needed again (the alert row has the text)."""
    if kind != WEBHOOK:
        return payload
    return {"alert_id": payload.get("alert_id")}


def _described(failure: Exception) -> str:
    if isinstance(failure, SealedValueUnreadable):
        return "the reply's sealed text does not open: CLEARLINE_PII_KEY changed since it was written"
    return f"{type(failure).__name__}: {failure}"[:2000]


def _audit_abandoned(session: Session, command: OutboxCommand, failure: BaseException) -> None:
    """An automated decision like any other: audited, under the alert's conversation (no URL: it may hold
    the receiver's secret token)."""
    alert_id = command.payload.get("alert_id")
    alert = session.get(Alert, alert_id) if isinstance(alert_id, int) else None
    audit.record(
        session,
        audit.WORKER,
        "webhook_abandoned",
        conversation_id=alert.conversation_id if alert is not None else None,
        outcome={
            "alert_id": alert_id,
            "attempts": command.attempts,
            "status": getattr(failure, "status", None),
            "refused_for_good": bool(getattr(failure, "final", False)),
        },
    )
