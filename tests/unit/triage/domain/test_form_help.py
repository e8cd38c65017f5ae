"""Forms that listen, on the policy's side: the bot's ``form_help`` mark (triage.rasa.events.form_failures)
and the ``form_failures`` factor (triage.domain.form_help) it feeds. No database."""

from __future__ import annotations

from typing import Any

import pytest

from triage.benchmarks.rasa_events import bot_event, user_event
from triage.domain.policy import PolicyInput, parse_policy
from triage.errors import PolicyError
from triage.rasa.events import form_failures

from ..policies import pinned_policy, shipped_policy_data


def marked(help_: Any) -> dict[str, Any]:
    event = bot_event("Sorry this isn't working...", utter_action="utter_form_offer_person")
    event["metadata"]["clearline"] = {"form_help": help_}
    return event


def test_the_bots_mark_gives_the_failed_attempts() -> None:
    help_ = {"form": "card_status_form", "slot": "customer_email", "failed_attempts": 2, "offer": True}
    assert form_failures(marked(help_)) == 2


@pytest.mark.parametrize(
    "help_", [None, "2", {}, {"failed_attempts": "2"}, {"failed_attempts": True}, {"failed_attempts": -1}]
)
def test_a_missing_or_malformed_mark_counts_nothing(help_: Any) -> None:
    assert form_failures(marked(help_)) is None


def test_only_the_bots_own_events_are_read() -> None:
    """A customer's client fills user metadata: a mark there is never believed."""
    event = user_event("hi")
    event["metadata"] = {"clearline": {"form_help": {"failed_attempts": 5}}}
    assert form_failures(event) is None
    assert form_failures(bot_event("What's the email address on your account?")) is None


def test_the_second_failed_attempt_adds_its_points_once() -> None:
    policy = pinned_policy()
    stuck = policy.evaluate(PolicyInput(latest_stress=0.7, form_failures=2))
    (factor,) = [f for f in stuck.factors if f.factor == "form_failures"]
    assert factor.contribution == 15 and factor.value == 2
    assert factor.text == "2 failed answers in a form -> +15"
    assert stuck.escalate and stuck.priority == 35 + 15  # stress 0.7 * 50 (pinned): 35, under the bar alone
    more = policy.evaluate(PolicyInput(latest_stress=0.7, form_failures=5))
    assert more.priority == stuck.priority  # a fixed amount: the offer is already made


def test_one_failed_attempt_or_a_calm_customer_is_not_escalated() -> None:
    policy = pinned_policy()
    once = policy.evaluate(PolicyInput(latest_stress=0.6, form_failures=1))
    assert all(f.factor != "form_failures" for f in once.factors)
    calm = policy.evaluate(PolicyInput(latest_stress=0.05, form_failures=3))
    assert not calm.escalate and calm.priority == 15


def test_a_policy_without_the_factor_weighs_nothing_and_a_bad_one_is_refused() -> None:
    data = shipped_policy_data()
    del data["factors"]["form_failures"]
    policy = parse_policy(data)
    assert policy.evaluate(PolicyInput(latest_stress=0.0, form_failures=9)).priority == 0
    data["factors"]["form_failures"] = {"min_count": 0, "points": 15}
    with pytest.raises(PolicyError, match="form_failures.min_count"):
        parse_policy(data)
