"""The customer's rating of the help they got (domain/csat.yml): asked after the bot's goodbye, taken only
while a question is pending (the ``csat_asked`` slot says what it is about: a resolved hand-off, whose
question the worker sent, or the bot's own conversation) and passed on to Clearline, which keeps it."""

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.clearline_client import post_csat
from actions.settings import get_settings

# the number alone or with a scale ("4", "4/5", "4 out of 5", "4 stars", "I'd give it a 4")
_SCALE = re.compile(r"(/\s*5|(out\s+)?of\s+5)\b", re.IGNORECASE)
_NUMBER = re.compile(r"\d+(?:[.,]\d+)?%?")


def rating_of(entities: list[dict[str, Any]], text: str | None) -> int | None:
    """The rating a message gives: the button's ``rating`` entity, else the one number 1-5 in the text
    (a scale's "/5" or "out of 5" aside). None when there is none or it is ambiguous."""
    for entity in entities:
        if entity.get("entity") == "rating":
            try:
                value = int(str(entity.get("value")).strip())
            except ValueError:
                return None
            return value if 1 <= value <= 5 else None
    if not text:
        return None
    numbers = _NUMBER.findall(_SCALE.sub(" ", text))
    if len(numbers) != 1 or numbers[0] not in {"1", "2", "3", "4", "5"}:
        return None  # none, several ("3 or 4"), a fraction, a percentage or out of range
    return int(numbers[0])


ASKED = "csat_asked"
ABOUT_THE_BOT = "bot"


class ActionAskCsat(Action):
    """After the bot's goodbye: ask for a rating of the bot's help, unless a question (the worker's after
    a hand-off, or an earlier goodbye's) is still waiting for its answer."""

    def name(self) -> str:
        return "action_ask_csat"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if tracker.get_slot(ASKED):
            return []
        dispatcher.utter_message(response="utter_ask_csat")
        return [SlotSet(ASKED, ABOUT_THE_BOT)]


class ActionRecordCsat(Action):
    def name(self) -> str:
        return "action_record_csat"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        about = tracker.get_slot(ASKED)
        if not about:  # a lone number nobody asked for is not a rating
            dispatcher.utter_message(response="utter_please_rephrase")
            return []
        message = tracker.latest_message or {}
        rating = rating_of(message.get("entities") or [], message.get("text"))
        if rating is None:
            dispatcher.utter_message(response="utter_csat_invalid")
            return []
        settings = get_settings()
        status = await post_csat(
            settings.api_url,
            settings.triage_token,
            conversation_id=tracker.sender_id,
            rating=rating,
            about=str(about),
            channel=tracker.get_latest_input_channel(),
            timeout_s=settings.handoff_timeout_s,
        )
        stored = status in (200, 201)
        dispatcher.utter_message(response="utter_csat_thanks" if stored else "utter_csat_not_saved")
        # Clearline kept it or refused it for good (4xx): the question is answered; down or failing
        # (no answer, 5xx): the customer may try again
        answered = status is not None and status < 500
        return [SlotSet(ASKED, None)] if answered else []
