"""Rasa's SQL tracker store, storing and publishing nothing personal: Clearline's redactor runs on every event
on its way into the tracker store and into the event broker (which the worker reads).

endpoints.yml names this class (`type: privacy_store.RedactingSQLTrackerStore`). Rasa silently falls back
to an in-memory store when a custom class does not import, so bot/serve.py imports this module before Rasa
starts: a missing dependency stops the server instead.

What is stored (see docs/privacy.md):
- customer and bot texts (also parse_data's text, entity values, metadata strings, bot message data):
  redacted with triage/redaction.py, the very file the worker uses (clearline_files.py loads it);
- slots in actions.sealing.SEALED_SLOTS (the e-mail the identity check needs again next turn): encrypted;
- other slot values: redacted (a card number typed where the form asked for its last four digits).
Rasa keeps the plain texts in memory for the turn it is handling, so the bot's flows and the channel's
replies are unchanged; what it reads back from the store next turn is the redacted form.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from rasa.core.tracker_store import SQLTrackerStore

from actions.sealing import SEALED_SLOTS, seal
from clearline_files import load

redaction = load("triage/redaction.py")


# Where the placeholders of a user's or the bot's text are, on the event itself (a key no channel can set:
# customers reach only metadata); the worker stores them with the message (triage/worker/reading.py).
REDACTIONS_KEY = "clearline_redactions"


@lru_cache(maxsize=8192)
def _redaction(text: str) -> tuple[str, tuple[tuple[str, int, int], ...]]:
    """Cached: bot responses repeat, and a text redacts the same way every time."""
    result = redaction.redact_with_spans(text)
    return str(result.text), tuple((span.entity, span.start, span.end) for span in result.spans)


def redact_text(text: str) -> str:
    return _redaction(text)[0]


def _spans(text: str) -> list[dict[str, Any]]:
    return [{"entity": entity, "start": start, "end": end} for entity, start, end in _redaction(text)[1]]


def redact_strings(value: Any) -> Any:
    """Every string inside a JSON-like value redacted; numbers, booleans and None as they are."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: redact_strings(item) for key, item in value.items()}
    if isinstance(value, list):
        return [redact_strings(item) for item in value]
    return value


def _redact_parse_data(parse_data: dict[str, Any]) -> dict[str, Any]:
    redacted = dict(parse_data)
    if isinstance(parse_data.get("text"), str):
        redacted["text"] = redact_text(parse_data["text"])
    if isinstance(parse_data.get("entities"), list):
        redacted["entities"] = [_redact_entity(entity) for entity in parse_data["entities"]]
    if "metadata" in parse_data:
        redacted["metadata"] = redact_strings(parse_data["metadata"])
    return redacted


def _redact_entity(entity: Any) -> Any:
    if not isinstance(entity, dict):
        return redact_strings(entity)
    redacted = dict(entity)
    if "value" in entity:
        redacted["value"] = redact_strings(entity["value"])
    return redacted


def _redact_slot(data: dict[str, Any], redacted: dict[str, Any]) -> None:
    if data.get("name") in SEALED_SLOTS:
        redacted["value"] = seal(data.get("value"))
    else:
        redacted["value"] = redact_strings(data.get("value"))


def redact_event(data: dict[str, Any]) -> dict[str, Any]:
    """An event's dict (``Event.as_dict()``) as Rasa may store and publish it. The input is not changed."""
    kind = data.get("event")
    redacted = dict(data)
    if kind in ("user", "bot"):
        # always set, so a value that came with the event is never taken for ours
        text = data.get("text")
        redacted["text"] = redact_text(text) if isinstance(text, str) else text
        redacted[REDACTIONS_KEY] = _spans(text) if isinstance(text, str) else []
    if kind == "user" and isinstance(data.get("parse_data"), dict):
        redacted["parse_data"] = _redact_parse_data(data["parse_data"])
    if kind == "bot" and "data" in data:
        redacted["data"] = redact_strings(data["data"])
    if kind == "slot":
        _redact_slot(data, redacted)
    if kind == "entities" and isinstance(data.get("entities"), list):
        redacted["entities"] = [_redact_entity(entity) for entity in data["entities"]]
    if "metadata" in data:
        redacted["metadata"] = redact_strings(data["metadata"])
    return redacted


class RedactedEvent:
    """An event whose ``as_dict`` is redacted; everything else is the event's own. Built for every event of
    a tracker on each save, so the redaction itself runs only for the events that are written."""

    __slots__ = ("_event",)

    def __init__(self, event: Any) -> None:
        self._event = event

    def as_dict(self) -> dict[str, Any]:
        return redact_event(self._event.as_dict())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._event, name)


class RedactedTracker:
    """What a tracker store's ``save`` reads of a tracker (its sender id and events), redacted."""

    def __init__(self, tracker: Any) -> None:
        self._tracker = tracker
        self.sender_id = tracker.sender_id
        self.events = [RedactedEvent(event) for event in tracker.events]

    def __getattr__(self, name: str) -> Any:
        return getattr(self._tracker, name)


class RedactingSQLTrackerStore(SQLTrackerStore):
    """SQLTrackerStore whose saved and published events pass through ``redact_event``."""

    async def save(self, tracker: Any) -> None:
        await super().save(RedactedTracker(tracker))
