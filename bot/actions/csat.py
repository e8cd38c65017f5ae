"""The customer's rating of the help they got (domain/csat.yml): passed on to Clearline, which decides what
it rates (the hand-off just resolved, or the bot's own conversation) and keeps it."""

import re
from typing import Any

from rasa_sdk import Action, Tracker
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


class ActionRecordCsat(Action):
    def name(self) -> str:
        return "action_record_csat"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        message = tracker.latest_message or {}
        rating = rating_of(message.get("entities") or [], message.get("text"))
        if rating is None:
            dispatcher.utter_message(response="utter_csat_invalid")
            return []
        settings = get_settings()
        stored = await post_csat(
            settings.api_url,
            settings.triage_token,
            conversation_id=tracker.sender_id,
            rating=rating,
            channel=tracker.get_latest_input_channel(),
            timeout_s=settings.handoff_timeout_s,
        )
        dispatcher.utter_message(response="utter_csat_thanks" if stored else "utter_csat_not_saved")
        return []
