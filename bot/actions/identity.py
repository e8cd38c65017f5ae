"""Identify the customer from the conversation's sender id (demo mapping): at session start, and again before
a provider form runs. The tier slot is what Clearline's worker reads (docs/architecture.md)."""

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions.provider_access import ProviderUnavailable, provider
from actions.provider_db import Customer, ProviderRepository
from actions.sealing import CUSTOMER_REF_SLOT, customer_ref
from actions.settings import get_settings

# Freezing acts on one particular card, so its digits are always asked for, never assumed.
FREEZE_INTENTS = {"lost_or_stolen_card", "compromised_card"}


def tier_events(repo: ProviderRepository, customer: Customer) -> list[dict[str, Any]]:
    """The customer_ref slot (who this is, as a keyed hash: Clearline links their conversations by it) and
    the customer_tier slot, when the provider database knows the tier."""
    tier = repo.tier_of(customer)
    ref = customer_ref(customer.id)
    known = [] if ref is None else [SlotSet(CUSTOMER_REF_SLOT, ref)]
    return known if tier is None else [*known, SlotSet("customer_tier", tier)]


def sender_is_vouched_for(tracker: Tracker) -> bool:
    """Whether the conversation's channel authenticates its sender id (see settings.identity_channels).

    At the start of a new conversation no message has arrived yet, so the channel is unknown: only demo
    mode trusts it then; otherwise identification waits for action_identify_customer or the form."""
    channels = get_settings().identity_channels
    return channels is None or tracker.get_latest_input_channel() in channels


def sender_identity(repo: ProviderRepository, tracker: Tracker) -> list[dict[str, Any]]:
    """Slots for the customer the sender id maps to: email and first card (when they hold one), tier.
    Nothing when the channel does not vouch for the sender id."""
    if not sender_is_vouched_for(tracker):
        return []
    customer = repo.customer_for_sender(tracker.sender_id)
    if customer is None:
        return []
    events = []
    if customer.cards:
        events = [
            SlotSet("customer_email", customer.email),
            SlotSet("card_last_four", customer.cards[0].last_four),
        ]
    return events + tier_events(repo, customer)


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
                    events = sender_identity(repo, tracker)
            except ProviderUnavailable:
                return []
        if intent in FREEZE_INTENTS:
            events.append(SlotSet("card_last_four", None))
        return events


class ActionSessionStart(Action):
    """Rasa's session start (SessionStarted, slots carried over as session_config says, action_listen), plus
    the sender's identity, so a known customer's tier is set before their first message is scored.

    The lookup is silent: when the provider database is down the session starts without it.
    """

    def name(self) -> str:
        return "action_session_start"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        events: list[dict[str, Any]] = [SessionStarted()]
        # Rasa's default re-applies the previous session's slots: the same values, from the tracker's state.
        # Rasa sends the domain unless the action endpoint enables selective domain (then: Rasa's default).
        if domain.get("session_config", {}).get("carry_over_slots_to_new_session", True):
            events += [SlotSet(name, value) for name, value in tracker.slots.items() if value is not None]
        try:
            with provider(None) as repo:
                events += sender_identity(repo, tracker)
        except ProviderUnavailable:
            pass  # logged; the tier stays unknown (standard for Clearline)
        events.append(ActionExecuted("action_listen"))
        return events
