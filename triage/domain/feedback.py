"""Feedback worth learning from (issues #20 and #23): the words of a customer's message that people say
should have been highlighted, and when a conversation may be marked as a missed flag. Pure: the caller
loads the messages and the conversation's escalations; nothing here reads a database or a clock.

Offsets count Unicode code points of the message's stored (redacted) text, as Python indexes a ``str``
and as every other offset Clearline stores does (the model's words, the signals' words, the
redactions). A browser counts UTF-16 units: after an emoji the two differ, and the console converts
(``api/static/js/explain.js``). A word sent with UTF-16 offsets past an emoji does not match the text
there and is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from triage.errors import InvalidTransition, ValidationError

MAX_WORDS = 200  # per feedback or missed flag
POLICY_TRIGGER = "policy"  # an escalation the triage policy raised (not the customer's request)
CUSTOMER = "customer"


@dataclass(frozen=True)
class MessageText:
    """What the rules need of a stored message: whose it is and its redacted text."""

    id: int
    conversation_id: str
    sender: str  # customer | bot | agent | system
    text: str
    # where the redaction placeholders are in ``text``: (start, end) in code points
    redactions: tuple[tuple[int, int], ...] = ()


@dataclass(frozen=True)
class WordSpan:
    """A word of a customer's message, by its offsets into the stored text."""

    message_id: int
    start: int
    end: int
    word: str

    def as_dict(self) -> dict[str, Any]:
        return {"message_id": self.message_id, "start": self.start, "end": self.end, "word": self.word}


def check_message(message_id: int, messages: Mapping[int, MessageText], conversation_id: str) -> MessageText:
    """The customer's message ``message_id`` of this conversation.

    Raises:
        ValidationError: no such message in this conversation (an unknown id and another conversation's
            message read the same), or a message that is not the customer's.
    """
    message = messages.get(message_id)
    if message is None or message.conversation_id != conversation_id:
        raise ValidationError(f"message {message_id} is not a message of conversation {conversation_id!r}")
    if message.sender != CUSTOMER:
        raise ValidationError(
            f"message {message_id} is the {message.sender}'s: only the customer's messages are scored"
        )
    return message


def _offset(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def check_word(
    item: Mapping[str, Any], messages: Mapping[int, MessageText], conversation_id: str
) -> WordSpan:
    """One word as sent: its message must be the customer's, in this conversation, and ``word`` must be
    the text at [start, end) of it (code points of the redacted text), not empty and not a redaction.

    Raises:
        ValidationError: with what is wrong and where.
    """
    message_id, start, end = (_offset(item.get(key)) for key in ("message_id", "start", "end"))
    word = item.get("word")
    if message_id is None or start is None or end is None or not isinstance(word, str):
        raise ValidationError("each word needs message_id, start and end (integers) and word (text)")
    message = check_message(message_id, messages, conversation_id)
    where = f"[{start}, {end}) of message {message_id}"
    if start < 0:
        raise ValidationError(f"{where}: offsets start at 0")
    if end <= start:
        raise ValidationError(f"the word at {where} is empty: start must be below end")
    if end > len(message.text):
        raise ValidationError(
            f"{where} is outside its text ({len(message.text)} characters; offsets count Unicode code "
            "points of the redacted text)"
        )
    found = message.text[start:end]
    if found != word:
        raise ValidationError(
            f"the word {word!r} is not the text at {where}, which reads {found!r} (offsets count Unicode "
            "code points of the redacted text, not UTF-16 units or bytes)"
        )
    if not word.strip():
        raise ValidationError(f"the word at {where} is only white space")
    if any(start < r_end and r_start < end for r_start, r_end in message.redactions):
        raise ValidationError(f"{where} is a redacted placeholder, not the customer's word")
    return WordSpan(message_id, start, end, word)


def check_words(
    words: Iterable[Mapping[str, Any]], messages: Mapping[int, MessageText], conversation_id: str
) -> list[WordSpan]:
    """Every word checked (``check_word``), in the order given, each span once.

    Raises:
        ValidationError: more than ``MAX_WORDS``, or the first bad word's reason.
    """
    items = list(words)
    if len(items) > MAX_WORDS:
        raise ValidationError(f"at most {MAX_WORDS} words at once")
    checked: dict[tuple[int, int, int], WordSpan] = {}
    for item in items:
        if not isinstance(item, Mapping):
            raise ValidationError("each word is an object with message_id, start, end and word")
        span = check_word(item, messages, conversation_id)
        checked.setdefault((span.message_id, span.start, span.end), span)
    return list(checked.values())


@dataclass(frozen=True)
class FlagView:
    """What the missed-flag rule needs of an escalation."""

    id: int
    trigger: str  # policy | bot_request
    unflagged: bool


def check_missed_flag(escalations: Iterable[FlagView]) -> None:
    """A missed flag says the policy did not escalate when it should have: refused while the policy's own
    flag stands (a flag withdrawn by a supervisor, or a hand-off the customer asked for, is no flag of the
    policy's).

    Raises:
        InvalidTransition: the conversation has a live escalation by the policy.
    """
    live = [e.id for e in escalations if e.trigger == POLICY_TRIGGER and not e.unflagged]
    if live:
        raise InvalidTransition(
            f"already flagged: give a verdict on the escalation instead (escalation {live[-1]})"
        )
