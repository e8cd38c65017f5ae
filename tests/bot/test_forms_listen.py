"""Forms that listen (bot/actions/form_listening.py, validation.py): a message inside a form that is not the
detail asked for is answered, escalated or offered a person, never just rejected as a bad value."""

import asyncio
from typing import Any

from actions import form_listening as listening
from actions.parsing import extract_last_four, looks_like_full_card_number, looks_like_phone_number
from actions.validation import (
    ASK_EMAIL_AGAIN,
    ASK_REFERENCE_AGAIN,
    IDENTITY_LOCKED,
    NOT_A_PHONE_NUMBER,
    OFFER_PERSON,
    SORRY_OFFER_PERSON,
    ValidateCardStatusForm,
    ValidateFreezeCardForm,
    ValidateRefundStatusForm,
    ValidateTransferStatusForm,
)
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from tests.bot.conftest import make_tracker, slots_set
from tests.bot.test_validation import bot_domain

ANNA = {"customer_email": "anna.smith@example.com"}


def bot(text: str, form: str | None = None, **help_: Any) -> dict[str, Any]:
    """A bot event as Rasa stores it; with ``form``, marked as the validation marks its messages."""
    event: dict[str, Any] = {"event": "bot", "text": text, "metadata": {}}
    if form is not None:
        defaults = {"slot": "customer_email", "failed_attempts": 1, "reason": "invalid", "offer": False}
        event["metadata"] = listening.marker(form, **{**defaults, **help_})
    return event


def user(text: str) -> dict[str, Any]:
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": "inform", "confidence": 0.9}}}


def form_tracker(
    form: str,
    slot: str,
    text: str,
    *,
    intent: str = "inform",
    confidence: float = 0.95,
    slots: dict[str, Any] | None = None,
    history: list[dict[str, Any]] | None = None,
) -> Tracker:
    """The tracker the action server gets when ``text`` answers the form's question for ``slot``: the form
    was activated, ``history`` followed, the customer wrote ``text``, and the form filled it into ``slot``."""
    activated = [{"event": "active_loop", "name": form}, *(history or [])]
    tracker = make_tracker(
        intent=intent,
        text=text,
        slots={**(slots or {}), slot: text},
        active_loop=form,
        requested_slot=slot,
        history=activated,
    )
    tracker.latest_message["intent"]["confidence"] = confidence
    tracker.events += [{"event": "action", "name": form}, {"event": "slot", "name": slot, "value": text}]
    return tracker


def run_form(action: Any, tracker: Tracker) -> tuple[list[dict], dict[str, Any], list[str]]:
    """Run the validation once: its events, the slots they set, and the messages (text or response name);
    the messages' form_help markers are in ``MARKS`` afterwards."""
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tracker, bot_domain()))
    MARKS[:] = [
        m[listening.MARKER][listening.FORM_HELP] for m in dispatcher.messages if listening.MARKER in m
    ]
    return events, slots_set(events), [m.get("text") or m.get("response") for m in dispatcher.messages]


MARKS: list[dict[str, Any]] = []


def rejected(events: list[dict]) -> list[str]:
    return [e["name"] for e in events if e.get("event") == "action_execution_rejected"]


def test_an_angry_message_in_the_email_question_is_not_called_a_bad_email() -> None:
    tracker = form_tracker(
        "card_status_form", "customer_email", "WHY DO YOU NEED THIS, I was charged TWICE!!!", confidence=0.3
    )
    events, slots, messages = run_form(ValidateCardStatusForm(), tracker)
    assert ASK_EMAIL_AGAIN not in messages
    assert messages[0] == SORRY_OFFER_PERSON  # sorry, and a person offered at once
    assert slots["customer_email"] is None and rejected(events) == []  # the form then asks again
    assert MARKS == [
        {
            "form": "card_status_form",
            "slot": "customer_email",
            "failed_attempts": 0,
            "reason": "upset",
            "offer": True,
        }
    ]


def test_profanity_from_the_policys_list_and_threats_count_as_upset() -> None:
    for text in ("this is fucking useless", "I'm closing my account", "I will complain to the ombudsman"):
        tracker = form_tracker("transfer_status_form", "transfer_reference", text, confidence=0.2)
        assert run_form(ValidateTransferStatusForm(), tracker)[2] == [SORRY_OFFER_PERSON], text


def test_an_upset_message_the_nlu_placed_with_confidence_is_still_offered_a_person() -> None:
    text = "I WAS CHARGED TWICE and nobody helps!!!"
    tracker = form_tracker("card_status_form", "customer_email", text, intent="transaction_charged_twice")
    events, _, messages = run_form(ValidateCardStatusForm(), tracker)
    assert messages == [SORRY_OFFER_PERSON] and rejected(events) == []


def test_a_different_request_rejects_the_form_so_the_rules_answer_it() -> None:
    tracker = form_tracker(
        "card_status_form",
        "customer_email",
        "I was charged twice for one coffee",
        intent="transaction_charged_twice",
    )
    events, slots, messages = run_form(ValidateCardStatusForm(), tracker)
    assert rejected(events) == ["card_status_form"]
    assert messages == []  # the intent's own rule answers
    assert slots["customer_email"] is None


def test_a_low_confidence_intent_is_an_attempt_at_the_detail() -> None:
    tracker = form_tracker(
        "card_status_form",
        "customer_email",
        "carla at example dot net",
        intent="edit_personal_details",
        confidence=0.3,
    )
    events, _, messages = run_form(ValidateCardStatusForm(), tracker)
    assert rejected(events) == [] and messages == [ASK_EMAIL_AGAIN]
    assert MARKS[0]["failed_attempts"] == 1


def test_the_detail_is_taken_whatever_else_the_message_says() -> None:
    tracker = form_tracker(
        "card_status_form",
        "customer_email",
        "IT IS anna.smith@example.com, HURRY UP!!!",
        intent="transaction_charged_twice",
    )
    events, slots, messages = run_form(ValidateCardStatusForm(), tracker)
    assert slots["customer_email"] == "anna.smith@example.com" and messages == [] and rejected(events) == []


def test_the_second_failed_attempt_offers_a_person_and_says_how_many() -> None:
    form = "transfer_status_form"
    first = bot(ASK_EMAIL_AGAIN, form, failed_attempts=1)
    tracker = form_tracker(form, "customer_email", "anna smith", history=[user("anna"), first])
    events, _, messages = run_form(ValidateTransferStatusForm(), tracker)
    assert messages == [ASK_EMAIL_AGAIN, OFFER_PERSON] and rejected(events) == []
    assert [m["failed_attempts"] for m in MARKS] == [2, 2]
    assert [m["offer"] for m in MARKS] == [False, True]


def test_yes_to_the_offer_rejects_the_form_for_the_hand_off_rule() -> None:
    form = "refund_status_form"
    offer = bot("(offer)", form, slot="refund_reference", failed_attempts=2, offer=True)
    tracker = form_tracker(
        form, "refund_reference", "yes please", intent="affirm", history=[user("x"), offer]
    )
    events, _, messages = run_form(ValidateRefundStatusForm(), tracker)
    assert rejected(events) == ["refund_status_form"] and messages == []


def test_no_to_the_offer_asks_again_quietly_and_counts_nothing() -> None:
    form = "refund_status_form"
    offer = bot("(offer)", form, slot="refund_reference", failed_attempts=2, offer=True)
    tracker = form_tracker(form, "refund_reference", "no thanks", intent="deny", history=[user("x"), offer])
    events, slots, messages = run_form(ValidateRefundStatusForm(), tracker)
    assert messages == [] and rejected(events) == [] and slots["refund_reference"] is None


def test_yes_without_an_open_offer_is_not_a_hand_off() -> None:
    form = "refund_status_form"
    # the offer was made two turns ago: the customer has written since, so it is no longer open
    offer = bot("(offer)", form, slot="refund_reference", failed_attempts=2, offer=True)
    history = [user("x"), offer, user("RFD-1"), bot(ASK_REFERENCE_AGAIN["RFD"], form, failed_attempts=3)]
    tracker = form_tracker(form, "refund_reference", "yes", intent="affirm", history=history)
    events, _, messages = run_form(ValidateRefundStatusForm(), tracker)
    assert rejected(events) == []
    assert messages == [ASK_REFERENCE_AGAIN["RFD"], OFFER_PERSON]  # a fourth failed attempt


def test_counting_starts_again_when_the_form_starts_again_and_ignores_other_forms() -> None:
    form = "card_status_form"
    old = bot(ASK_EMAIL_AGAIN, form, failed_attempts=5)
    other = bot(ASK_EMAIL_AGAIN, "freeze_card_form", failed_attempts=4)
    tracker = form_tracker(form, "customer_email", "anna", history=[user("a"), other])
    tracker.events.insert(0, old)  # before this activation of the form
    assert listening.failed_attempts(tracker, form) == 0
    assert run_form(ValidateCardStatusForm(), tracker)[2] == [ASK_EMAIL_AGAIN]


def test_a_phone_number_is_not_taken_for_a_cards_last_four(provider_url: str) -> None:
    tracker = form_tracker("freeze_card_form", "card_last_four", "+44 7700 900123", slots=ANNA)
    events, slots, messages = run_form(ValidateFreezeCardForm(), tracker)
    assert messages == [NOT_A_PHONE_NUMBER]  # never "I couldn't match a card ending in 7700"
    assert slots["card_last_four"] is None and slots.get("customer_email", "kept") == "kept"


def test_a_mismatch_is_a_failed_attempt_and_the_second_offers_a_person(provider_url: str) -> None:
    form = "card_status_form"
    first = bot("I couldn't match a card ending in 1111 ...", form, slot="card_last_four", reason="mismatch")
    tracker = form_tracker(form, "card_last_four", "2222", slots=ANNA, history=[user("1111"), first])
    _, _, messages = run_form(ValidateCardStatusForm(), tracker)
    assert messages[0].startswith("I couldn't match a card ending in 2222") and messages[1] == OFFER_PERSON


def test_the_lock_after_three_mismatches_offers_a_person_to_say_yes_to(provider_url: str) -> None:
    form = "card_status_form"
    mismatches = [
        bot(f"I couldn't match a card ending in {n} to the email x. Let's try again") for n in (1, 2)
    ]
    tracker = form_tracker(form, "card_last_four", "3333", slots=ANNA, history=mismatches)
    _, _, messages = run_form(ValidateCardStatusForm(), tracker)
    assert messages == [IDENTITY_LOCKED]
    assert MARKS[0]["offer"] is True


def test_a_value_prefilled_when_the_form_starts_is_checked_as_before() -> None:
    """Nothing was asked yet (no requested slot): the hint alone, no reading of the message."""
    dispatcher = CollectingDispatcher()
    tracker = form_tracker("card_status_form", "customer_email", "x", intent="card_arrival")
    tracker.slots["requested_slot"] = None
    result = ValidateCardStatusForm().validate_customer_email("not an email", dispatcher, tracker, {})
    assert result == {"customer_email": None}
    assert [m["text"] for m in dispatcher.messages] == [ASK_EMAIL_AGAIN]


def test_numbers_are_read_whole() -> None:
    assert extract_last_four("+44 7700 900123") is None and looks_like_phone_number("+44 7700 900123")
    assert extract_last_four("07700 900123") is None and looks_like_phone_number("07700900123")
    assert extract_last_four("it ends in 1881.") == "1881" and not looks_like_phone_number("1881")
    assert extract_last_four("card 4242, expires 12/27") == "4242"
    assert extract_last_four("1234 and 5678") is None  # two candidates: ambiguous
    assert looks_like_full_card_number("4111 1111 1111 1111")
    assert not looks_like_full_card_number("+44 (0)7700 900123")  # 13 digits, but a phone number


def test_a_slot_reset_to_nothing_is_not_judged() -> None:
    """A form that starts after another (a flow switched to) is given its unset slots: nothing was typed."""
    for form, method in (
        (ValidateFreezeCardForm(), "validate_card_last_four"),
        (ValidateFreezeCardForm(), "validate_customer_email"),
        (ValidateRefundStatusForm(), "validate_refund_reference"),
    ):
        dispatcher = CollectingDispatcher()
        tracker = form_tracker("freeze_card_form", "customer_email", "x")
        tracker.slots["requested_slot"] = None
        result = getattr(form, method)(None, dispatcher, tracker, {})
        assert list(result.values()) == [None] and dispatcher.messages == [], method
