"""Rasa's broker events -> what the worker acts on: customer and bot utterances (redacted), the
customer's tier and reference. Everything else (actions, other slots, Clearline's own echoes) is skipped."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from triage.rasa.events import AGENT_REPLY, IS_EXTERNAL, event_metadata, form_failures, parsed_intent
from triage.storage.db import Sender, utcnow
from triage.worker.broker import BrokerEvent

if TYPE_CHECKING:
    from triage.redaction import Redaction

    Redact = Callable[[str], Redaction]  # triage.redaction.redact_with_spans, or a test's stand-in

# the bot's slot for the customer's tier (bot/domain/core.yml), set by the action server
TIER_SLOT = "customer_tier"
# the bot's keyed hash of the provider's customer id (bot/actions/sealing.py, triage/sealing.py)
CUSTOMER_REF_SLOT = "customer_ref"
CUSTOMER_REF_SHAPE = re.compile(r"cref:v1:[0-9a-f]{40}")
# Rasa's bot events that echo an agent's words, which are already stored as agent messages: marked with
# AGENT_REPLY (triage/rasa/events.py), or, from relays before that mark, uttered with this response
AGENT_ECHO_RESPONSE = "utter_agent_message"
# Where Rasa's redacting tracker store (bot/privacy_store.py) lists the placeholders it put into an event's
# text: [{"entity", "start", "end"}], offsets into that text. A key of the event itself, never of its
# metadata, which the customer's client may fill.
UPSTREAM_REDACTIONS = "clearline_redactions"
PLACEHOLDER_SHAPE = re.compile(r"<[A-Z_]{1,32}>")


@dataclass(frozen=True)
class Utterance:
    """A customer's or the bot's words, already redacted."""

    event: BrokerEvent
    sender: Sender
    text: str  # redacted
    at: datetime
    intent: str | None = None
    confidence: float | None = None
    channel: str | None = None
    # where the placeholders are in ``text``: {"entity", "start", "end"}, stored with the message so that
    # a reader tells them from a customer who typed "<EMAIL>"
    redactions: tuple[dict[str, Any], ...] = ()
    # a bot message in a form: the customer's failed attempts there so far (the bot's form_help mark)
    form_failures: int | None = None


@dataclass(frozen=True)
class TierSet:
    """A ``customer_tier`` slot event: what the bot knows of the customer's tier from now on."""

    event: BrokerEvent
    value: Any  # as Rasa sent it; checked against the policy's tiers when applied
    at: datetime


@dataclass(frozen=True)
class CustomerRefSet:
    """A ``customer_ref`` slot event of the expected shape: who the customer is, as a keyed hash."""

    event: BrokerEvent
    value: str
    at: datetime  # a new conversation starts then (the slot may come before the first message)


def _event_time(data: dict[str, Any]) -> datetime:
    stamp = data.get("timestamp")
    if isinstance(stamp, int | float):
        return datetime.fromtimestamp(stamp, UTC)
    return utcnow()


def _listed_placeholders(data: dict[str, Any], text: str) -> list[tuple[int, int, str]]:
    """The placeholders the event lists for its text, as (start, end, entity), in order; an entry that
    does not sit on a placeholder of the text, or overlaps one before it, is left out."""
    listed = data.get(UPSTREAM_REDACTIONS)
    found = []
    for item in listed if isinstance(listed, list) else []:
        if not isinstance(item, dict):
            continue
        start, end, entity = item.get("start"), item.get("end"), item.get("entity")
        if type(start) is not int or type(end) is not int or not isinstance(entity, str):
            continue  # bool is an int: type(), not isinstance
        if 0 <= start < end <= len(text) and PLACEHOLDER_SHAPE.fullmatch(text, start, end):
            found.append((start, end, entity))
    kept: list[tuple[int, int, str]] = []
    for start, end, entity in sorted(found):
        if not kept or start >= kept[-1][1]:
            kept.append((start, end, entity))
    return kept


def _redacted(data: dict[str, Any], text: str, redact: Redact) -> tuple[str, tuple[dict[str, Any], ...]]:
    """The text redacted around the placeholders the event lists, and where all placeholders are."""
    pieces: list[str] = []
    spans: list[dict[str, Any]] = []
    length = 0

    def add(segment: str, entity: str | None = None) -> None:
        nonlocal length
        if entity is not None:  # a listed placeholder, kept as it is
            spans.append({"entity": entity, "start": length, "end": length + len(segment)})
        elif segment:
            redaction = redact(segment)
            spans.extend(
                {**s.as_dict(), "start": s.start + length, "end": s.end + length} for s in redaction.spans
            )
            segment = redaction.text
        pieces.append(segment)
        length += len(segment)

    cursor = 0
    for start, end, entity in _listed_placeholders(data, text):
        add(text[cursor:start])
        add(text[start:end], entity)
        cursor = end
    add(text[cursor:])
    return "".join(pieces), tuple(spans)


def utterance(event: BrokerEvent, redact: Redact) -> Utterance | None:
    data = event.data
    text = data.get("text") if data else None
    if data is None or not isinstance(text, str) or not text.strip():
        return None
    # JSON may carry unpaired surrogates ("\\ud800"): neither the model nor PostgreSQL accepts them
    text = text.encode("utf-8", "replace").decode("utf-8")
    if event.type == "user":
        if event_metadata(data).get(IS_EXTERNAL):
            return None  # Rasa's trigger_intent (answer_pending): a replay, not the customer's words
        parsed = parsed_intent(data)
        redacted, spans = _redacted(data, text, redact)
        return Utterance(
            event,
            Sender.CUSTOMER,
            redacted,
            _event_time(data),
            parsed.name,
            parsed.confidence,
            data.get("input_channel") if isinstance(data.get("input_channel"), str) else None,
            spans,
        )
    if event.type == "bot":
        metadata = event_metadata(data)
        if metadata.get(AGENT_REPLY) or metadata.get("utter_action") == AGENT_ECHO_RESPONSE:
            return None
        redacted, spans = _redacted(data, text, redact)
        return Utterance(
            event,
            Sender.BOT,
            redacted,
            _event_time(data),
            redactions=spans,
            form_failures=form_failures(data),
        )
    return None


def tier_set(event: BrokerEvent) -> TierSet | None:
    if event.type != "slot" or event.data is None or event.data.get("name") != TIER_SLOT:
        return None
    return TierSet(event, event.data.get("value"), _event_time(event.data))


def customer_ref_set(event: BrokerEvent) -> CustomerRefSet | None:
    """The reference the bot set; a value of another shape (or the slot cleared) is skipped: a stored
    reference is never replaced by something that is not one."""
    if event.type != "slot" or event.data is None or event.data.get("name") != CUSTOMER_REF_SLOT:
        return None
    value = event.data.get("value")
    if not isinstance(value, str) or not CUSTOMER_REF_SHAPE.fullmatch(value):
        return None
    return CustomerRefSet(event, value, _event_time(event.data))


Item = Utterance | TierSet | CustomerRefSet


def read_events(events: list[BrokerEvent], redact: Redact) -> tuple[list[Item], int]:
    """The batch's items in event order (a tier set before a message counts in that message's
    decision) and how many events were skipped."""
    items: list[Item] = []
    for event in events:
        item = utterance(event, redact) or tier_set(event) or customer_ref_set(event)
        if item is not None:
            items.append(item)
    return items, len(events) - len(items)
