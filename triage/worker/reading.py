"""Rasa's broker events -> what the worker acts on: customer and bot utterances (redacted) and the
customer's tier. Everything else (actions, other slots, Clearline's own echoes) is skipped."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from triage.rasa.events import AGENT_REPLY, IS_EXTERNAL, event_metadata, parsed_intent
from triage.storage.db import Sender, utcnow
from triage.worker.broker import BrokerEvent

# the bot's slot for the customer's tier (bot/domain/core.yml), set by the action server
TIER_SLOT = "customer_tier"
# Rasa's bot events that echo an agent's words, which are already stored as agent messages: marked with
# AGENT_REPLY (triage/rasa/events.py), or, from relays before that mark, uttered with this response
AGENT_ECHO_RESPONSE = "utter_agent_message"


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


@dataclass(frozen=True)
class TierSet:
    """A ``customer_tier`` slot event: what the bot knows of the customer's tier from now on."""

    event: BrokerEvent
    value: Any  # as Rasa sent it; checked against the policy's tiers when applied
    at: datetime


def _event_time(data: dict[str, Any]) -> datetime:
    stamp = data.get("timestamp")
    if isinstance(stamp, int | float):
        return datetime.fromtimestamp(stamp, UTC)
    return utcnow()


def utterance(event: BrokerEvent, redact: Callable[[str], str]) -> Utterance | None:
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
        return Utterance(
            event,
            Sender.CUSTOMER,
            redact(text),
            _event_time(data),
            parsed.name,
            parsed.confidence,
            data.get("input_channel") if isinstance(data.get("input_channel"), str) else None,
        )
    if event.type == "bot":
        metadata = event_metadata(data)
        if metadata.get(AGENT_REPLY) or metadata.get("utter_action") == AGENT_ECHO_RESPONSE:
            return None
        return Utterance(event, Sender.BOT, redact(text), _event_time(data))
    return None


def tier_set(event: BrokerEvent) -> TierSet | None:
    if event.type != "slot" or event.data is None or event.data.get("name") != TIER_SLOT:
        return None
    return TierSet(event, event.data.get("value"), _event_time(event.data))


def read_events(
    events: list[BrokerEvent], redact: Callable[[str], str]
) -> tuple[list[Utterance | TierSet], int]:
    """The batch's items in event order (a tier set before a message counts in that message's
    decision) and how many events were skipped."""
    items: list[Utterance | TierSet] = []
    for event in events:
        item = utterance(event, redact) or tier_set(event)
        if item is not None:
            items.append(item)
    return items, len(events) - len(items)
