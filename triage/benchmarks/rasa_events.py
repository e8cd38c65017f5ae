"""Rasa-shaped broker events (as Rasa 3.6's SQL event broker writes them), for the benchmark and tests."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Connection

from triage.worker.broker import events_table


def user_event(
    text: str,
    intent: str = "card_arrival",
    confidence: float = 0.9,
    timestamp: float | None = None,
    channel: str = "socketio",
) -> dict[str, Any]:
    """A ``user`` event with NLU parse data, as ``UserUttered.as_dict()`` serializes it."""
    return {
        "event": "user",
        "timestamp": time.time() if timestamp is None else timestamp,
        "metadata": {},
        "text": text,
        "parse_data": {
            "intent": {"name": intent, "confidence": confidence},
            "entities": [],
            "text": text,
            "message_id": f"m{time.monotonic_ns()}",
            "metadata": {},
            "intent_ranking": [{"name": intent, "confidence": confidence}],
        },
        "input_channel": channel,
        "message_id": f"m{time.monotonic_ns()}",
    }


def bot_event(text: str, utter_action: str = "utter_greet", timestamp: float | None = None) -> dict[str, Any]:
    return {
        "event": "bot",
        "timestamp": time.time() if timestamp is None else timestamp,
        "metadata": {"utter_action": utter_action},
        "text": text,
        "data": {
            "elements": None,
            "quick_replies": None,
            "buttons": None,
            "attachment": None,
            "image": None,
            "custom": None,
        },
    }


def slot_event(name: str, value: Any, timestamp: float | None = None) -> dict[str, Any]:
    """A ``slot`` event, as ``SlotSet.as_dict()`` serializes it (e.g. ``customer_tier`` from the actions)."""
    return {
        "event": "slot",
        "timestamp": time.time() if timestamp is None else timestamp,
        "name": name,
        "value": value,
    }


def action_event(name: str = "action_listen") -> dict[str, Any]:
    return {"event": "action", "timestamp": time.time(), "name": name, "policy": None, "confidence": 1.0}


def write_events(conn: Connection, rows: list[tuple[str, dict[str, Any]]]) -> list[int]:
    """Insert (sender_id, event) rows like Rasa's SQLEventBroker; return their ids."""
    ids = []
    for sender_id, event in rows:
        result = conn.execute(insert(events_table).values(sender_id=sender_id, data=json.dumps(event)))
        key = result.inserted_primary_key
        if key is None:
            raise RuntimeError("the events table returned no id")
        ids.append(int(key[0]))
    return ids
