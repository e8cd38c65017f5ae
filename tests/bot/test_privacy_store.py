"""bot/privacy_store.py and bot/actions/sealing.py: nothing personal reaches Rasa's tracker store or event
broker, and the bot still reads back what it needs next turn."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import rasa_patches
from actions.sealing import PREFIX, SealingKeyMissing, pii_secret, seal, unseal
from privacy_store import RedactingSQLTrackerStore, redact_event
from rasa.core.brokers.sql import SQLEventBroker
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import text

EMAIL = "anna.smith@example.com"
CARD = "4111 1111 1111 1111"
PHONE = "+44 20 7946 0958"
BOT_DIR = Path(__file__).resolve().parents[2] / "bot"
RAW_VALUES = (EMAIL, CARD, "4111111111111111", PHONE, "7946 0958")

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, inform]
entities: [email]
slots:
  customer_email:
    type: text
    mappings: [{type: custom}]
  card_last_four:
    type: text
    mappings: [{type: custom}]
responses:
  utter_greet: [{text: "Hello!"}]
"""
)


def _user_message() -> UserUttered:
    text_ = f"my email is {EMAIL} and my card {CARD}, call {PHONE}"
    start = text_.index(EMAIL)
    return UserUttered(
        text_,
        {"name": "inform", "confidence": 0.9},
        [{"entity": "email", "value": EMAIL, "start": start, "end": start + len(EMAIL)}],
        metadata={"note": f"typed by {EMAIL}"},
    )


def _turns() -> list[list[Any]]:
    return [
        [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")],
        [_user_message(), SlotSet("customer_email", EMAIL), SlotSet("card_last_four", CARD)],
        [
            BotUttered(
                f"I couldn't match a card ending in 1111 to the email {EMAIL}.", {"custom": {"to": EMAIL}}
            )
        ],
        [SlotSet("card_last_four", "1111"), ActionExecuted("action_listen")],
    ]


def test_an_event_is_redacted_and_its_input_left_alone() -> None:
    event = _user_message().as_dict()
    before = json.dumps(event, sort_keys=True)
    redacted = redact_event(event)
    assert json.dumps(event, sort_keys=True) == before
    assert redacted["text"] == "my email is <EMAIL> and my card <CARD_NUMBER>, call <PHONE>"
    assert redacted["parse_data"]["text"] == redacted["text"]
    assert redacted["parse_data"]["entities"][0]["value"] == "<EMAIL>"
    assert redacted["parse_data"]["intent"] == {"name": "inform", "confidence": 0.9}
    assert redacted["metadata"] == {"note": "typed by <EMAIL>"}
    assert not any(raw in json.dumps(redacted) for raw in RAW_VALUES)
    # where the placeholders are, for the worker to store with the message (never read from the text)
    spans = redacted["clearline_redactions"]
    assert [(s["entity"], redacted["text"][s["start"] : s["end"]]) for s in spans] == [
        ("EMAIL_ADDRESS", "<EMAIL>"),
        ("CREDIT_CARD", "<CARD_NUMBER>"),
        ("PHONE_NUMBER", "<PHONE>"),
    ]


def test_placeholders_a_customer_typed_are_not_listed_and_a_forged_list_is_replaced() -> None:
    event = {"event": "user", "text": "I typed <EMAIL> myself", "clearline_redactions": [{"entity": "X"}]}
    assert redact_event(event)["clearline_redactions"] == []
    bot = redact_event({"event": "bot", "text": None})
    assert bot["clearline_redactions"] == [] and bot["text"] is None


def test_sealed_slots_open_again_and_other_slots_are_redacted() -> None:
    email = redact_event({"event": "slot", "name": "customer_email", "value": EMAIL})
    assert email["value"].startswith(PREFIX) and EMAIL not in email["value"]
    assert unseal(email["value"]) == EMAIL
    assert redact_event(email) == email  # sealing twice changes nothing
    card = redact_event({"event": "slot", "name": "card_last_four", "value": f"it's {CARD}"})
    assert card["value"] == "it's <CARD_NUMBER>"
    assert redact_event({"event": "slot", "name": "customer_email", "value": None})["value"] is None
    assert redact_event({"event": "action", "name": "action_listen"}) == {
        "event": "action",
        "name": "action_listen",
    }


def test_a_sealed_value_opens_only_with_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARLINE_PII_KEY", "one key")
    sealed = seal(EMAIL)
    assert unseal(sealed) == EMAIL
    assert unseal(sealed[:-4] + "AAAA") is None  # tampered
    monkeypatch.setenv("CLEARLINE_PII_KEY", "another key")
    assert unseal(sealed) is None
    assert unseal("plain@example.com") == "plain@example.com"  # stored before sealing existed


def test_outside_demo_mode_the_key_must_be_set() -> None:
    with pytest.raises(SealingKeyMissing, match="CLEARLINE_PII_KEY"):
        pii_secret({"CLEARLINE_DEMO": "false"})
    assert pii_secret({"CLEARLINE_DEMO": "false", "CLEARLINE_PII_KEY": "k"}) == "k"
    assert pii_secret({}) == "demo-only-secret-change-me"


def _save_conversation(folder: Path) -> tuple[RedactingSQLTrackerStore, SQLEventBroker]:
    broker = SQLEventBroker(db=str(folder / "events.db"))
    store = RedactingSQLTrackerStore(DOMAIN, db=str(folder / "tracker.db"), event_broker=broker)
    tracker = DialogueStateTracker("anna", DOMAIN.slots)
    for turn in _turns():
        for event in turn:
            tracker.update(event)
        asyncio.run(store.save(tracker))
    return store, broker


def _rows(engine: Any) -> list[dict[str, Any]]:
    with engine.connect() as connection:
        return [json.loads(row[0]) for row in connection.execute(text("SELECT data FROM events ORDER BY id"))]


@pytest.mark.parametrize("patched", [False, True], ids=["stock Rasa", "Clearline's patches"])
def test_nothing_raw_in_the_tracker_store_or_the_broker(
    tmp_path: Path, restore_stock: None, patched: bool
) -> None:
    if patched:
        rasa_patches.apply()
    store, broker = _save_conversation(tmp_path)
    stored, published = _rows(store.engine), _rows(broker.engine)
    # 9 events, and the session's action_listen written twice: Rasa counts stored events from the session
    # start, which this tracker (built by hand, not retrieved) has one event before; stock Rasa does the same
    assert len(stored) == len(published) == 10
    assert [event["event"] for event in stored] == [event["event"] for event in published]
    for database in ("tracker.db", "events.db"):
        for path in tmp_path.glob(database + "*"):  # the file and SQLite's write-ahead log
            content = path.read_bytes()
            assert not any(raw.encode() in content for raw in RAW_VALUES), path
    user = next(event for event in published if event["event"] == "user")
    assert user["text"] == "my email is <EMAIL> and my card <CARD_NUMBER>, call <PHONE>"
    assert user["sender_id"] == "anna"

    tracker = asyncio.run(store.retrieve("anna"))
    assert tracker is not None
    assert unseal(tracker.get_slot("customer_email")) == EMAIL  # the identity check still has it
    assert tracker.get_slot("card_last_four") == "1111"
    assert tracker.latest_message.text.startswith("my email is <EMAIL>")


def test_the_configured_tracker_store_is_this_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rasa falls back to an in-memory store, with a warning only, when a custom class does not load."""
    from rasa.core.tracker_store import create_tracker_store
    from rasa.utils.endpoints import read_endpoint_config

    monkeypatch.setenv("CLEARLINE_RASA_TRACKER_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    monkeypatch.setenv("CLEARLINE_EVENTS_URL", f"sqlite:///{tmp_path / 'events.db'}")
    monkeypatch.setenv("CLEARLINE_ACTION_URL", "http://127.0.0.1:5055/webhook")
    config = read_endpoint_config(str(BOT_DIR / "endpoints.yml"), "tracker_store")
    store = create_tracker_store(config, DOMAIN)
    assert isinstance(getattr(store, "_tracker_store", store), RedactingSQLTrackerStore)


def test_serve_refuses_to_start_without_a_key_outside_demo_mode(tmp_path: Path) -> None:
    environment = {**os.environ, "CLEARLINE_DEMO": "false", "CLEARLINE_RASA_TOKEN": "a-real-token"}
    environment.pop("CLEARLINE_PII_KEY", None)
    environment["CLEARLINE_RASA_TRACKER_URL"] = f"sqlite:///{tmp_path / 'tracker.db'}"
    environment["CLEARLINE_EVENTS_URL"] = f"sqlite:///{tmp_path / 'events.db'}"
    result = subprocess.run(
        [sys.executable, str(BOT_DIR / "serve.py"), "--port", "1"],
        env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode != 0
    assert "set CLEARLINE_PII_KEY" in result.stderr
