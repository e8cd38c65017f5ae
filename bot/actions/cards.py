"""Card flows: delivery status and freezing a lost, stolen or compromised card."""

import datetime as dt
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions.formatting import day
from actions.provider_access import ProviderUnavailable, forget_identity, provider, verified_customer
from actions.provider_db import Card, CardStatus

NOTHING_IN_DELIVERY = (
    "I can't see any card on its way to you: your cards ending {cards} are already with you. To order a new "
    "card, open the app and go to Cards > Order card."
)


def delivery_message(card: Card, today: dt.date) -> str:
    if card.status == CardStatus.ORDERED:
        return f"Your card ending {card.last_four} has been ordered and will be sent within 2 business days."
    expected = card.expected_by
    sent = f"Your card ending {card.last_four} was sent on {day(card.dispatched_on)}"
    if expected is not None and expected < today:
        return (
            f"{sent} and should have arrived by {day(expected)}. As it's late, I can connect you with a "
            "person "
            "to cancel it and send a replacement: just ask."
        )
    return f"{sent} and should arrive by {day(expected)}." if expected else f"{sent}."


class ActionCardDeliveryStatus(Action):
    def name(self) -> str:
        return "action_card_delivery_status"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        try:
            with provider(dispatcher) as repo:
                customer = verified_customer(repo, tracker, dispatcher)
                if customer is None:
                    return forget_identity()
                cards = repo.cards_of(customer)
                in_delivery = [
                    card for card in cards if card.status in (CardStatus.ORDERED, CardStatus.SHIPPED)
                ]
                if in_delivery:
                    for card in in_delivery:
                        dispatcher.utter_message(text=delivery_message(card, dt.date.today()))
                else:
                    digits = ", ".join(card.last_four for card in cards)
                    dispatcher.utter_message(text=NOTHING_IN_DELIVERY.format(cards=digits))
        except ProviderUnavailable:
            pass
        return []


class ActionFreezeCard(Action):
    def name(self) -> str:
        return "action_freeze_card"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        last_four = tracker.get_slot("card_last_four") or ""
        try:
            with provider(dispatcher) as repo:
                customer = verified_customer(repo, tracker, dispatcher)
                card = repo.card(customer, last_four) if customer is not None else None
                if card is None:
                    return forget_identity()
                if repo.freeze(card):
                    dispatcher.utter_message(
                        text=f"Done: your card ending {last_four} is frozen, so no new payments or "
                        "withdrawals "
                        "can be made with it. If you find it, unfreeze it in the app under Cards; if not, "
                        "order a replacement there."
                    )
                else:
                    dispatcher.utter_message(
                        text=f"Your card ending {last_four} was already frozen, so it can't be used. You can "
                        "order a replacement in the app under Cards > Replace card."
                    )
        except ProviderUnavailable:
            pass
        return []
