"""Alerts for supervisors: raised from the domain's rules (triage.domain.alerts), once per key, audited
(the live feed carries them), posted to the configured webhooks through the outbox, acknowledged."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from triage import audit
from triage.audit import Actor
from triage.domain.alerts import AlertDraft, OpenConversation, conversation_alerts, slack_message
from triage.domain.lifecycle import OPEN_STATES, WEBHOOK, ConversationState
from triage.settings import get_settings
from triage.storage.conversations import as_utc
from triage.storage.db import Alert, Conversation, User, utcnow
from triage.storage.outbox import enqueue


class AlertNotFound(LookupError):
    """No alert with this id (api: 404)."""


WEBHOOK_KEY_PREFIX = "alert:"


def webhook_key(conversation_id: str | None, alert: Alert | None = None) -> str:
    """The outbox key an alert's webhooks travel under: never a conversation's own id, so a receiver that
    is down never holds back that conversation's messages to the customer (the outbox keeps one key's
    commands in order); named after the conversation, so erasing it can drop webhooks not yet sent."""
    if conversation_id is not None:
        return f"{WEBHOOK_KEY_PREFIX}{conversation_id}"
    return f"{WEBHOOK_KEY_PREFIX}{alert.kind if alert else 'other'}:{alert.agent_id if alert else 0}"


def raise_alert(
    session: Session, draft: AlertDraft, actor: Actor, *, at: datetime | None = None
) -> Alert | None:
    """Store ``draft`` unless an alert with its key exists; audit it and queue its webhooks."""
    if session.scalar(select(Alert.id).where(Alert.key == draft.key)) is not None:
        return None
    settings = get_settings()
    alert = Alert(
        kind=draft.kind.value,
        key=draft.key,
        severity=draft.severity,
        text=draft.text,
        conversation_id=draft.conversation_id,
        agent_id=draft.agent_id,
        created_at=at or utcnow(),
    )
    session.add(alert)
    session.flush()
    audit.record(  # the text stays in the alert row: it names the conversation, which erasure renames here
        session,
        actor,
        "alert",
        conversation_id=draft.conversation_id,
        outcome={"alert_id": alert.id, "kind": alert.kind, "severity": alert.severity},
        at=alert.created_at,
    )
    link = f"{settings.public_url.rstrip('/')}/supervisor" if settings.public_url else None
    for url in settings.alert_webhook_urls:
        body = slack_message(draft.kind, draft.severity, draft.text, link)
        enqueue(
            session,
            webhook_key(alert.conversation_id, alert),
            WEBHOOK,
            {"url": url, "body": body, "alert_id": alert.id},
        )
    return alert


def raise_alerts(session: Session, now: datetime) -> list[Alert]:
    """The conversation alerts due now (the worker's leader calls this with the SLA check)."""
    # only those a rule can fire on: unanswered (the SLA) or waiting (a P1); checked every second
    could_alert = or_(
        Conversation.first_agent_reply_at.is_(None), Conversation.state == ConversationState.QUEUED
    )
    rows = session.scalars(select(Conversation).where(Conversation.state.in_(OPEN_STATES), could_alert))
    snapshot = [
        OpenConversation(
            id=c.id,
            queue=c.queue,
            priority_band=c.priority_band,
            queued=c.state == ConversationState.QUEUED,
            queued_at=as_utc(c.queued_at) if c.queued_at else None,
            sla_deadline=as_utc(c.sla_deadline) if c.sla_deadline else None,
            sla_breached=c.sla_breached,
            answered=c.first_agent_reply_at is not None,
        )
        for c in rows
    ]
    raised = [
        raise_alert(session, draft, audit.SLA_MONITOR, at=now)
        for draft in conversation_alerts(snapshot, as_utc(now))
    ]
    return [alert for alert in raised if alert is not None]


def acknowledge(session: Session, alert_id: int, by: User) -> Alert:
    """Mark the alert seen and handled by ``by`` (a second acknowledgement changes nothing); audited."""
    alert = session.get(Alert, alert_id)
    if alert is None:
        raise AlertNotFound(f"alert {alert_id} not found")
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = utcnow(), by.id
        audit.record(
            session,
            Actor.of(by),
            "alert_ack",
            conversation_id=alert.conversation_id,
            outcome={"alert_id": alert.id, "kind": alert.kind},
        )
        session.flush()
    return alert


def recent_alerts(session: Session, *, only_open: bool, limit: int) -> Sequence[tuple[Alert, str | None]]:
    """The newest alerts first, with the acknowledging user's display name."""
    stmt = (
        select(Alert, User.display_name)
        .outerjoin(User, User.id == Alert.acknowledged_by)
        .order_by(Alert.id.desc())
        .limit(limit)
    )
    if only_open:
        stmt = stmt.where(Alert.acknowledged_at.is_(None))
    return [(alert, name) for alert, name in session.execute(stmt)]
