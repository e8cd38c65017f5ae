"""When the supervisors are alerted, and what an alert says: pure rules over a snapshot of the open
conversations (the service adds the rows, the audit record and the webhooks).

Each alert has a key: the same condition on the same subject raises one alert, however often the check
runs (an SLA breach of conversation X is one alert, not one per second).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

SLA_SOON = timedelta(seconds=60)  # "about to breach": under a minute left for the first reply
P1_WAITING = timedelta(seconds=30)  # a P1 conversation waiting longer than this for an agent


class AlertKind(enum.StrEnum):
    SLA_BREACHED = "sla_breached"
    SLA_SOON = "sla_soon"
    P1_WAITING = "p1_waiting"
    AGENT_OFFLINE = "agent_offline"  # went offline with open conversations (requeued)
    DRIFT = "drift"  # the model's scores moved away from its reference (triage.domain.drift)


SEVERITY = {
    AlertKind.SLA_BREACHED: "critical",
    AlertKind.P1_WAITING: "critical",
    AlertKind.SLA_SOON: "warning",
    AlertKind.AGENT_OFFLINE: "warning",
    AlertKind.DRIFT: "warning",
}


@dataclass(frozen=True)
class OpenConversation:
    """What the rules read of an open (queued or assigned) conversation."""

    id: str
    queue: str | None
    priority_band: str | None
    queued: bool
    queued_at: datetime | None
    sla_deadline: datetime | None
    sla_breached: bool
    answered: bool  # an agent has replied (the SLA is the first reply's)


@dataclass(frozen=True)
class AlertDraft:
    kind: AlertKind
    key: str
    text: str  # names the conversation, queue and agent; never a customer's words
    conversation_id: str | None = None
    agent_id: int | None = None

    @property
    def severity(self) -> str:
        return SEVERITY[self.kind]


def _where(c: OpenConversation) -> str:
    return f"conversation {c.id} ({c.queue or 'no queue'}, {c.priority_band or 'no band'})"


def conversation_alerts(open_conversations: Iterable[OpenConversation], now: datetime) -> list[AlertDraft]:
    """The alerts these conversations call for now (the service drops those already raised)."""
    drafts = []
    for c in open_conversations:
        if c.sla_breached and not c.answered:
            drafts.append(
                AlertDraft(
                    AlertKind.SLA_BREACHED,
                    f"sla_breached:{c.id}",
                    f"SLA breached: {_where(c)} has no agent reply",
                    c.id,
                )
            )
        elif c.sla_deadline is not None and not c.answered and now <= c.sla_deadline <= now + SLA_SOON:
            left = int((c.sla_deadline - now).total_seconds())
            drafts.append(
                AlertDraft(
                    AlertKind.SLA_SOON,
                    f"sla_soon:{c.id}",
                    f"SLA in {left} s: {_where(c)} has no agent reply yet",
                    c.id,
                )
            )
        waited = now - c.queued_at if c.queued and c.queued_at is not None else None
        if c.priority_band == "P1" and waited is not None and waited > P1_WAITING:
            # one per wait: a conversation requeued later waits again and is a new alert
            key = f"p1_waiting:{c.id}:{c.queued_at.isoformat() if c.queued_at else ''}"
            drafts.append(
                AlertDraft(
                    AlertKind.P1_WAITING,
                    key,
                    f"P1 waiting {int(waited.total_seconds())} s: {_where(c)}",
                    c.id,
                )
            )
    return drafts


def agent_offline_alert(agent_id: int, agent_name: str, requeued: int, at: datetime) -> AlertDraft | None:
    """An agent went offline holding conversations: they are back in their queues, waiting again. (The
    count, not the ids: an erased conversation's id must not outlive it in an alert's text.)"""
    if not requeued:
        return None
    return AlertDraft(
        AlertKind.AGENT_OFFLINE,
        f"agent_offline:{agent_id}:{at.isoformat()}",
        f"{agent_name} went offline with {requeued} open conversation(s); they are back in their queues",
        agent_id=agent_id,
    )


def slack_message(draft_kind: AlertKind, severity: str, text: str, link: str | None) -> dict[str, object]:
    """Slack-compatible incoming-webhook JSON (``text`` is what any such receiver reads; ``blocks`` adds
    the layout Slack shows)."""
    icon = ":rotating_light:" if severity == "critical" else ":warning:"
    # Slack reads <...> as links and mentions (<!channel>): a conversation id or a display name is text
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    line = f"{icon} *Clearline* {text}"
    blocks: list[dict[str, object]] = [{"type": "section", "text": {"type": "mrkdwn", "text": line}}]
    if link:
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{link}|Open the dashboard>"}]}
        )
    return {
        "text": f"Clearline {severity}: {text}",
        "blocks": blocks,
        "clearline": {"kind": draft_kind.value},
    }
