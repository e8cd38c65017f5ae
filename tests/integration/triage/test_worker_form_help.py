"""Forms that listen, through the real worker (fake scorer): the bot's structural ``form_help`` mark on its
message in a form makes the policy decide again with the customer's failed attempts (``form_failures``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.triage.fakes import FakeScorer
from triage.benchmarks.rasa_events import bot_event, user_event, write_events
from triage.domain.policy import Policy
from triage.redaction import redact_with_spans
from triage.storage.db import AuditRecord, Conversation, ConversationState, Escalation, Message, Sender
from triage.worker.broker import SqlEventSource
from triage.worker.loop import Worker

ASK_AGAIN = "That doesn't look like an email address. Please type the full address, like name@example.com."


def form_bot(text: str, failed: Any, offer: bool = False) -> dict[str, Any]:
    event = bot_event(text, utter_action="utter_form_offer_person" if offer else "")
    help_ = {"form": "card_status_form", "slot": "customer_email", "failed_attempts": failed, "offer": offer}
    event["metadata"]["clearline"] = {"form_help": help_}
    return event


def run(factory: sessionmaker[Session], source: SqlEventSource, policy: Policy, rows: list) -> list[str]:
    with source.engine.begin() as conn:
        write_events(conn, rows)
    result = Worker(factory, source, FakeScorer(), policy, redact_with_spans).process_next_batch()
    assert result is not None
    return result.escalated


def decisions(factory: sessionmaker[Session]) -> list[AuditRecord]:
    with factory() as s:
        return list(s.scalars(select(AuditRecord).where(AuditRecord.action == "policy")).all())


def test_a_worried_customer_failing_the_form_twice_escalates_at_the_bots_offer(
    session_factory, source, policy
):
    # "worried" scores 0.75 with the fake model: 37 points (pinned weight 50), under the bar of 50 alone
    rows = [
        ("c1", user_event("I'm worried, my card has not come", intent="card_arrival")),
        ("c1", bot_event("First I need to confirm it's you. What's the email address?")),
        ("c1", user_event("I'm worried, it is anna smith", intent="inform")),
        ("c1", form_bot(ASK_AGAIN, 1)),
        ("c1", user_event("worried, anna smith again", intent="inform")),
        ("c1", form_bot(ASK_AGAIN, 2)),
        (
            "c1",
            form_bot("Sorry this isn't working. Would you like me to pass you to a person?", 2, offer=True),
        ),
    ]
    assert run(session_factory, source, policy, rows) == ["c1"]
    with session_factory() as s:
        escalation = s.scalars(select(Escalation)).one()
        latest = s.scalars(
            select(Message).where(Message.sender == Sender.CUSTOMER).order_by(Message.id)
        ).all()[-1]
        conversation = s.get(Conversation, "c1")
    factors = {f["factor"]: f for f in escalation.factors}
    assert factors["form_failures"] == {
        "factor": "form_failures",
        "value": 2,
        "contribution": 15,
        "text": "2 failed answers in a form -> +15",
    }
    assert factors["stress"]["contribution"] == 37 and escalation.priority == 52
    assert escalation.trigger == "policy" and escalation.queue == "cards"
    assert conversation.state != ConversationState.BOT
    # the escalation points at the bot's marked message and explains the customer's latest words
    assert escalation.source_event_id is not None
    assert [e["message_id"] for e in escalation.explanations] == [latest.id]
    # decided once per customer message, once at the mark that counted; not again once escalated
    counted = [d for d in decisions(session_factory) if "form_failures" in d.inputs]
    assert [d.inputs["form_failures"] for d in counted] == [2]


def test_a_calm_customer_who_mistyped_twice_is_left_with_the_bots_offer(session_factory, source, policy):
    rows = [
        ("c2", user_event("where is my card", intent="card_arrival")),
        ("c2", user_event("anna", intent="inform")),
        ("c2", form_bot(ASK_AGAIN, 1)),  # one failed attempt: not weighed, no decision
        ("c2", user_event("anna smith", intent="inform")),
        ("c2", form_bot(ASK_AGAIN, 2)),
        ("c2", form_bot("Sorry this isn't working...", 2, offer=True)),
    ]
    assert run(session_factory, source, policy, rows) == []
    counted = [d for d in decisions(session_factory) if "form_failures" in d.inputs]
    assert [d.outcome["priority"] for d in counted] == [15, 15]
    assert [f["factor"] for f in counted[0].outcome["factors"]] == ["form_failures"]
    assert len(decisions(session_factory)) == 3 + 2  # the three customer messages, the two counted marks


def test_the_mark_in_a_later_batch_uses_the_stored_latest_message(session_factory, source, policy):
    run(session_factory, source, policy, [("c3", user_event("I am so worried, anna smith", intent="inform"))])
    assert run(session_factory, source, policy, [("c3", form_bot(ASK_AGAIN, 3, offer=True))]) == ["c3"]


def test_malformed_marks_and_marks_on_user_events_are_ignored(session_factory, source, policy):
    forged = user_event("I am worried", intent="inform")
    forged["metadata"] = {"clearline": {"form_help": {"failed_attempts": 9}}}
    rows = [
        ("c4", forged),
        ("c4", form_bot(ASK_AGAIN, "2")),
        ("c4", form_bot(ASK_AGAIN, True)),
        ("c4", form_bot(ASK_AGAIN, None)),
    ]
    assert run(session_factory, source, policy, rows) == []
    assert [d.inputs.get("form_failures") for d in decisions(session_factory)] == [None]


def test_a_mark_before_any_customer_message_decides_nothing(session_factory, source, policy):
    assert run(session_factory, source, policy, [("c5", form_bot(ASK_AGAIN, 2, offer=True))]) == []
    assert decisions(session_factory) == []
