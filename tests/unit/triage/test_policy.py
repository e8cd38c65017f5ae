"""The triage policy: each factor, bands, queues, and YAML validation errors."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from triage.domain.policy import PolicyInput, load_policy, parse_policy, stress_rise
from triage.errors import PolicyError
from triage.settings import ROOT

from .policies import pinned_policy

POLICY_FILE = ROOT / "triage" / "policy.yaml"


@pytest.fixture(scope="module")
def raw() -> dict:
    return yaml.safe_load(POLICY_FILE.read_text())


@pytest.fixture(scope="module")
def policy():
    return pinned_policy()  # the shipped file with pinned weights: tuning it does not move these numbers


def test_the_shipped_policy_file_is_valid():
    shipped = load_policy(POLICY_FILE)
    assert shipped.version and 0 < shipped.config.escalate_at <= 100 and "cards" in shipped.config.queue_names


def factor(decision, name):
    return next((f for f in decision.factors if f.factor == name), None)


def test_calm_conversation_does_not_escalate(policy):
    decision = policy.evaluate(PolicyInput(latest_stress=0.1, stress_trajectory=[0.1]))
    assert not decision.escalate and decision.priority == 0 and decision.factors == []
    assert decision.band == "P4" and decision.queue == "general" and decision.policy_version == "test-policy"


def test_stress_factor_is_weight_times_stress_above_the_minimum(policy):
    decision = policy.evaluate(PolicyInput(latest_stress=0.91, stress_trajectory=[0.91]))
    f = factor(decision, "stress")
    assert (f.value, f.contribution, f.text) == (0.91, 45, "stress 0.91 -> +45")
    assert not decision.escalate  # 45 < escalate_at 50
    assert factor(policy.evaluate(PolicyInput(latest_stress=0.49)), "stress") is None


def test_trend_counts_a_rise_over_the_window(policy):
    decision = policy.evaluate(
        PolicyInput(latest_stress=0.7, stress_trajectory=[0.1, 0.1, 0.1, 0.5, 0.6, 0.7])
    )
    f = factor(decision, "trend")
    assert f.value == pytest.approx(0.5) and f.contribution == 20  # floor(40 * 0.5)
    flat = policy.evaluate(PolicyInput(latest_stress=0.6, stress_trajectory=[0.6, 0.6, 0.6, 0.6]))
    assert factor(flat, "trend") is None


def test_stress_rise_edge_cases():
    assert stress_rise([], 3) is None and stress_rise([0.9], 3) is None
    assert stress_rise([0.1, 0.5], 3) == pytest.approx(0.4)
    assert stress_rise([0.5, 0.1, 0.1, 0.1], 3) == pytest.approx(-0.4)


def test_fallbacks_from_the_minimum_count_and_capped(policy):
    assert factor(policy.evaluate(PolicyInput(None, fallback_count=1)), "fallbacks") is None
    two = factor(policy.evaluate(PolicyInput(None, fallback_count=2)), "fallbacks")
    assert (two.contribution, two.text) == (10, "2 fallbacks -> +10")
    assert factor(policy.evaluate(PolicyInput(None, fallback_count=9)), "fallbacks").contribution == 20


def test_explicit_request_for_a_human_escalates_alone(policy):
    decision = policy.evaluate(PolicyInput(None, human_requested=True))
    assert decision.escalate and decision.priority == 60 and decision.band == "P2"
    assert factor(decision, "human_request").text == "asked for a person -> +60"


def test_urgent_intent_adds_points_and_picks_the_queue(policy):
    decision = policy.evaluate(PolicyInput(0.91, [0.91], intent="compromised_card"))
    assert factor(decision, "intent").text == "intent compromised_card -> +30"
    assert (
        decision.escalate and decision.priority == 75 and decision.band == "P2" and decision.queue == "cards"
    )
    assert policy.evaluate(PolicyInput(None, intent="request_refund")).queue == "refunds"
    assert policy.evaluate(PolicyInput(None, intent="no_such_intent")).queue == "general"


def test_customer_tier_and_time_spent(policy):
    decision = policy.evaluate(PolicyInput(None, customer_tier="vip", minutes_elapsed=12))
    assert factor(decision, "tier").contribution == 15
    assert factor(decision, "time_spent").contribution == 14  # 2 points a minute after 5 minutes
    assert factor(policy.evaluate(PolicyInput(None, minutes_elapsed=60)), "time_spent").contribution == 20
    assert factor(policy.evaluate(PolicyInput(None, minutes_elapsed=4)), "time_spent") is None
    assert factor(policy.evaluate(PolicyInput(None, customer_tier="unknown")), "tier") is None


def test_priority_is_capped_and_contributions_add_up(policy):
    data = PolicyInput(
        0.99,
        [0.0, 0.0, 0.0, 0.99, 0.99, 0.99],
        fallback_count=4,
        human_requested=True,
        intent="compromised_card",
        customer_tier="vip",
        minutes_elapsed=30,
    )
    decision = policy.evaluate(data)
    assert decision.total == sum(f.contribution for f in decision.factors) > 100
    assert decision.priority == 100 and decision.band == "P1" and decision.sla_seconds == 120


def test_force_escalate_and_priority_override(policy):
    decision = policy.evaluate(PolicyInput(0.1, [0.1]), force_escalate=True)
    assert decision.escalate and decision.band == "P4"
    overridden = policy.with_priority(decision, 85)
    assert (overridden.priority, overridden.band, overridden.sla_seconds) == (85, "P1", 120)


def test_decision_serializes_for_audit(policy):
    data = policy.evaluate(PolicyInput(0.91, [0.91], intent="compromised_card")).as_dict()
    assert data["factors"][0] == {
        "factor": "stress",
        "value": 0.91,
        "contribution": 45,
        "text": "stress 0.91 -> +45",
    }


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.pop("version"), "version: Field required"),
        (
            lambda d: d.__setitem__("escalate_at", 150),
            "escalate_at: Input should be less than or equal to 100",
        ),
        (lambda d: d["factors"]["stress"].__setitem__("weight", -1), "factors.stress.weight"),
        (lambda d: d["factors"]["stress"].__setitem__("wieght", 3), "factors.stress.wieght: Extra inputs"),
        (lambda d: d["bands"].reverse(), "bands must be listed highest first"),
        (lambda d: d["bands"].pop(), "the last band must have min 0"),
        (lambda d: d["queues"]["refunds"].append("compromised_card"), "'compromised_card' is mapped to both"),
        (
            lambda d: d["factors"]["urgent_intents"].__setitem__("lost_or_stolen_card", "high"),
            "factors.urgent_intents.lost_or_stolen_card",
        ),
    ],
)
def test_invalid_policies_are_refused_with_the_offending_field(raw, change, message):
    import copy

    data = copy.deepcopy(raw)
    change(data)
    with pytest.raises(PolicyError) as err:
        parse_policy(data, source="test.yaml")
    assert message in str(err.value) and "test.yaml" in str(err.value)


def test_unreadable_or_broken_files(tmp_path: Path):
    with pytest.raises(PolicyError, match="cannot read triage policy"):
        load_policy(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: [unclosed\n")
    with pytest.raises(PolicyError, match="is not valid YAML"):
        load_policy(broken)
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    with pytest.raises(PolicyError, match="invalid triage policy"):
        load_policy(empty)
