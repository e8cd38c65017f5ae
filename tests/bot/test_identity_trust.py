"""A sender id identifies a customer only on channels that vouch for it (outside demo mode)."""

import pytest
from actions.identity import ActionIdentifyCustomer, ActionSessionStart
from rasa_sdk.events import ActionExecuted, SessionStarted

from tests.bot.conftest import ANY_REF, make_tracker, run_action

CARRY_OVER = {"session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": True}}


def identified(events: list[dict]) -> dict:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARLINE_DEMO", "false")
    monkeypatch.setenv("CLEARLINE_PII_KEY", "a-production-key")
    monkeypatch.delenv("CLEARLINE_IDENTITY_CHANNELS", raising=False)


@pytest.mark.parametrize("channel", ["socketio", "rest", None])
def test_a_client_chosen_sender_id_identifies_nobody(provider_url: str, production: None, channel) -> None:
    tracker = make_tracker("demo-anna", intent="card_arrival", channel=channel)
    events, messages = run_action(ActionIdentifyCustomer(), tracker)
    assert identified(events) == {} and messages == []


def test_a_vouched_channel_identifies_the_sender(provider_url: str, production: None) -> None:
    tracker = make_tracker("demo-anna", intent="card_arrival", channel="telegram")
    events, _ = run_action(ActionIdentifyCustomer(), tracker)
    assert identified(events) == {
        "customer_email": "anna.smith@example.com",
        "card_last_four": "4242",
        "customer_ref": ANY_REF,
        "customer_tier": "premium",
    }


def test_a_new_conversation_starts_unidentified_outside_demo_mode(
    provider_url: str, production: None
) -> None:
    events, _ = run_action(ActionSessionStart(), make_tracker("demo-anna", channel=None), CARRY_OVER)
    assert events == [SessionStarted(), ActionExecuted("action_listen")]
    # a later session of a Telegram conversation: the channel is known from its last message
    events, _ = run_action(ActionSessionStart(), make_tracker("demo-anna", channel="telegram"), CARRY_OVER)
    assert identified(events)["customer_tier"] == "premium"


def test_demo_mode_trusts_every_channel(provider_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARLINE_DEMO", "true")
    events, _ = run_action(ActionSessionStart(), make_tracker("demo-anna", channel=None), CARRY_OVER)
    assert identified(events)["customer_tier"] == "premium"


def test_the_channel_list_can_be_configured(provider_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLEARLINE_DEMO", "false")
    monkeypatch.setenv("CLEARLINE_PII_KEY", "a-production-key")
    monkeypatch.setenv("CLEARLINE_IDENTITY_CHANNELS", "twilio, slack")
    twilio = make_tracker("demo-anna", intent="card_arrival", channel="twilio")
    telegram = make_tracker("demo-anna", intent="card_arrival", channel="telegram")
    assert identified(run_action(ActionIdentifyCustomer(), twilio)[0])["customer_tier"] == "premium"
    assert identified(run_action(ActionIdentifyCustomer(), telegram)[0]) == {}


def test_without_a_key_outside_demo_mode_the_customer_is_identified_but_not_linked(
    provider_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARLINE_DEMO", "false")
    monkeypatch.delenv("CLEARLINE_PII_KEY", raising=False)
    tracker = make_tracker("demo-anna", intent="card_arrival", channel="telegram")
    slots = identified(run_action(ActionIdentifyCustomer(), tracker)[0])
    assert slots["customer_tier"] == "premium" and "customer_ref" not in slots


def test_the_same_customer_gets_the_same_reference_and_another_key_another(
    provider_url: str, production: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    anna = make_tracker("demo-anna", intent="card_arrival", channel="telegram")
    ben = make_tracker("demo-ben", intent="card_arrival", channel="telegram")
    first = identified(run_action(ActionIdentifyCustomer(), anna)[0])["customer_ref"]
    assert identified(run_action(ActionIdentifyCustomer(), anna)[0])["customer_ref"] == first
    assert identified(run_action(ActionIdentifyCustomer(), ben)[0])["customer_ref"] != first
    monkeypatch.setenv("CLEARLINE_PII_KEY", "another-key")
    assert identified(run_action(ActionIdentifyCustomer(), anna)[0])["customer_ref"] != first
