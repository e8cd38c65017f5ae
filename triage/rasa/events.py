"""The shape of Rasa's events as Clearline reads them (from the event broker and the tracker) and the
marks Clearline puts on the events it sends. The broker's JSON is not trusted: every reader here
tolerates missing or mistyped fields."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

# Metadata of the bot events that carry an agent's words: the worker, reading them back from Rasa's event
# broker, skips them, because the api stored them as the agent's message when the agent sent them.
AGENT_REPLY = "clearline_agent_reply"
# Clearline's structural marker on the bot messages it sends, which the web chat reads (never the text):
# {"clearline": {"handoff": "waiting" | "agent" | "ended"}}; bot/channels/web_chat.py passes it on.
CLEARLINE_MARKER = "clearline"
# Under the same key, the bot's mark on its messages inside a provider form (bot/actions/form_listening.py):
# {"clearline": {"form_help": {"form", "slot", "failed_attempts", "reason", "offer"}}}
FORM_HELP = "form_help"
# Rasa's mark on the user events it makes itself (trigger_intent, reminders): not the customer's words
IS_EXTERNAL = "is_external"


def event_metadata(event: Mapping[str, Any]) -> dict[str, Any]:
    """A Rasa event's metadata, or ``{}`` when it has none or it is not an object."""
    metadata = event.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def form_failures(event: Mapping[str, Any]) -> int | None:
    """The customer's failed attempts in the bot's current form, from a bot event's ``form_help`` mark;
    ``None`` when the event has none or it is malformed (the broker's JSON is not trusted)."""
    if event.get("event") != "bot":
        return None
    mark = event_metadata(event).get(CLEARLINE_MARKER)
    help_ = mark.get(FORM_HELP) if isinstance(mark, dict) else None
    count = help_.get("failed_attempts") if isinstance(help_, dict) else None
    return count if type(count) is int and count >= 0 else None  # bool is an int: type(), not isinstance


@dataclass(frozen=True)
class ParsedIntent:
    """What Rasa's NLU made of a user event (its ``parse_data``), with malformed parts left out."""

    name: str | None
    confidence: float | None
    entities: list[Any]


def parsed_intent(event: Mapping[str, Any]) -> ParsedIntent:
    """The intent name, its confidence and the entities of a Rasa user event; ``None``/``[]`` where
    ``parse_data`` lacks them or holds the wrong types (the broker's JSON is not trusted)."""
    parse = event.get("parse_data")
    parse = parse if isinstance(parse, dict) else {}
    intent = parse.get("intent")
    intent = intent if isinstance(intent, dict) else {}
    name, confidence, entities = intent.get("name"), intent.get("confidence"), parse.get("entities")
    return ParsedIntent(
        name if isinstance(name, str) and name else None,
        float(confidence)
        if isinstance(confidence, int | float) and not isinstance(confidence, bool)
        else None,
        entities if isinstance(entities, list) else [],
    )


def unanswered_after_resume(events: Sequence[dict[str, Any]], since: float) -> dict[str, Any] | None:
    """The customer's last message that Rasa logged while still paused, if it came at or after
    ``since`` and so no agent saw it: above all the one sent in the moment between an agent's resolve
    (``since``) and the ``resume`` reaching Rasa. ``None`` when there is none, when the bot is paused
    again, or when Rasa has logged a user message since the resume (it answered that one itself, or this
    was already triggered): so answering it is safe to retry.

    Messages from before ``since`` are not picked up: the agent saw them and chose to resolve.
    """
    resumed_at = max((i for i, e in enumerate(events) if e.get("event") == "resume"), default=None)
    if resumed_at is None:
        return None
    if any(e.get("event") in ("user", "pause") for e in events[resumed_at + 1 :]):
        return None
    for event in reversed(events[:resumed_at]):
        kind = event.get("event")
        if kind in ("bot", "pause"):
            return None
        if kind == "user" and not event_metadata(event).get(IS_EXTERNAL):
            stamp = event.get("timestamp")
            return event if isinstance(stamp, int | float) and stamp >= since else None
    return None
