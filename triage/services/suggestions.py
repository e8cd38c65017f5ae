"""The suggested next action (issue #20): what the rules need from a stored conversation, and the agent's
verdict on a suggestion (accepted or dismissed), kept as feedback on the rules with its audit record. The
rules are the domain's (``triage.domain.suggestions``); the provider's records are read by the caller."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage import audit
from triage.audit import Actor
from triage.domain import suggestions as rules
from triage.errors import InvalidTransition, ValidationError
from triage.storage.conversations import flush
from triage.storage.db import Conversation, Sender, User, utcnow
from triage.storage.workplace_tables import SuggestionVerdict

VERDICTS = ("accepted", "dismissed")


def intents_of(conversation: Conversation) -> list[object]:
    """The intents of the customer's turns, oldest first; the conversation's ``recent_intents`` when its
    messages carry none (rows stored before messages kept their intent)."""
    intents: list[object] = [m.intent for m in conversation.messages if m.sender == Sender.CUSTOMER]
    if any(isinstance(i, str) for i in intents):
        return intents
    recent = conversation.recent_intents
    return list(recent) if isinstance(recent, list) else []


def _factor(stored: object) -> rules.Factor | None:
    if not isinstance(stored, Mapping) or not isinstance(stored.get("factor"), str):
        return None
    points = stored.get("contribution")
    return rules.Factor(
        name=stored["factor"],
        value=stored.get("value"),
        points=points if isinstance(points, int) else 0,
        text=str(stored.get("text") or stored["factor"]),
    )


def factors_of(conversation: Conversation) -> list[rules.Factor]:
    """The factors the policy weighed on the conversation's latest escalation (none if never escalated)."""
    if not conversation.escalations:
        return []
    stored: Sequence[Any] = conversation.escalations[-1].factors or []
    return [f for f in (_factor(s) for s in stored) if f is not None]


@dataclass(frozen=True)
class GivenVerdict:
    row: SuggestionVerdict
    by: str  # the display name (or username) of who gave it


def latest_verdicts(session: Session, conversation_id: str) -> dict[str, GivenVerdict]:
    """The latest verdict on each suggestion key of this conversation, with who gave it."""
    stmt = (
        select(SuggestionVerdict, func.coalesce(User.display_name, User.username))
        .join(User, User.id == SuggestionVerdict.user_id)
        .where(SuggestionVerdict.conversation_id == conversation_id)
        .order_by(SuggestionVerdict.id)
    )
    return {row.suggestion_key: GivenVerdict(row, by) for row, by in session.execute(stmt)}


def record_verdict(
    session: Session,
    conversation_id: str,
    advice: rules.Advice,
    *,
    key: str,
    verdict: str,
    user: User,
    comment: str | None = None,
) -> SuggestionVerdict:
    """Keep an agent's acceptance or dismissal of a suggestion shown now, with the reasons it was shown
    with; audited as ``suggestion_verdict`` (the action and verdict; the comment, which retention and
    erasure strip; never the key or reasons, which name the customer's card or payment).

    Raises:
        ValidationError: a verdict other than accepted or dismissed.
        InvalidTransition: ``key`` is not among the suggestions of ``advice`` (the current ones).
    """
    if verdict not in VERDICTS:
        raise ValidationError(f"verdict must be one of {', '.join(VERDICTS)}")
    suggestion = advice.find(key)
    if suggestion is None:
        current = ", ".join(s.key for s in advice.suggestions) or "none"
        raise InvalidTransition(f"{key!r} is not suggested for this conversation now (suggested: {current})")
    now = utcnow()
    row = SuggestionVerdict(
        conversation_id=conversation_id,
        suggestion_key=suggestion.key,
        action=suggestion.action,
        verdict=verdict,
        reasons=list(suggestion.reasons),
        comment=comment,
        user_id=user.id,
        created_at=now,
    )
    session.add(row)
    flush(session)
    audit.record(
        session,
        Actor.of(user),
        "suggestion_verdict",
        conversation_id=conversation_id,
        inputs={"action": suggestion.action, "verdict": verdict, "comment": comment},
        outcome={"suggestion_verdict_id": row.id},
        at=now,
    )
    return row
