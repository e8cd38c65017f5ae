"""Feedback worth learning from: the words people add to a flag's explanation, and missed flags (a
conversation the policy should have escalated). The rules are the domain's (``triage.domain.feedback``);
this module loads what they need and stores the result with its audit record."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from triage import audit
from triage.audit import Actor
from triage.domain import feedback as rules
from triage.errors import ValidationError
from triage.storage.conversations import flush, get_conversation
from triage.storage.db import Message, MissedFlag, User, utcnow


def _spans(redactions: Sequence[Any] | None) -> tuple[tuple[int, int], ...]:
    return tuple(
        (int(r["start"]), int(r["end"]))
        for r in redactions or ()
        if isinstance(r, Mapping) and isinstance(r.get("start"), int) and isinstance(r.get("end"), int)
    )


def _messages(session: Session, ids: Iterable[object]) -> dict[int, rules.MessageText]:
    wanted = {i for i in ids if isinstance(i, int) and not isinstance(i, bool)}
    if not wanted:
        return {}
    found = session.scalars(select(Message).where(Message.id.in_(wanted)))
    return {
        m.id: rules.MessageText(m.id, m.conversation_id, m.sender.value, m.text, _spans(m.redactions))
        for m in found
    }


def checked_words(session: Session, conversation_id: str, words: Sequence[Any]) -> list[dict[str, Any]]:
    """Words of this conversation's customer messages, checked against their stored text.

    Raises:
        ValidationError: not a list, too many, or a word that is not where it says it is.
    """
    if not isinstance(words, list | tuple):
        raise ValidationError("words must be a list")
    if len(words) > rules.MAX_WORDS:
        raise ValidationError(f"at most {rules.MAX_WORDS} words at once")
    ids = [w.get("message_id") for w in words if isinstance(w, Mapping)]
    messages = _messages(session, ids)
    return [span.as_dict() for span in rules.check_words(words, messages, conversation_id)]


def record_missed_flag(
    session: Session,
    conversation_id: str,
    *,
    user: User,
    message_id: int | None,
    comment: str | None,
    words: Sequence[Any],
) -> MissedFlag:
    """Keep a person's word that the policy should have escalated this conversation; audited.

    Raises:
        ConversationNotFound: no such conversation.
        InvalidTransition: the policy's flag on it stands (give a verdict on that escalation instead).
        ValidationError: a message that is not one of its customer messages, or a bad word.
    """
    conversation = get_conversation(session, conversation_id)
    rules.check_missed_flag(rules.FlagView(e.id, e.trigger, e.unflagged) for e in conversation.escalations)
    if message_id is not None:
        rules.check_message(message_id, _messages(session, [message_id]), conversation_id)
    checked = checked_words(session, conversation_id, words)
    now = utcnow()
    missed = MissedFlag(
        conversation_id=conversation_id,
        message_id=message_id,
        user_id=user.id,
        comment=comment,
        words=checked,
        created_at=now,
    )
    session.add(missed)
    flush(session)
    audit.record(
        session,
        Actor.of(user),
        "missed_flag",
        conversation_id=conversation_id,
        inputs={"message_id": message_id, "words": checked, "comment": comment},
        outcome={"missed_flag_id": missed.id, "state": conversation.state.value},
        at=now,
    )
    return missed


def missed_flags_of(session: Session, conversation_id: str) -> list[MissedFlag]:
    """A conversation's missed flags, oldest first, with who marked them (``MissedFlag.user``)."""
    stmt = (
        select(MissedFlag)
        .where(MissedFlag.conversation_id == conversation_id)
        .order_by(MissedFlag.id)
        .options(selectinload(MissedFlag.user))
    )
    return list(session.scalars(stmt))
