"""Identify the customer from the conversation's sender id (demo mapping) before a provider form runs."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.provider_access import ProviderUnavailable, provider

# Freezing acts on one particular card, so its digits are always asked for, never assumed.
FREEZE_INTENTS = {"lost_or_stolen_card", "compromised_card"}


class ActionIdentifyCustomer(Action):
    def name(self) -> str:
        return "action_identify_customer"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        events: list[dict[str, Any]] = []
        if tracker.get_slot("customer_email") is None:
            try:
                with provider(dispatcher) as repo:
                    customer = repo.customer_for_sender(tracker.sender_id)
                    if customer is not None and customer.cards:
                        events = [
                            SlotSet("customer_email", customer.email),
                            SlotSet("card_last_four", customer.cards[0].last_four),
                        ]
            except ProviderUnavailable:
                return []
        if intent in FREEZE_INTENTS:
            events.append(SlotSet("card_last_four", None))
        return events
