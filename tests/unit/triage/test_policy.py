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


# -- signals beside the model (issue #21) ---------------------------------------------------------------
def signal_input(policy, text, stress=None, **kwargs):
    return PolicyInput(stress, [stress] if stress is not None else [], signals=policy.detect(text), **kwargs)


@pytest.mark.parametrize(
    ("text", "name", "value", "points", "label"),
    [
        ("WHERE IS my card", "shouting", 2, 8, "SHOUTING (2 words) -> +8"),
        ("WHERE IS MY CARD", "shouting", 4, 16, "SHOUTING (4 words) -> +16"),
        (
            "I WANT MY MONEY BACK TODAY",
            "shouting",
            5,
            16,
            "SHOUTING (5 words) -> +16",
        ),  # capped ("I": 1 letter)
        ("hello??", "punctuation", 1, 4, "repeated !/? (1x) -> +4"),
        ("hello?? now!!! why?!", "punctuation", 3, 8, "repeated !/? (3x) -> +8"),
        ("still waiting 😡", "angry_emoji", 1, 6, "angry emoji (1) -> +6"),
        ("😡🤬😠", "angry_emoji", 3, 12, "angry emoji (3) -> +12"),
        ("this is shit", "profanity", 1, 8, "profanity (1 word) -> +8"),
        ("fucking shit crap", "profanity", 3, 16, "profanity (3 words) -> +16"),
        ("I'm closing my account", "leaving", 1, 15, "threat to leave -> +15"),
        ("I'll report you to the FCA", "regulator", 1, 20, "threat to go to a regulator -> +20"),
    ],
)
def test_each_signal_is_a_factor_with_its_words(policy, text, name, value, points, label):
    decision = policy.evaluate(signal_input(policy, text))
    f = factor(decision, name)
    assert (f.value, f.contribution, f.text) == (value, points, label)
    (as_dict,) = [d for d in decision.factors_as_dicts() if d["factor"] == name]
    assert as_dict["words"] and all(text[w["start"] : w["end"]] == w["word"] for w in as_dict["words"])
    assert set(as_dict) == {"factor", "value", "contribution", "text", "words"}


def test_signals_below_their_minimum_count_do_not_count(policy):
    decision = policy.evaluate(signal_input(policy, "I want my money back NOW! thanks"))
    assert decision.factors == []  # one word in capitals is emphasis, one "!" is not repeated


def test_a_signal_weighted_zero_adds_no_factor(raw):
    import copy

    data = copy.deepcopy(raw)
    data["factors"]["signals"]["shouting"]["per_hit"] = 0
    zero = parse_policy(data)
    assert factor(zero.evaluate(signal_input(zero, "WHERE IS MY CARD")), "shouting") is None


def test_a_request_for_a_person_in_the_text_escalates_with_its_words(policy):
    text = "I was charged twice and I want to speak to a manager"
    decision = policy.evaluate(signal_input(policy, text, 0.2, intent="transaction_charged_twice"))
    f = factor(decision, "person_request")
    assert decision.escalate and f.contribution == 60
    assert f.text == "asked for a person -> +60"  # the customer's words only in `words`
    assert [(w.word, w.start, w.end) for w in f.words] == [("speak to a manager", 34, 52)]
    assert factor(decision, "human_request") is None
    mention = policy.evaluate(signal_input(policy, "my manager said I would get a refund", 0.2))
    assert not mention.escalate and mention.factors == []


def test_one_request_for_a_person_is_counted_once(policy):
    both = policy.evaluate(signal_input(policy, "let me talk to a human", human_requested=True))
    assert [(f.factor, f.contribution) for f in both.factors] == [("human_request", 60)]
    assert [w.word for w in factor(both, "human_request").words] == ["talk to a human"]
    nlu_only = factor(policy.evaluate(PolicyInput(None, human_requested=True)), "human_request")
    assert nlu_only.words is None and nlu_only.text == "asked for a person -> +60"


def test_signal_factors_point_into_the_stored_message(policy):
    decision = policy.evaluate(signal_input(policy, "WHERE IS MY CARD??", 0.95))
    stored = decision.in_message(42).factors_as_dicts()
    assert [(d["factor"], d.get("message_id")) for d in stored] == [
        ("stress", None),
        ("shouting", 42),
        ("punctuation", 42),
    ]
    assert "words" not in stored[0] and "message_id" not in decision.factors_as_dicts()[1]


# -- the conversation's topic --------------------------------------------------------------------------
def test_the_queue_follows_the_most_recent_specific_intent(policy):
    recent = ("greet", "transaction_charged_twice", "nlu_fallback")
    decision = policy.evaluate(PolicyInput(0.9, [0.9], intent="nlu_fallback", recent_intents=recent))
    assert decision.queue == "refunds"
    newer = ("transaction_charged_twice", "card_arrival", "affirm")
    assert policy.evaluate(PolicyInput(None, intent="affirm", recent_intents=newer)).queue == "cards"
    assert policy.topic(PolicyInput(None, intent="affirm", recent_intents=newer)) == "card_arrival"


def test_a_specific_intent_older_than_the_window_does_not_count(policy):
    old = ("transaction_charged_twice", "nlu_fallback", None, "nlu_fallback")  # 3 turns: the last three
    decision = policy.evaluate(PolicyInput(None, intent="nlu_fallback", recent_intents=old))
    assert decision.queue == "general"
    assert policy.topic(PolicyInput(None, intent="greet", recent_intents=("greet", "deny"))) == "greet"


def test_without_recent_intents_the_latest_intent_counts(policy):
    """A row from before the recent intents were kept, and the api's callers that pass none."""
    assert policy.evaluate(PolicyInput(None, intent="request_refund")).queue == "refunds"
    assert policy.topic(PolicyInput(None)) is None


def test_an_urgent_intent_counts_while_it_is_the_topic(policy):
    recent = ("compromised_card", "nlu_fallback")
    decision = policy.evaluate(PolicyInput(0.91, [0.91], intent="nlu_fallback", recent_intents=recent))
    assert factor(decision, "intent").text == "intent compromised_card -> +30" and decision.queue == "cards"


# -- the cases, with the shipped policy --------------------------------------------------------
@pytest.fixture(scope="module")
def shipped():
    return load_policy(POLICY_FILE)


def band_rank(policy, band: str) -> int:
    """0 for the highest band."""
    return [b.name for b in policy.config.bands].index(band)


def test_shipped_a_manager_demand_inside_a_complaint_escalates(shipped):
    text = "You charged me twice for the same payment and I want to speak to a manager NOW"
    data = signal_input(
        shipped,
        text,
        0.35,  # under the stress factor's minimum: the stress alone stays under the bar
        intent="transaction_charged_twice",
        recent_intents=("transaction_charged_twice",),
    )
    assert not shipped.evaluate(PolicyInput(0.35, [0.35], intent="transaction_charged_twice")).escalate
    decision = shipped.evaluate(data)
    assert decision.escalate and decision.queue == "refunds"
    assert [w.word for w in factor(decision, "person_request").words] == ["speak to a manager"]


def test_shipped_where_is_my_card_in_capitals_gets_a_shouting_factor(shipped):
    decision = shipped.evaluate(signal_input(shipped, "WHERE IS MY CARD", 0.03, intent="card_arrival"))
    f = factor(decision, "shouting")
    assert f.value == 4 and f.contribution > 0 and f.text.startswith("SHOUTING (4 words)")
    assert [w.word for w in f.words] == ["WHERE", "IS", "MY", "CARD"]


def test_shipped_a_double_charge_then_an_unplaceable_angry_message_goes_to_refunds(shipped):
    data = signal_input(
        shipped,
        "this is UNACCEPTABLE, answer me!!!",
        0.9,
        intent="nlu_fallback",
        recent_intents=("transaction_charged_twice", "nlu_fallback"),
    )
    decision = shipped.evaluate(data)
    assert decision.escalate and decision.queue == "refunds"


def test_shipped_a_furious_customer_ranks_at_least_as_high_as_a_calm_request_for_a_person(shipped):
    furious = shipped.evaluate(PolicyInput(0.84, [0.84]))
    calm_nlu = shipped.evaluate(PolicyInput(0.02, [0.02], human_requested=True, intent="request_human"))
    calm_text = shipped.evaluate(signal_input(shipped, "I want to talk to a human", 0.02))
    for calm in (calm_nlu, calm_text):
        assert calm.escalate and furious.escalate
        assert furious.priority >= calm.priority
        assert band_rank(shipped, furious.band) <= band_rank(shipped, calm.band)
    # and one sign of it besides the model lifts the furious customer a band above
    louder = shipped.evaluate(signal_input(shipped, "where is my money??", 0.84))
    assert band_rank(shipped, louder.band) < band_rank(shipped, calm_nlu.band)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d["factors"].pop("signals"), "factors.signals: Field required"),
        (lambda d: d["factors"]["signals"]["shouting"].pop("per_hit"), "factors.signals.shouting.per_hit"),
        (lambda d: d["factors"]["signals"]["leaving"].__setitem__("min_count", 0), "min_count"),
        (
            lambda d: d["factors"]["signals"]["profanity"].__setitem__("words", ["Shit"]),
            "profanity words must be single lower-case words",
        ),
        (
            lambda d: d["factors"]["signals"]["profanity"].__setitem__("words", []),
            "factors.signals.profanity.words",
        ),
        (lambda d: d["factors"]["topic"].__setitem__("turns", 11), "factors.topic.turns"),
        (lambda d: d["factors"].pop("person_request"), "factors.person_request: Field required"),
    ],
)
def test_invalid_signal_and_topic_settings_are_refused(raw, change, message):
    import copy

    data = copy.deepcopy(raw)
    change(data)
    with pytest.raises(PolicyError) as err:
        parse_policy(data, source="test.yaml")
    assert message in str(err.value)
