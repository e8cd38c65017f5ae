"""What Clearline holds about a customer, what export, erasure and retention do to it, and what the audit
trail keeps: the rules, with no database, no clock and no network.

A customer is known by the id of their conversation, which is Rasa's sender id (a Telegram customer
keeps one chat id; each web-chat session is an id of its own), so a request may name several ids. The
adapters (``triage.privacy.clearline`` for Clearline's tables, ``triage.privacy.rasa`` for Rasa's) and
the service (``triage.privacy.service``) apply what is decided here.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from triage.domain.lifecycle import OPEN_STATES, ConversationState
from triage.errors import ValidationError

MAX_ID_CHARS = 255  # conversations.id and Rasa's sender_id are VARCHAR(255)
MAX_REASON_CHARS = 500
MAX_IDS_PER_REQUEST = 50

# What each store holds about a customer, and what erasure and retention do to it (exports carry this,
# docs/privacy.md explains it). Keys are "<store>.<table>".
HOLDINGS: dict[str, str] = {
    "clearline.conversations": "one row per conversation: channel, state, tier, latest intent, stress "
    "trajectory, queue, priority, assigned agent and the hand-off's times. Deleted.",
    "clearline.messages": "the customer's, the bot's and the agents' words (PII-redacted before they are "
    "stored), intents, emotion scores. Deleted.",
    "clearline.escalations": "why the conversation went to people: policy factors, explanations that quote "
    "the redacted words. Deleted.",
    "clearline.feedback": "staff's verdicts on a flag, the words they unmarked or added (offsets into the "
    "redacted messages and the redacted words there), their comments. Deleted.",
    "clearline.missed_flags": "staff's marks that a conversation should have been escalated: the customer "
    "message meant, the words that should have been highlighted (offsets and the redacted words), a "
    "comment (redacted). Deleted.",
    "clearline.csat_ratings": "the customer's 1-5 ratings, with the agent and queue of the hand-off they "
    "rated. Deleted.",
    "clearline.suggestion_verdicts": "staff's acceptance or dismissal of a suggested next action, the "
    "reasons it was shown with (intents, amounts, references from the provider's records) and their "
    "comment (redacted). Deleted.",
    "clearline.typing_signals": "who was typing, until when (no text; not exported: it lapses within "
    "seconds). Deleted.",
    "clearline.outbox": "commands for Rasa; an agent's reply is kept sealed (encrypted) until delivered. "
    "Deleted.",
    "clearline.audit_log": "every decision and action on the conversation, and who opened its transcript. "
    "Kept without the free text (reasons, comments, unmarked words), the conversation id replaced by "
    "a keyed pseudonym.",
    "rasa_tracker.events": "Rasa's tracker store: every event of the conversation (the customer's and the "
    "bot's words, intents, entities, slots such as the customer's tier and e-mail) as Rasa stores them. "
    "Deleted.",
    "rasa_broker.events": "Rasa's event broker, which the worker reads: the same events. Deleted "
    "(retention: only the rows the worker has read).",
}
OUT_OF_SCOPE = (
    "The card provider's own records (accounts, cards, transfers: the action server's provider database) "
    "are the bank's system of record and not Clearline's: export and erase them there. Process logs "
    "(stdout of the api, worker and Rasa) name conversation ids and follow the operator's log retention."
)

# -- ids and reasons ---------------------------------------------------------------------------------

PSEUDONYM_PREFIX = "pseudonym:"


def customer_ids(ids: Iterable[str]) -> tuple[str, ...]:
    """The ids of one request, in the order given and each once.

    Raises:
        ValidationError: no id, too many, an empty or too long one, or a pseudonym (the audit trail's name
            for an erased id is not a customer's id).
    """
    seen: dict[str, None] = {}
    for raw in ids:
        if not isinstance(raw, str) or not raw.strip():
            raise ValidationError("a customer id must not be empty")
        if len(raw) > MAX_ID_CHARS:
            raise ValidationError(f"a customer id has at most {MAX_ID_CHARS} characters")
        if raw.startswith(PSEUDONYM_PREFIX):
            raise ValidationError(f"{PSEUDONYM_PREFIX}... names an erased conversation, not a customer")
        seen.setdefault(raw, None)
    if not seen:
        raise ValidationError("name at least one customer id")
    if len(seen) > MAX_IDS_PER_REQUEST:
        raise ValidationError(f"at most {MAX_IDS_PER_REQUEST} customer ids per request")
    return tuple(seen)


def erase_reason(reason: str | None) -> str:
    """The reason an erasure needs (kept in the audit trail until retention removes its text)."""
    text = (reason or "").strip()
    if not text:
        raise ValidationError("an erasure needs a reason (e.g. the request's reference)")
    if len(text) > MAX_REASON_CHARS:
        raise ValidationError(f"the reason has at most {MAX_REASON_CHARS} characters")
    return text


def pseudonym(key: str, customer_id: str) -> str:
    """The audit trail's name for an erased or purged conversation: a keyed hash (HMAC-SHA256) of its id.

    Whoever holds the key can tell whether an id was erased (a second erasure says when); without it the id
    cannot be recovered from the pseudonym, and the records of one conversation stay together.
    """
    digest = hmac.new(key.encode(), b"clearline-customer\x00" + customer_id.encode(), hashlib.sha256)
    return PSEUDONYM_PREFIX + digest.hexdigest()[:32]


# -- the audit trail: decisions kept, text removed ---------------------------------------------------

# Keys (at any depth of an audit record's ``inputs`` or ``outcome``) whose values are free text written by
# people or quoted from the customer: reasons of overrides, transfers, resolutions, erasures and the bot's
# hand-off (also ``over_capacity.reason``), feedback comments and unmarked words, and the words a signal
# factor points at (``factors[].words[].word``; their offsets stay) or people added to a flag or a missed
# flag (``added_words[].word``, ``words[].word``; their offsets stay too).
TEXT_KEYS = frozenset({"reason", "comment", "unmarked_words", "word"})
# where the database finds them without reading every record: these paths, and the key ``"word"`` in the
# record's JSON text (inside lists of factors, whose positions vary)
TEXT_PATHS: tuple[tuple[str, ...], ...] = (
    ("reason",),
    ("comment",),
    ("unmarked_words",),
    ("over_capacity", "reason"),
)
WORD_MARK = '"word"'
# reasons the system writes itself: labels, not text, so they stay
SYSTEM_REASONS = frozenset({"agent offline", "tier"})
TEXT_REMOVED = "text_removed"  # the key that lists what was removed from a record
# Paths that hold lists of conversation ids in records that are not the conversation's own (an agent going
# offline lists the conversations put back in the queue)
REFERENCE_PATHS: tuple[tuple[str, ...], ...] = (("requeued",),)


def _is_text(value: Any) -> bool:
    return not (value is None or (isinstance(value, str) and value in SYSTEM_REASONS))


def strip_text(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A copy of an audit record's ``inputs`` (or ``outcome``) without its free text, and the removed
    paths, sorted ("over_capacity.reason", "factors[].words[].word"). Everything else (decisions, ids,
    offsets, versions, numbers) is kept; a record stripped before keeps its list of what was removed."""
    removed: set[str] = set()

    def walk(value: Any, path: str) -> Any:
        if isinstance(value, list):
            return [walk(item, f"{path}[]") for item in value]
        if not isinstance(value, dict):
            return value
        kept = {}
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if key in TEXT_KEYS and _is_text(item):
                removed.add(here)
            else:
                kept[key] = item if here == TEXT_REMOVED else walk(item, here)
        return kept

    result: dict[str, Any] = walk(copy.deepcopy(dict(data)), "")
    if removed:
        earlier = result.get(TEXT_REMOVED)
        result[TEXT_REMOVED] = sorted({*removed, *(earlier if isinstance(earlier, list) else [])})
    return result, sorted(removed)


def replace_references(data: Mapping[str, Any], names: Mapping[str, str]) -> tuple[dict[str, Any], int]:
    """A copy of ``data`` with the conversation ids listed under ``REFERENCE_PATHS`` renamed by ``names``
    (id -> pseudonym), and how many were renamed."""
    result = copy.deepcopy(dict(data))
    renamed = 0
    for path in REFERENCE_PATHS:
        parent: Any = result
        for key in path[:-1]:
            parent = parent.get(key) if isinstance(parent, dict) else None
        values = parent.get(path[-1]) if isinstance(parent, dict) else None
        if isinstance(values, list):
            parent[path[-1]] = [names.get(v, v) if isinstance(v, str) else v for v in values]
            renamed += sum(1 for v in values if isinstance(v, str) and v in names)
    return result, renamed


# -- retention -----------------------------------------------------------------------------------------

# a conversation's activity: the newest of these columns of ``conversations``
ACTIVITY_COLUMNS = (
    "started_at",
    "last_message_at",
    "escalated_at",
    "queued_at",
    "assigned_at",
    "first_agent_reply_at",
    "resolved_at",
)


def cutoff(now: datetime, days: int) -> datetime:
    """Conversations whose last activity is before this are past retention."""
    if days < 1:
        raise ValidationError("retention is at least one day")
    return now - timedelta(days=days)


def last_activity(*stamps: datetime | None) -> datetime | None:
    known = [s for s in stamps if s is not None]
    return max(known) if known else None


class Verdict(StrEnum):
    PURGE = "purge"
    OPEN = "open"  # queued or with an agent: people are still on it
    RECENT = "recent"  # some store saw activity after the cutoff
    UNREAD = "unread"  # the broker holds events the worker has not read yet: activity it will store


@dataclass(frozen=True)
class SenderFacts:
    """What each store knows of one sender id, for the retention decision."""

    sender_id: str
    state: ConversationState | None = None  # None: no Clearline conversation
    clearline_activity: datetime | None = None
    tracker_activity: datetime | None = None
    unread_events: bool = False


def purge_verdict(facts: SenderFacts, cut: datetime) -> Verdict:
    """A conversation is purged when every store last saw it before the cutoff and nobody is on it."""
    if facts.state in OPEN_STATES:
        return Verdict.OPEN
    if facts.unread_events:
        return Verdict.UNREAD
    newest = last_activity(facts.clearline_activity, facts.tracker_activity)
    if newest is None or newest >= cut:
        return Verdict.RECENT
    return Verdict.PURGE


# -- access logging ------------------------------------------------------------------------------------

TRANSCRIPT_VIEW = "transcript_view"
# One record per viewer and conversation in this window: an open page re-reads the transcript on every
# live update, and those re-reads are the same look, not new ones.
TRANSCRIPT_VIEW_WINDOW = timedelta(minutes=10)
# Someone read the provider's records of the conversation's customer (the console's customer panel); the
# same window: the panel is re-read with the conversation
CUSTOMER_VIEW = "customer_view"
