"""Forms that listen through a real `rasa run` and the action server (the trained model: bot/check.sh trains
it, or CLEARLINE_BOT_MODEL): inside the identity form an upset message, a different request, a phone number
and two failed attempts are each answered as a good agent would, never just rejected as a bad e-mail."""

import pytest
import requests

from tests.bot import test_rasa_server as server
from tests.bot.test_rasa_server import TOKEN, broker_events, say

rasa_server = server.rasa_server  # the module's Rasa and action server (a fixture)

pytestmark = pytest.mark.rasa
EMAIL_QUESTION = "First I need to confirm it's you. What's the email address"
NOT_AN_EMAIL = "That doesn't look like an email address"


def marks(events_db, sender: str) -> list[dict]:
    """The form_help marks on the bot's messages, as the worker reads them from the event broker."""
    return [
        event["metadata"]["clearline"]["form_help"]
        for event in broker_events(events_db, sender)
        if event["event"] == "bot" and "form_help" in ((event.get("metadata") or {}).get("clearline") or {})
    ]


def active_loop(url: str, sender: str) -> str | None:
    response = requests.get(f"{url}/conversations/{sender}/tracker", params={"token": TOKEN}, timeout=30)
    response.raise_for_status()
    return (response.json().get("active_loop") or {}).get("name")


def start_card_form(url: str, sender: str) -> None:
    assert say(url, sender, "Has my new card been sent yet?")[-1].startswith(EMAIL_QUESTION)
    assert active_loop(url, sender) == "card_status_form"


def test_an_angry_message_in_the_identity_form_is_offered_a_person(rasa_server) -> None:
    url, events_db = rasa_server
    sender = "forms-angry"
    start_card_form(url, sender)
    replies = say(url, sender, "WHY DO YOU NEED MY EMAIL?? JUST SEND MY CARD!!!")
    assert not any(reply.startswith(NOT_AN_EMAIL) for reply in replies), replies
    assert replies[0].startswith("I'm sorry, I can see this is frustrating.")
    assert replies[-1].startswith(EMAIL_QUESTION)  # and the form carries on for whoever prefers it
    assert marks(events_db, sender) == [
        {
            "form": "card_status_form",
            "slot": "customer_email",
            "failed_attempts": 0,
            "reason": "upset",
            "offer": True,
        }
    ]
    # yes takes the offer: the hand-off is tried (nobody listens at Clearline's api here: told honestly)
    replies = say(url, sender, "yes please")
    assert replies[0].startswith("I'm sorry, I can't reach our support team right now"), replies
    assert active_loop(url, sender) is None


def test_two_failed_attempts_offer_a_person_and_say_how_many(rasa_server) -> None:
    url, events_db = rasa_server
    sender = "forms-twice"
    start_card_form(url, sender)
    assert say(url, sender, "anna smith")[0].startswith(NOT_AN_EMAIL)
    replies = say(url, sender, "my email is carla")
    assert replies[0].startswith(NOT_AN_EMAIL)
    assert replies[1].startswith("Sorry this isn't working. Would you like me to pass you to a person")
    assert [(m["failed_attempts"], m["offer"]) for m in marks(events_db, sender)] == [
        (1, False),
        (2, False),
        (2, True),
    ]
    # no: the form asks again, and the right address still works
    assert say(url, sender, "no thanks")[-1].startswith(EMAIL_QUESTION)
    assert say(url, sender, "carla@example.net")[-1].startswith("Thanks. What are the last four digits")


def test_a_phone_number_is_not_taken_for_the_cards_last_four_digits(rasa_server) -> None:
    url, _ = rasa_server
    sender = "forms-phone"
    start_card_form(url, sender)
    assert say(url, sender, "carla@example.net")[-1].startswith("Thanks. What are the last four digits")
    replies = say(url, sender, "+44 7700 900123")
    assert replies[0].startswith("That looks like a phone number"), replies
    assert not any("couldn't match a card ending in 7700" in reply for reply in replies)
    assert active_loop(url, sender) == "card_status_form"


def test_a_different_question_is_answered_then_the_form_asks_again(rasa_server) -> None:
    url, _ = rasa_server
    sender = "forms-question"
    start_card_form(url, sender)
    replies = say(url, sender, "How do I activate my card?")
    assert not any(reply.startswith(NOT_AN_EMAIL) for reply in replies), replies
    assert len(replies) == 2 and replies[-1].startswith(EMAIL_QUESTION)
    assert active_loop(url, sender) == "card_status_form"


def test_another_flow_asked_for_inside_a_form_switches_to_it(rasa_server) -> None:
    url, _ = rasa_server
    sender = "forms-switch"
    start_card_form(url, sender)
    replies = say(url, sender, "I lost my card, please block it")
    assert not any(reply.startswith(NOT_AN_EMAIL) for reply in replies), replies
    assert replies[-1].startswith(EMAIL_QUESTION)
    assert active_loop(url, sender) == "freeze_card_form"
