"""action_session_start: Rasa's session start plus the sender's identity and tier, from a real provider DB."""

from actions.identity import ActionSessionStart
from rasa_sdk.events import ActionExecuted, SessionStarted, SlotSet

from tests.bot.conftest import ANY_REF, make_tracker, run_action

CARRY_OVER = {"session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True}}
NO_CARRY_OVER = {"session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": False}}
PREVIOUS = {"refund_reference": "RFD-200311"}  # a slot left from the previous session
CARRIED = SlotSet("refund_reference", "RFD-200311")


def test_known_sender_starts_with_identity_and_tier_after_the_carried_slots(provider_url: str) -> None:
    events, messages = run_action(ActionSessionStart(), make_tracker("demo-ben", slots=PREVIOUS), CARRY_OVER)
    assert events == [
        SessionStarted(),
        CARRIED,
        SlotSet("customer_email", "ben.jones@example.org"),
        SlotSet("card_last_four", "5521"),
        SlotSet("customer_ref", ANY_REF),
        SlotSet("customer_tier", "vip"),
        ActionExecuted("action_listen"),
    ]
    assert messages == []


def test_slots_are_not_carried_over_when_the_session_config_says_so(provider_url: str) -> None:
    events, _ = run_action(ActionSessionStart(), make_tracker("demo-anna", slots=PREVIOUS), NO_CARRY_OVER)
    assert events == [
        SessionStarted(),
        SlotSet("customer_email", "anna.smith@example.com"),
        SlotSet("card_last_four", "4242"),
        SlotSet("customer_ref", ANY_REF),
        SlotSet("customer_tier", "premium"),
        ActionExecuted("action_listen"),
    ]


def test_the_identity_looked_up_now_wins_over_a_carried_tier(provider_url: str) -> None:
    tracker = make_tracker("demo-anna", slots={"customer_tier": "standard"})
    events, _ = run_action(ActionSessionStart(), tracker, CARRY_OVER)
    tiers = [event["value"] for event in events if event.get("name") == "customer_tier"]
    assert tiers == ["standard", "premium"]  # applied in order: premium is what the session holds


def test_unknown_sender_starts_a_plain_session(provider_url: str) -> None:
    events, messages = run_action(ActionSessionStart(), make_tracker("web-999"), CARRY_OVER)
    assert events == [SessionStarted(), ActionExecuted("action_listen")]
    assert messages == []


def test_the_session_starts_without_identity_when_the_provider_is_down(broken_provider: str) -> None:
    events, messages = run_action(ActionSessionStart(), make_tracker("demo-anna", slots=PREVIOUS), CARRY_OVER)
    assert events == [SessionStarted(), CARRIED, ActionExecuted("action_listen")]
    assert messages == []  # the customer asked for nothing yet: no "can't reach our records"


def test_a_database_from_before_tiers_starts_the_session_without_a_tier(legacy_provider: str) -> None:
    events, messages = run_action(ActionSessionStart(), make_tracker("demo-anna"), CARRY_OVER)
    assert events == [
        SessionStarted(),
        SlotSet("customer_email", "anna.smith@example.com"),
        SlotSet("card_last_four", "4242"),
        SlotSet("customer_ref", ANY_REF),
        ActionExecuted("action_listen"),
    ]
    assert messages == []


def test_without_a_domain_slots_are_carried_over_as_rasa_does_by_default(provider_url: str) -> None:
    events, _ = run_action(ActionSessionStart(), make_tracker("web-999", slots=PREVIOUS), {})
    assert events == [SessionStarted(), CARRIED, ActionExecuted("action_listen")]
