"""Slot validation for the provider forms: identity (email + a card's last four digits) and references."""

from abc import ABCMeta, abstractmethod
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions.parsing import extract_email, extract_last_four, extract_reference, looks_like_full_card_number
from actions.provider_access import ProviderUnavailable, provider
from actions.sealing import slot, unseal

ASK_EMAIL_AGAIN = (
    "That doesn't look like an email address. Please type the full address, like name@example.com."
)
FULL_CARD_NUMBER_WARNING = (
    "Please never share your full card number, not even with us. I only need the last four digits."
)
ASK_LAST_FOUR_AGAIN = "I need exactly the last four digits of your card, for example 4242."
NO_MATCH_PREFIX = "I couldn't match a card ending in"
NO_MATCH = NO_MATCH_PREFIX + " {last_four} to the email {email}. Let's try again, or ask to talk to a person."
# Four digits are easy to guess: after this many mismatches in a session no more cards are checked.
MAX_IDENTITY_MISMATCHES = 3
IDENTITY_LOCKED = (
    "For your security I can't check any more cards in this chat. A member of our team can help: just ask "
    "to talk to a person."
)
ASK_REFERENCE_AGAIN = {
    "TRF": "That doesn't look like a transfer reference: it's TRF- followed by 6 digits, like TRF-100245. "
    "You'll find it on the transfer in the app under Payments.",
    "RFD": "That doesn't look like a refund reference: it's RFD- followed by 6 digits, like RFD-200311. "
    "It's in the merchant's refund confirmation.",
}


class IdentityFormValidation(FormValidationAction, metaclass=ABCMeta):
    """Shared by every provider form: checks the email format, then that the card belongs to that customer
    (whose tier it then sets: Clearline's triage weighs it)."""

    @abstractmethod
    def name(self) -> str: ...

    def validate_customer_email(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        # a value read back from Rasa's store is sealed (bot/actions/sealing.py): it was checked then
        plain = unseal(slot_value)
        email = extract_email(str(plain)) if plain is not None else None
        if email is None:
            dispatcher.utter_message(text=ASK_EMAIL_AGAIN)
        return {"customer_email": email}

    def validate_card_last_four(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(slot_value)
        if looks_like_full_card_number(text):
            dispatcher.utter_message(text=FULL_CARD_NUMBER_WARNING)
            return {"card_last_four": None}
        last_four = extract_last_four(text)
        if last_four is None:
            dispatcher.utter_message(text=ASK_LAST_FOUR_AGAIN)
            return {"card_last_four": None}
        mismatches = identity_mismatches(tracker)
        if mismatches >= MAX_IDENTITY_MISMATCHES:
            dispatcher.utter_message(text=IDENTITY_LOCKED)
            return {"customer_email": None, "card_last_four": None}
        email = slot(tracker, "customer_email")  # sealed in Rasa's stores
        if not email:  # unset, or sealed under a key since changed: the form asks for it again
            return {"customer_email": None, "card_last_four": None}
        try:
            with provider(dispatcher) as repo:
                customer = repo.verify_customer(email, last_four)
                tier = repo.tier_of(customer) if customer is not None else None
        except ProviderUnavailable:
            return {"card_last_four": None}
        if customer is None:
            if mismatches + 1 >= MAX_IDENTITY_MISMATCHES:
                dispatcher.utter_message(text=IDENTITY_LOCKED)
            else:
                dispatcher.utter_message(text=NO_MATCH.format(last_four=last_four, email=email))
            return {"customer_email": None, "card_last_four": None}
        return {"card_last_four": last_four} | ({"customer_tier": tier} if tier is not None else {})


def identity_mismatches(tracker: Tracker) -> int:
    """Mismatched email + card checks in the current session, counted from what the bot told the customer
    (the tracker keeps it; no extra slot, so the count cannot be reset by the conversation)."""
    count = 0
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            break
        if event.get("event") != "bot":
            continue
        text = event.get("text") or ""
        if text == IDENTITY_LOCKED:
            return MAX_IDENTITY_MISMATCHES
        count += text.startswith(NO_MATCH_PREFIX)
    return count


def _validate_reference(prefix: str, slot: str, slot_value: Any, dispatcher: CollectingDispatcher) -> dict:
    reference = extract_reference(str(slot_value), prefix)
    if reference is None:
        dispatcher.utter_message(text=ASK_REFERENCE_AGAIN[prefix])
    return {slot: reference}


class ValidateCardStatusForm(IdentityFormValidation):
    def name(self) -> str:
        return "validate_card_status_form"


class ValidateFreezeCardForm(IdentityFormValidation):
    def name(self) -> str:
        return "validate_freeze_card_form"


class ValidateTransferStatusForm(IdentityFormValidation):
    def name(self) -> str:
        return "validate_transfer_status_form"

    def validate_transfer_reference(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _validate_reference("TRF", "transfer_reference", slot_value, dispatcher)


class ValidateRefundStatusForm(IdentityFormValidation):
    def name(self) -> str:
        return "validate_refund_status_form"

    def validate_refund_reference(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return _validate_reference("RFD", "refund_reference", slot_value, dispatcher)
