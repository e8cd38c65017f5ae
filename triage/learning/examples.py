"""The examples people's verdicts give: the customer message each judged escalation was decided on, with
the latest verdict as its label (correct = stressed; wrong or unflagged = calm), and when it was given;
and for each missed flag (the policy should have escalated), a stressed example: the message it names, or
else the conversation's customer message the model scored highest (the one it came closest on).

Only escalations by the policy: a hand-off the customer asked for says nothing about the text's stress."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from sentiment.recalibrate import Example
from triage.storage.conversations import as_utc
from triage.storage.db import Escalation, Feedback, Message, MissedFlag, Sender

POLICY_TRIGGER = "policy"


def _trigger_text(escalation: Escalation, messages: list[tuple[int | None, datetime, str]]) -> str | None:
    """The message from the escalation's source event, else the latest customer message before it."""
    for source_event_id, _at, text in messages:
        if escalation.source_event_id is not None and source_event_id == escalation.source_event_id:
            return text
    cut = as_utc(escalation.created_at)
    before = [text for _event, at, text in messages if as_utc(at) <= cut]
    return before[-1] if before else None


def feedback_examples(session: Session) -> list[Example]:
    """One example per judged escalation by the policy whose message is still stored."""
    judged = (
        Escalation.trigger == POLICY_TRIGGER,
        (Escalation.unflagged.is_(True)) | (Escalation.feedback_state.is_not(None)),
    )
    escalations = {e.id: e for e in session.scalars(select(Escalation).where(*judged))}
    latest: dict[int, tuple[str | None, datetime]] = {}
    for escalation_id, given, given_at in session.execute(
        select(Feedback.escalation_id, Feedback.verdict, Feedback.created_at).order_by(Feedback.id)
    ):
        latest[escalation_id] = (given, given_at)  # the latest wins
    messages: dict[str, list[tuple[int | None, datetime, str]]] = defaultdict(list)
    for conversation_id, source_event_id, at, text in session.execute(
        select(Message.conversation_id, Message.source_event_id, Message.created_at, Message.text)
        .where(
            Message.sender == Sender.CUSTOMER,
            Message.conversation_id.in_(select(Escalation.conversation_id).where(*judged)),
        )
        .order_by(Message.id)
    ):
        messages[conversation_id].append((source_event_id, at, text))
    examples = []
    for escalation in escalations.values():
        trigger = _trigger_text(escalation, messages[escalation.conversation_id])
        if not trigger:
            continue
        verdict, at = latest.get(escalation.id, (None, escalation.created_at))  # unflagged, no verdict
        stressed = verdict == "correct" and not escalation.unflagged  # an unflag says the flag was wrong
        examples.append(Example(trigger, stressed, as_utc(at)))
    return examples + missed_flag_examples(session)


def missed_flag_examples(session: Session) -> list[Example]:
    named = select(Message.text).where(Message.id == MissedFlag.message_id).scalar_subquery()
    highest = (
        select(Message.text)
        .where(
            Message.conversation_id == MissedFlag.conversation_id,
            Message.sender == Sender.CUSTOMER,
            Message.stress.is_not(None),
        )
        .order_by(Message.stress.desc(), Message.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    rows = session.execute(select(named, highest, MissedFlag.created_at).order_by(MissedFlag.id))
    return [Example(text, True, as_utc(at)) for own, best, at in rows if (text := own or best)]
