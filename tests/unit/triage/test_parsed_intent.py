"""Reading Rasa's NLU result off a user event (``parsed_intent``): the broker's JSON is not trusted."""

from __future__ import annotations

from typing import Any

import pytest

from triage.benchmarks.rasa_events import user_event
from triage.rasa.events import ParsedIntent, parsed_intent


def test_a_well_formed_user_event() -> None:
    event = user_event("my card has not arrived", intent="card_arrival", confidence=0.87)
    event["parse_data"]["entities"] = [{"entity": "card", "value": "visa"}]
    assert parsed_intent(event) == ParsedIntent("card_arrival", 0.87, [{"entity": "card", "value": "visa"}])


@pytest.mark.parametrize(
    "parse_data",
    [
        None,
        "card_arrival",
        [],
        {},
        {"intent": None, "entities": None},
        {"intent": "card_arrival", "entities": "card"},
        {"intent": {"name": "", "confidence": "high"}},
        {"intent": {"name": 7, "confidence": True}},
        {"intent": {"name": None, "confidence": None}, "entities": {"entity": "card"}},
    ],
)
def test_malformed_parse_data_gives_no_intent_and_no_entities(parse_data: Any) -> None:
    assert parsed_intent({"event": "user", "parse_data": parse_data}) == ParsedIntent(None, None, [])


def test_an_integer_confidence_is_a_float() -> None:
    parsed = parsed_intent({"parse_data": {"intent": {"name": "greet", "confidence": 1}}})
    assert parsed == ParsedIntent("greet", 1.0, []) and isinstance(parsed.confidence, float)
