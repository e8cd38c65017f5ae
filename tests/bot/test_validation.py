from pathlib import Path

import yaml
from actions.provider_access import RECORDS_UNAVAILABLE
from actions.sealing import seal
from actions.validation import (
    ASK_EMAIL_AGAIN,
    ASK_LAST_FOUR_AGAIN,
    ASK_REFERENCE_AGAIN,
    FULL_CARD_NUMBER_WARNING,
    IDENTITY_LOCKED,
    NO_MATCH,
    ValidateCardStatusForm,
    ValidateFreezeCardForm,
    ValidateRefundStatusForm,
    ValidateTransferStatusForm,
)
from rasa_sdk.executor import CollectingDispatcher

from tests.bot.conftest import ANY_REF, BOT_DIR, make_tracker, run_action, slots_set


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
    assert validate(form.validate_card_last_four, "ends in 1881", tracker) == (
        {"card_last_four": "1881", "customer_ref": ANY_REF, "customer_tier": "premium"},
        [],
    )
    result, messages = validate(form.validate_card_last_four, "5521", tracker)
    assert result == {"customer_email": None, "card_last_four": None}
    assert messages == [
        "I couldn't match a card ending in 5521 to the email anna.smith@example.com. Let's try again, "
        "or ask to talk to a person."
    ]


def mismatch(last_four: str) -> dict:
    return {"event": "bot", "text": NO_MATCH.format(last_four=last_four, email="anna.smith@example.com")}


def test_the_third_mismatch_locks_card_checks_for_the_session(provider_url: str) -> None:
    check = ValidateFreezeCardForm().validate_card_last_four
    slots = {"customer_email": "anna.smith@example.com"}
    two_before = make_tracker(slots=slots, history=[mismatch("1111"), mismatch("2222")])
    result, messages = validate(check, "3333", two_before)
    assert result == {"customer_email": None, "card_last_four": None}
    assert messages == [IDENTITY_LOCKED]
    # once locked, even the right digits are not checked in this session
    locked = make_tracker(
        slots=slots, history=[mismatch("1111"), mismatch("2222"), {"event": "bot", "text": IDENTITY_LOCKED}]
    )
    assert validate(check, "1881", locked) == (
        {"customer_email": None, "card_last_four": None},
        [IDENTITY_LOCKED],
    )
    # a new session starts counting again
    new_session = make_tracker(
        slots=slots, history=[mismatch("1111"), mismatch("2222"), {"event": "session_started"}]
    )
    expected = {"card_last_four": "1881", "customer_ref": ANY_REF, "customer_tier": "premium"}
    assert validate(check, "1881", new_session)[0] == expected


def test_one_mismatch_still_lets_the_customer_try_again(provider_url: str) -> None:
    tracker = make_tracker(slots={"customer_email": "anna.smith@example.com"}, history=[mismatch("1111")])
    result, messages = validate(ValidateFreezeCardForm().validate_card_last_four, "2222", tracker)
    assert messages[0].startswith("I couldn't match a card ending in 2222")
    assert (
        validate(ValidateFreezeCardForm().validate_card_last_four, "1881", tracker)[0]["card_last_four"]
        == "1881"
    )


def test_a_customer_identified_by_email_and_card_gets_their_tier(provider_url: str) -> None:
    form = ValidateFreezeCardForm()
    carla = make_tracker(slots={"customer_email": "carla@example.net"})
    assert validate(form.validate_card_last_four, "0005", carla) == (
        {"card_last_four": "0005", "customer_ref": ANY_REF, "customer_tier": "standard"},
        [],
    )
    ben = make_tracker(slots={"customer_email": "ben.jones@example.org"})
    assert validate(form.validate_card_last_four, "7310", ben)[0]["customer_tier"] == "vip"


def test_the_email_is_read_back_sealed_from_rasas_store_and_still_matches(provider_url: str) -> None:
    form = ValidateFreezeCardForm()
    sealed = make_tracker(slots={"customer_email": seal("carla@example.net")})
    assert validate(form.validate_card_last_four, "0005", sealed) == (
        {"card_last_four": "0005", "customer_ref": ANY_REF, "customer_tier": "standard"},
        [],
    )
    unreadable = make_tracker(slots={"customer_email": seal("carla@example.net")[:-6] + "AAAAAA"})
    # asked again (the form's next question), never matched against nothing, not counted as a mismatch
    assert validate(form.validate_card_last_four, "0005", unreadable) == (
        {"customer_email": None, "card_last_four": None},
        [],
    )


def test_card_check_on_a_database_from_before_tiers_sets_no_tier(legacy_provider: str) -> None:
    tracker = make_tracker(slots={"customer_email": "anna.smith@example.com"})
    result = validate(ValidateFreezeCardForm().validate_card_last_four, "4242", tracker)
    assert result == ({"card_last_four": "4242", "customer_ref": ANY_REF}, [])


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


def run_form_validation(form, known: dict, form_name: str, slot: str, text: str) -> tuple[dict, list[str]]:
    """What the SDK makes of `text` just filled into `slot` of an active form (the real domain)."""
    tracker = make_tracker(slots={**known, slot: text}, active_loop=form_name, requested_slot=slot)
    tracker.events.append({"event": "slot", "name": slot, "value": text})
    events, messages = run_action(form, tracker, bot_domain())
    return slots_set(events), messages


def test_form_validation_runs_through_the_sdk_with_the_real_domain(provider_url: str) -> None:
    """The SDK calls validate_<slot> for slots set since the last user message (wiring check)."""
    slots, messages = run_form_validation(
        ValidateTransferStatusForm(),
        {"customer_email": "anna.smith@example.com"},
        "transfer_status_form",
        "transfer_reference",
        "the ref is trf-100245",
    )
    assert slots["transfer_reference"] == "TRF-100245"
    assert messages == []


def test_the_tier_reaches_the_tracker_through_the_sdk(provider_url: str) -> None:
    """The SDK turns validate_card_last_four's extra key into a slot event."""
    slots, messages = run_form_validation(
        ValidateCardStatusForm(),
        {"customer_email": "ben.jones@example.org"},
        "card_status_form",
        "card_last_four",
        "my card ends in 5521",
    )
    assert slots == {"card_last_four": "5521", "customer_ref": ANY_REF, "customer_tier": "vip"}
    assert messages == []


def test_a_sealed_email_from_an_earlier_turn_passes_its_check_again() -> None:
    """A form re-validates slots that are already set when it starts: the e-mail then arrives sealed."""
    form = ValidateCardStatusForm()
    assert validate(form.validate_customer_email, seal("anna.smith@example.com")) == (
        {"customer_email": "anna.smith@example.com"},
        [],
    )
    assert validate(form.validate_customer_email, seal("x@example.com")[:-6] + "AAAAAA") == (
        {"customer_email": None},
        [ASK_EMAIL_AGAIN],
    )
