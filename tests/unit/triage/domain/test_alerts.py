"""The alert rules, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from triage.domain.alerts import (
    AlertKind,
    OpenConversation,
    agent_offline_alert,
    conversation_alerts,
    slack_message,
)

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def conv(**kw: object) -> OpenConversation:
    values: dict[str, object] = {
        "id": "c1",
        "queue": "cards",
        "priority_band": "P2",
        "queued": True,
        "queued_at": NOW - timedelta(seconds=5),
        "sla_deadline": NOW + timedelta(minutes=5),
        "sla_breached": False,
        "answered": False,
    }
    values.update(kw)
    return OpenConversation(**values)  # type: ignore[arg-type]


def kinds(*conversations: OpenConversation) -> list[AlertKind]:
    return [d.kind for d in conversation_alerts(conversations, NOW)]


def test_nothing_to_say_about_a_calm_queue() -> None:
    assert kinds(conv()) == []
    assert kinds(conv(sla_deadline=None)) == []


def test_sla_breached_or_about_to() -> None:
    assert kinds(conv(sla_breached=True)) == [AlertKind.SLA_BREACHED]
    (soon,) = conversation_alerts([conv(sla_deadline=NOW + timedelta(seconds=40))], NOW)
    assert soon.kind == AlertKind.SLA_SOON and soon.key == "sla_soon:c1" and "40 s" in soon.text
    assert soon.severity == "warning" and soon.conversation_id == "c1"
    assert kinds(conv(sla_deadline=NOW + timedelta(seconds=61))) == []
    # answered: the first-reply SLA is met, nothing to alert
    assert kinds(conv(sla_breached=True, answered=True), conv(sla_deadline=NOW, answered=True)) == []


def test_a_p1_waiting_too_long_once_per_wait() -> None:
    assert kinds(conv(priority_band="P1", queued_at=NOW - timedelta(seconds=20))) == []
    first = conversation_alerts([conv(priority_band="P1", queued_at=NOW - timedelta(seconds=45))], NOW)
    assert [d.kind for d in first] == [AlertKind.P1_WAITING] and first[0].severity == "critical"
    same_wait = conv(priority_band="P1", queued_at=NOW - timedelta(seconds=45))
    later = conversation_alerts([same_wait], NOW + timedelta(minutes=1))
    assert later[0].key == first[0].key  # the same wait checked again: the same alert
    requeued = conversation_alerts([conv(priority_band="P1", queued_at=NOW - timedelta(seconds=35))], NOW)
    assert requeued[0].key != first[0].key  # waiting again after a requeue: a new one
    assert kinds(conv(priority_band="P1", queued=False, queued_at=NOW - timedelta(hours=1))) == []


def test_an_agent_going_offline_with_conversations() -> None:
    assert agent_offline_alert(3, "Alice", 0, NOW) is None
    alert = agent_offline_alert(3, "Alice", 2, NOW)
    assert alert is not None and alert.kind == AlertKind.AGENT_OFFLINE and alert.agent_id == 3
    assert alert.text == "Alice went offline with 2 open conversation(s); they are back in their queues"


def test_the_webhook_message_is_slack_compatible_and_escaped() -> None:
    body = slack_message(
        AlertKind.SLA_BREACHED, "critical", "SLA breached: conversation <!channel> & co", None
    )
    # both the fallback text and the block: Slack reads <...> in either
    assert body["text"] == "Clearline critical: SLA breached: conversation &lt;!channel&gt; &amp; co"
    section = body["blocks"][0]["text"]["text"]  # type: ignore[index]
    assert "&lt;!channel&gt; &amp; co" in section and "<!channel>" not in section  # no mention, no link
    linked = slack_message(AlertKind.SLA_SOON, "warning", "x", "https://support.example/supervisor")
    assert "<https://support.example/supervisor|Open the dashboard>" in str(linked["blocks"])
