"""Hand the conversation to a person through Clearline (rules in data/rules/handoff.yml).

On success Clearline pauses the conversation and sends `utter_handoff_notice` itself, so this action only
confirms in one short line (`utter_handoff_confirmed`, in the customer's language where the domain has
it). When Clearline cannot be reached or refuses, the customer is told honestly and
given another way to reach support; the conversation goes on with the bot.
"""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.clearline_client import request_handoff
from actions.settings import get_settings

# Responses of domain/handoff.yml: Rasa picks the variant of the customer's language (customer_language).
CONFIRMATION = "utter_handoff_confirmed"
UNAVAILABLE = "utter_handoff_unavailable"


def handoff_reason(tracker: Tracker) -> str:
    """`customer_request` if asked directly, `fallback_offer_accepted` after accepting the offer."""
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    return "customer_request" if intent == "request_human" else "fallback_offer_accepted"


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        settings = get_settings()
        result = await request_handoff(
            settings.api_url,
            settings.triage_token,
            conversation_id=tracker.sender_id,
            reason=handoff_reason(tracker),
            intent=(tracker.latest_message.get("intent") or {}).get("name"),
            timeout_s=settings.handoff_timeout_s,
        )
        dispatcher.utter_message(response=CONFIRMATION if result.ok else UNAVAILABLE)
        return []
