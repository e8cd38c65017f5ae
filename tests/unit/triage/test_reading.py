"""Reading Rasa's broker events into what the worker acts on (no database, no model)."""

from __future__ import annotations

from datetime import UTC, datetime

from triage.benchmarks.rasa_events import action_event, bot_event, slot_event, user_event
from triage.rasa.events import AGENT_REPLY
from triage.storage.db import Sender
from triage.worker.broker import BrokerEvent
from triage.worker.reading import TierSet, Utterance, read_events


def events(*datas: dict | None) -> list[BrokerEvent]:
    return [BrokerEvent(i + 1, "c1", data) for i, data in enumerate(datas)]


def test_utterances_and_tiers_in_event_order_everything_else_skipped() -> None:
    items, skipped = read_events(
        events(
            slot_event("customer_tier", "vip", timestamp=10.0),
            user_event("my card ann@example.com", intent="card_arrival", timestamp=11.0),
            action_event(),
            bot_event("It is on its way.", timestamp=12.0),
            slot_event("email", "ann@example.com"),
            None,  # a row that held no JSON object
        ),
        redact=lambda text: text.replace("ann@example.com", "<EMAIL>"),
    )
    assert skipped == 3  # the action, the other slot and the row without JSON
    tier, said, answered = items
    assert isinstance(tier, TierSet) and tier.value == "vip"
    assert isinstance(said, Utterance) and (said.sender, said.text, said.intent) == (
        Sender.CUSTOMER,
        "my card <EMAIL>",
        "card_arrival",
    )
    assert said.at == datetime.fromtimestamp(11.0, UTC)
    assert isinstance(answered, Utterance) and answered.sender == Sender.BOT


def test_clearlines_own_echoes_rasas_replays_and_empty_texts_are_not_utterances() -> None:
    echo = {**bot_event("Ann here"), "metadata": {AGENT_REPLY: True}}
    replay = {**user_event("where is my card"), "metadata": {"is_external": True}}
    blank = user_event("   ")
    items, skipped = read_events(events(echo, replay, blank), redact=str)
    assert items == [] and skipped == 3


def test_text_that_is_not_valid_unicode_is_made_storable() -> None:
    items, _ = read_events(events(user_event("bad \ud800 surrogate")), redact=str)
    assert isinstance(items[0], Utterance) and items[0].text == "bad ? surrogate"
