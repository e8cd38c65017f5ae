from actions.cards import ActionCardDeliveryStatus, ActionFreezeCard
from actions.identity import ActionIdentifyCustomer
from actions.payments import ActionRefundStatus, ActionTransferStatus
from actions.provider_access import IDENTITY_LOST, RECORDS_UNAVAILABLE
from actions.provider_db import Card, CardStatus, Customer, session_scope
from sqlalchemy import select

from tests.bot.conftest import ANY_REF, make_tracker, run_action, slots_set

ANNA = {"customer_email": "anna.smith@example.com", "card_last_four": "4242"}


def test_known_sender_is_identified_from_the_provider_database(provider_url: str) -> None:
    events, messages = run_action(ActionIdentifyCustomer(), make_tracker("demo-anna", intent="card_arrival"))
    assert slots_set(events) == {**ANNA, "customer_ref": ANY_REF, "customer_tier": "premium"}
    assert messages == []
    events, _ = run_action(ActionIdentifyCustomer(), make_tracker("demo-ben", intent="card_arrival"))
    assert slots_set(events)["customer_tier"] == "vip"


def test_a_tier_changed_in_the_provider_database_is_what_identify_sets(provider_url: str) -> None:
    with session_scope(provider_url) as session:
        session.execute(select(Customer).where(Customer.sender_id == "demo-anna")).scalar_one().tier = "vip"
    events, _ = run_action(ActionIdentifyCustomer(), make_tracker("demo-anna", intent="card_arrival"))
    assert slots_set(events)["customer_tier"] == "vip"


def test_identify_on_a_database_from_before_tiers_still_identifies(legacy_provider: str) -> None:
    events, messages = run_action(ActionIdentifyCustomer(), make_tracker("demo-anna", intent="card_arrival"))
    assert slots_set(events) == {**ANNA, "customer_ref": ANY_REF}  # no tier: the database does not know it
    assert messages == []


def test_unknown_sender_is_left_to_the_form(provider_url: str) -> None:
    events, _ = run_action(ActionIdentifyCustomer(), make_tracker("web-999", intent="card_arrival"))
    assert events == []


def test_freezing_always_asks_which_card(provider_url: str) -> None:
    events, _ = run_action(ActionIdentifyCustomer(), make_tracker("demo-anna", intent="lost_or_stolen_card"))
    assert slots_set(events) == {
        "customer_email": "anna.smith@example.com",
        "card_last_four": None,
        "customer_ref": ANY_REF,
        "customer_tier": "premium",
    }


def test_identify_with_the_database_down_tells_the_customer(broken_provider: str) -> None:
    events, messages = run_action(ActionIdentifyCustomer(), make_tracker("demo-anna", intent="card_arrival"))
    assert events == []
    assert messages == [RECORDS_UNAVAILABLE]


def test_card_delivery_status_reports_the_card_on_its_way(provider_url: str) -> None:
    _, messages = run_action(ActionCardDeliveryStatus(), make_tracker(slots=ANNA))
    assert len(messages) == 1
    assert messages[0].startswith("Your card ending 1881 was sent on") and "should arrive by" in messages[0]


def test_card_delivery_status_when_nothing_is_in_delivery(provider_url: str) -> None:
    _, messages = run_action(
        ActionCardDeliveryStatus(),
        make_tracker(slots={"customer_email": "ben.jones@example.org", "card_last_four": "5521"}),
    )
    assert messages == [
        "I can't see any card on its way to you: your cards ending 5521, 7310 are already with you. "
        "To order a new card, open the app and go to Cards > Order card."
    ]


def test_card_delivery_status_for_an_ordered_card(provider_url: str) -> None:
    _, messages = run_action(
        ActionCardDeliveryStatus(),
        make_tracker(slots={"customer_email": "carla@example.net", "card_last_four": "0005"}),
    )
    assert messages == ["Your card ending 9034 has been ordered and will be sent within 2 business days."]


def test_submit_with_identity_that_no_longer_matches_starts_over(provider_url: str) -> None:
    events, messages = run_action(
        ActionCardDeliveryStatus(),
        make_tracker(
            slots={
                "customer_email": "anna.smith@example.com",
                "card_last_four": "5521",
                "customer_tier": "premium",
            }
        ),
    )
    assert messages == [IDENTITY_LOST]
    assert slots_set(events) == {"customer_email": None, "card_last_four": None, "customer_tier": None}


def test_freeze_card_freezes_it_in_the_database(provider_url: str) -> None:
    tracker = make_tracker(slots={"customer_email": "anna.smith@example.com", "card_last_four": "1881"})
    _, messages = run_action(ActionFreezeCard(), tracker)
    assert messages[0].startswith("Done: your card ending 1881 is frozen")
    with session_scope(provider_url) as session:
        statuses = {card.last_four: card.status for card in session.execute(select(Card)).scalars()}
    assert statuses["1881"] == CardStatus.FROZEN
    assert statuses["4242"] == CardStatus.ACTIVE
    _, again = run_action(ActionFreezeCard(), tracker)
    assert again[0].startswith("Your card ending 1881 was already frozen")


def test_freeze_with_the_database_down_says_so_and_keeps_slots(broken_provider: str) -> None:
    events, messages = run_action(ActionFreezeCard(), make_tracker(slots=ANNA))
    assert messages == [RECORDS_UNAVAILABLE]
    assert events == []


def test_transfer_status_for_each_outcome(provider_url: str) -> None:
    expected = {
        "TRF-100245": "Your transfer TRF-100245 of GBP 250.00 to J. Carter is pending and should arrive by",
        "TRF-100378": "Your transfer TRF-100378 of EUR 120.00 to M. Rossi failed: the recipient's bank",
        "TRF-100512": "Your transfer TRF-100512 of GBP 45.50 to L. Chen was completed on",
    }
    for reference, start in expected.items():
        events, messages = run_action(
            ActionTransferStatus(), make_tracker(slots={**ANNA, "transfer_reference": reference})
        )
        assert messages[0].startswith(start), messages
        assert slots_set(events) == {"transfer_reference": None}


def test_unknown_or_someone_elses_transfer_gets_a_clear_answer(provider_url: str) -> None:
    for reference in ("TRF-999999", "TRF-104511"):  # the second one is Ben's
        _, messages = run_action(
            ActionTransferStatus(), make_tracker(slots={**ANNA, "transfer_reference": reference})
        )
        assert messages[0].startswith(f"I can't find a transfer with reference {reference} on your account.")


def test_refund_status_for_each_outcome(provider_url: str) -> None:
    _, processing = run_action(
        ActionRefundStatus(), make_tracker(slots={**ANNA, "refund_reference": "RFD-200311"})
    )
    assert processing[0].startswith("Your refund RFD-200311 of GBP 189.99 from Skyline Air has been issued")
    _, done = run_action(ActionRefundStatus(), make_tracker(slots={**ANNA, "refund_reference": "RFD-200412"}))
    assert done[0].startswith(
        "Your refund RFD-200412 of GBP 24.99 from Bookworm Ltd was paid into your balance on"
    )
    ben = {
        "customer_email": "ben.jones@example.org",
        "card_last_four": "5521",
        "refund_reference": "RFD-200555",
    }
    _, rejected = run_action(ActionRefundStatus(), make_tracker(slots=ben))
    assert rejected == [
        "Your refund RFD-200555 of GBP 349.00 from GadgetHub didn't go through: the merchant withdrew the "
        "refund. Please contact GadgetHub about it."
    ]


def test_unknown_refund_gets_a_clear_answer(provider_url: str) -> None:
    events, messages = run_action(
        ActionRefundStatus(), make_tracker(slots={**ANNA, "refund_reference": "RFD-000001"})
    )
    assert messages[0].startswith("I can't find a refund with reference RFD-000001 on your account.")
    assert slots_set(events) == {"refund_reference": None}
