from pathlib import Path

import yaml
from actions.provider_access import RECORDS_UNAVAILABLE
from actions.validation import (
    ASK_EMAIL_AGAIN,
    ASK_LAST_FOUR_AGAIN,
    ASK_REFERENCE_AGAIN,
    FULL_CARD_NUMBER_WARNING,
    ValidateFreezeCardForm,
    ValidateRefundStatusForm,
    ValidateTransferStatusForm,
)
from rasa_sdk.executor import CollectingDispatcher

from tests.bot.conftest import BOT_DIR, make_tracker, run_action, slots_set


def bot_domain() -> dict:
    """The real domain (bot/domain/*.yml merged) as the action server receives it."""
    domain: dict = {"slots": {}, "forms": {}}
    for path in sorted(Path(BOT_DIR / "domain").glob("*.yml")):
        part = yaml.safe_load(path.read_text())
        domain["slots"].update(part.get("slots", {}))
        domain["forms"].update(part.get("forms", {}))
    return domain


def validate(method, value, tracker=None) -> tuple[dict, list[str]]:
    dispatcher = CollectingDispatcher()
    result = method(value, dispatcher, tracker or make_tracker(), {})
    return result, [message["text"] for message in dispatcher.messages]


def test_email_is_taken_from_the_sentence_or_asked_again() -> None:
    form = ValidateTransferStatusForm()
    assert validate(form.validate_customer_email, "it's Anna.Smith@example.com") == (
        {"customer_email": "anna.smith@example.com"},
        [],
    )
    assert validate(form.validate_customer_email, "anna smith") == (
        {"customer_email": None},
        [ASK_EMAIL_AGAIN],
    )


def test_card_digits_are_checked_against_the_customer(provider_url: str) -> None:
    form = ValidateFreezeCardForm()
    tracker = make_tracker(slots={"customer_email": "anna.smith@example.com"})
    assert validate(form.validate_card_last_four, "ends in 1881", tracker) == ({"card_last_four": "1881"}, [])
    result, messages = validate(form.validate_card_last_four, "5521", tracker)
    assert result == {"customer_email": None, "card_last_four": None}
    assert messages == [
        "I couldn't match a card ending in 5521 to the email anna.smith@example.com. Let's try again, "
        "or ask to talk to a person."
    ]


def test_bad_card_digits_are_asked_again(provider_url: str) -> None:
    form = ValidateFreezeCardForm()
    tracker = make_tracker(slots={"customer_email": "anna.smith@example.com"})
    assert validate(form.validate_card_last_four, "no idea", tracker) == (
        {"card_last_four": None},
        [ASK_LAST_FOUR_AGAIN],
    )
    assert validate(form.validate_card_last_four, "4111 1111 1111 1881", tracker) == (
        {"card_last_four": None},
        [FULL_CARD_NUMBER_WARNING],
    )


def test_card_check_with_the_database_down(broken_provider: str) -> None:
    tracker = make_tracker(slots={"customer_email": "anna.smith@example.com"})
    result, messages = validate(ValidateFreezeCardForm().validate_card_last_four, "1881", tracker)
    assert result == {"card_last_four": None}
    assert messages == [RECORDS_UNAVAILABLE]


def test_references_are_normalised_or_asked_again() -> None:
    transfer, refund = ValidateTransferStatusForm(), ValidateRefundStatusForm()
    assert validate(transfer.validate_transfer_reference, "ref trf100245") == (
        {"transfer_reference": "TRF-100245"},
        [],
    )
    assert validate(transfer.validate_transfer_reference, "RFD-200311") == (
        {"transfer_reference": None},
        [ASK_REFERENCE_AGAIN["TRF"]],
    )
    assert validate(refund.validate_refund_reference, "rfd-200311") == (
        {"refund_reference": "RFD-200311"},
        [],
    )


def test_form_validation_runs_through_the_sdk_with_the_real_domain(provider_url: str) -> None:
    """The SDK calls validate_<slot> for slots set since the last user message (wiring check)."""
    tracker = make_tracker(
        slots={"customer_email": "anna.smith@example.com", "transfer_reference": "the ref is trf-100245"},
        active_loop="transfer_status_form",
        requested_slot="transfer_reference",
    )
    tracker.events.append({"event": "slot", "name": "transfer_reference", "value": "the ref is trf-100245"})
    events, messages = run_action(ValidateTransferStatusForm(), tracker, bot_domain())
    assert slots_set(events)["transfer_reference"] == "TRF-100245"
    assert messages == []
