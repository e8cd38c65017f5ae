"""The rating action (bot/actions/csat.py) against a real HTTP server on loopback."""

import asyncio

import pytest
from actions.csat import ActionAskCsat, ActionRecordCsat, rating_of
from rasa_sdk.executor import CollectingDispatcher

from tests.bot.conftest import make_tracker
from tests.bot.test_handoff import run_against_clearline


@pytest.mark.parametrize(
    ("text", "rating"),
    [
        ("4", 4),
        ("4/5", 4),
        ("2 out of 5", 2),
        ("5 stars", 5),
        ("I'd give it a 3", 3),
        ("1, that was useless", 1),
        ("0", None),
        ("6", None),
        ("10", None),
        ("3 or 4", None),
        ("4.5", None),
        ("100%", None),
        ("great", None),
        ("", None),
    ],
)
def test_a_typed_rating_is_read_only_when_it_is_one_number_from_1_to_5(text: str, rating: int | None) -> None:
    assert rating_of([], text) == rating


def test_the_buttons_entity_wins_and_is_checked_too() -> None:
    assert rating_of([{"entity": "rating", "value": 5}], "/csat") == 5
    assert rating_of([{"entity": "rating", "value": "9"}], "4") is None
    assert rating_of([{"entity": "rating", "value": "<b>"}], None) is None


async def record_against(
    status: int | None, tracker, monkeypatch
) -> tuple[list[str], list[dict], list[dict]]:
    return await run_against_clearline(ActionRecordCsat(), "/api/v1/csat", status, tracker, monkeypatch)


ASKED_AFTER_HANDOFF = {"csat_asked": "escalation:12"}
CLEARED = [{"event": "slot", "timestamp": None, "name": "csat_asked", "value": None}]


def test_a_rating_is_passed_on_with_what_it_is_about_and_the_customer_thanked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tracker = make_tracker(
        "tg-42", intent="csat", text="4 out of 5", channel="telegram", slots=ASKED_AFTER_HANDOFF
    )
    messages, received, events = asyncio.run(record_against(201, tracker, monkeypatch))
    assert messages == ["utter_csat_thanks"]
    assert received == [
        {
            "auth": "Bearer test-token",
            "body": {
                "conversation_id": "tg-42",
                "rating": 4,
                "about": "escalation:12",
                "channel": "telegram",
            },
        }
    ]
    assert events == CLEARED  # the question is answered


@pytest.mark.parametrize(("status", "answered"), [(500, False), (None, False), (404, True), (409, True)])
def test_a_rating_clearline_did_not_keep_is_told_honestly(
    status: int | None, answered: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    tracker = make_tracker("web-1", intent="csat", text="5", slots={"csat_asked": "bot"})
    messages, received, events = asyncio.run(record_against(status, tracker, monkeypatch))
    assert messages == ["utter_csat_not_saved"]
    assert len(received) == (0 if status is None else 1)
    # refused for good: the question is over; down: the customer may try again
    assert events == (CLEARED if answered else [])


def test_a_message_that_is_no_rating_asks_again_and_sends_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    tracker = make_tracker("web-1", intent="csat", text="7 I guess", slots={"csat_asked": "bot"})
    messages, received, events = asyncio.run(record_against(201, tracker, monkeypatch))
    assert (messages, received, events) == (["utter_csat_invalid"], [], [])


def test_a_number_nobody_asked_for_is_not_a_rating(monkeypatch: pytest.MonkeyPatch) -> None:
    tracker = make_tracker("web-1", intent="csat", text="3")
    messages, received, events = asyncio.run(record_against(201, tracker, monkeypatch))
    assert (messages, received, events) == (["utter_please_rephrase"], [], [])


def test_goodbye_asks_about_the_bot_unless_a_question_is_pending() -> None:
    dispatcher = CollectingDispatcher()
    events = asyncio.run(ActionAskCsat().run(dispatcher, make_tracker(intent="goodbye"), {}))
    assert [m["response"] for m in dispatcher.messages] == ["utter_ask_csat"]
    assert events == [{"event": "slot", "timestamp": None, "name": "csat_asked", "value": "bot"}]
    pending = make_tracker(intent="goodbye", slots=ASKED_AFTER_HANDOFF)  # the worker asked after a hand-off
    dispatcher = CollectingDispatcher()
    assert asyncio.run(ActionAskCsat().run(dispatcher, pending, {})) == []
    assert dispatcher.messages == []
