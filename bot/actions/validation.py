"""Slot validation for the provider forms: identity (email + a card's last four digits) and references."""

from abc import ABCMeta, abstractmethod
from contextvars import ContextVar
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import ActionExecutionRejected
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

from actions import form_listening as listening
from actions.parsing import (
    extract_email,
    extract_last_four,
    extract_reference,
    looks_like_full_card_number,
    looks_like_phone_number,
)
from actions.provider_access import ProviderUnavailable, provider
from actions.sealing import CUSTOMER_REF_SLOT, customer_ref, slot, unseal

ASK_EMAIL_AGAIN = (
    "That doesn't look like an email address. Please type the full address, like name@example.com."
)
FULL_CARD_NUMBER_WARNING = (
    "Please never share your full card number, not even with us. I only need the last four digits."
)
ASK_LAST_FOUR_AGAIN = "I need exactly the last four digits of your card, for example 4242."
NOT_A_PHONE_NUMBER = (
    "That looks like a phone number or a longer number. I only need the last four digits of your card, "
    "for example 4242."
)
# domain responses (domain/forms_listen.yml): the offer of a person in a form, and the answer to an upset
# customer there
OFFER_PERSON = "utter_form_offer_person"
SORRY_OFFER_PERSON = "utter_form_upset_offer_person"
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


# set per run (each request is its own asyncio task): the form's execution is to be rejected, so that
# Rasa's rules answer the message instead (a different request, or a yes to the offer of a person)
_reject: ContextVar[list[bool] | None] = ContextVar("clearline_form_reject", default=None)


class ListeningFormValidation(FormValidationAction, metaclass=ABCMeta):
    """A form validation that listens (``actions.form_listening``): a message without the detail asked for
    is read first; only an attempt at the detail is told what was wrong, and the second failed attempt is
    offered a person. Every message the bot says here carries the structural ``form_help`` marker."""

    @abstractmethod
    def name(self) -> str: ...

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        flag: list[bool] = [False]
        token = _reject.set(flag)
        try:
            events = await super().run(dispatcher, tracker, domain)
        finally:
            _reject.reset(token)
        if flag[0]:
            events = [*events, ActionExecutionRejected(self.form_name())]
        return events

    def not_the_detail(
        self, slot_name: str, slot_value: Any, hint: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        """The message holds no valid ``slot_name``: reject the form for a different request or a yes to
        the offer, say sorry and offer a person to an upset customer, else count a failed attempt."""
        if slot_value is None:  # a slot reset (a form starting after another): no answer to judge
            return {slot_name: None}
        if tracker.get_slot("requested_slot") != slot_name:  # prefilled at activation: nothing was asked
            dispatcher.utter_message(text=hint)
            return {slot_name: None}
        form = self.form_name()
        turn = listening.read_turn(tracker, form)
        failed = listening.failed_attempts(tracker, form)
        if turn in (listening.REQUEST, listening.ACCEPT):
            flag = _reject.get()
            if flag is not None:
                flag[0] = True
        elif turn == listening.UPSET:
            mark = listening.marker(form, slot_name, failed, reason="upset", offer=True)
            dispatcher.utter_message(response=SORRY_OFFER_PERSON, **mark)
        elif turn == listening.ATTEMPT:
            self.failed_attempt(slot_name, hint, failed + 1, "invalid", dispatcher)
        return {slot_name: None}  # a no to the offer: the form asks its question again

    def failed_attempt(
        self, slot_name: str, hint: str, failed: int, reason: str, dispatcher: CollectingDispatcher
    ) -> None:
        """Say what was wrong (marked with the count); from the second failed attempt on, offer a person."""
        form = self.form_name()
        offer = failed >= listening.OFFER_AFTER_FAILURES
        dispatcher.utter_message(
            text=hint, **listening.marker(form, slot_name, failed, reason=reason, offer=False)
        )
        if offer:
            mark = listening.marker(form, slot_name, failed, reason=reason, offer=True)
            dispatcher.utter_message(response=OFFER_PERSON, **mark)


class IdentityFormValidation(ListeningFormValidation, metaclass=ABCMeta):
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
            return self.not_the_detail("customer_email", slot_value, ASK_EMAIL_AGAIN, dispatcher, tracker)
        return {"customer_email": email}

    def validate_card_last_four(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        text = str(slot_value)
        form = self.form_name()
        if looks_like_full_card_number(text):
            failed = listening.failed_attempts(tracker, form) + 1
            self.failed_attempt("card_last_four", FULL_CARD_NUMBER_WARNING, failed, "invalid", dispatcher)
            return {"card_last_four": None}
        last_four = extract_last_four(text)
        if last_four is None:
            hint = NOT_A_PHONE_NUMBER if looks_like_phone_number(text) else ASK_LAST_FOUR_AGAIN
            return self.not_the_detail("card_last_four", slot_value, hint, dispatcher, tracker)
        mismatches = identity_mismatches(tracker)
        if mismatches >= MAX_IDENTITY_MISMATCHES:
            failed = listening.failed_attempts(tracker, form)
            mark = listening.marker(form, "card_last_four", failed, reason="locked", offer=True)
            dispatcher.utter_message(text=IDENTITY_LOCKED, **mark)
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
            failed = listening.failed_attempts(tracker, form) + 1
            if mismatches + 1 >= MAX_IDENTITY_MISMATCHES:
                mark = listening.marker(form, "card_last_four", failed, reason="locked", offer=True)
                dispatcher.utter_message(text=IDENTITY_LOCKED, **mark)
            else:
                no_match = NO_MATCH.format(last_four=last_four, email=email)
                self.failed_attempt("card_last_four", no_match, failed, "mismatch", dispatcher)
            return {"customer_email": None, "card_last_four": None}
        known = {"card_last_four": last_four}
        if (ref := customer_ref(customer.id)) is not None:
            known[CUSTOMER_REF_SLOT] = ref
        return known | ({"customer_tier": tier} if tier is not None else {})

    def validate_reference(
        self, prefix: str, slot_name: str, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        reference = extract_reference(str(slot_value), prefix)
        if reference is None:
            return self.not_the_detail(
                slot_name, slot_value, ASK_REFERENCE_AGAIN[prefix], dispatcher, tracker
            )
        return {slot_name: reference}


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
        return self.validate_reference("TRF", "transfer_reference", slot_value, dispatcher, tracker)


class ValidateRefundStatusForm(IdentityFormValidation):
    def name(self) -> str:
        return "validate_refund_status_form"

    def validate_refund_reference(
        self, slot_value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return self.validate_reference("RFD", "refund_reference", slot_value, dispatcher, tracker)
