"""The policy and the message's language (issue #21): the English emotion model's stress of a message in
another language is shown and never counted; everything else counts as for any message. No database."""

from __future__ import annotations

import pytest

from triage.domain.policy import STRESS_UNRELIABLE, PolicyInput, load_policy, parse_policy
from triage.domain.signals import WordList, detect
from triage.errors import PolicyError

from .policies import SHIPPED_POLICY, pinned_policy, shipped_policy_data


@pytest.fixture(scope="module")
def policy():
    return pinned_policy()  # stress weight 50 from 0.5, escalate at 50, a request for a person +60


def factors(decision):
    return {f.factor: f for f in decision.factors}


def test_an_english_message_escalates_on_the_models_stress_alone(policy):
    decision = policy.evaluate(PolicyInput(latest_stress=1.0, stress_trajectory=[1.0], language="en"))
    assert decision.escalate and factors(decision)["stress"].contribution == 50


def test_stress_of_a_message_in_another_language_is_shown_but_never_escalates(policy):
    # the highest stress the model can give, and a steep rise: in English this escalates twice over
    data = PolicyInput(latest_stress=1.0, stress_trajectory=[0.0, 0.0, 0.0, 1.0, 1.0, 1.0], language="es")
    decision = policy.evaluate(data)
    assert not decision.escalate and decision.priority == 0
    (shown,) = decision.factors
    assert shown.factor == STRESS_UNRELIABLE and shown.value == 1.0 and shown.contribution == 0
    assert shown.text == "stress 1.00 not counted: the message is in es, the model reads en -> +0"
    assert not policy.stress_reliable("es") and policy.stress_reliable("en")


def test_low_stress_in_another_language_is_not_listed(policy):
    assert (
        policy.evaluate(PolicyInput(latest_stress=0.1, stress_trajectory=[0.1], language="de")).factors == []
    )


def test_unknown_language_counts_as_one_the_model_reads(policy):
    # short messages ("ok", "where is my card") are not judged: they are nearly all English
    decision = policy.evaluate(PolicyInput(latest_stress=1.0, stress_trajectory=[1.0], language=None))
    assert decision.escalate and "stress" in factors(decision)


def test_a_request_for_a_person_in_another_language_still_escalates(policy):
    # the bot offered a person in Spanish and the customer accepted: the hand-off counts in full
    data = PolicyInput(latest_stress=0.9, stress_trajectory=[0.9], human_requested=True, language="es")
    decision = policy.evaluate(data)
    assert decision.escalate and decision.priority == 60
    assert set(factors(decision)) == {"human_request", STRESS_UNRELIABLE}


def test_signals_and_fallbacks_still_count_in_another_language(policy):
    found = detect("¿¿DÓNDE ESTÁ MI TARJETA??", WordList.of(["mierda"]))
    data = PolicyInput(
        latest_stress=0.9, stress_trajectory=[0.9], fallback_count=3, signals=found, language="es"
    )
    got = factors(policy.evaluate(data))
    assert got["shouting"].contribution == 16 and got["punctuation"].contribution > 0
    assert got["fallbacks"].contribution == 15 and got[STRESS_UNRELIABLE].contribution == 0


def test_the_hand_off_path_decides_the_same(policy):
    forced = policy.evaluate(PolicyInput(latest_stress=0.95, language="fr"), force_escalate=True)
    assert forced.escalate and forced.priority == 0  # escalated because asked, ranked without the model


def test_the_models_languages_are_configurable():
    data = shipped_policy_data()
    data["factors"]["stress"]["languages"] = ["en", "es"]
    policy = parse_policy(data)
    assert policy.stress_reliable("es") and not policy.stress_reliable("fr")


def test_an_empty_language_list_is_refused(tmp_path):
    data = SHIPPED_POLICY.read_text().replace("languages: [en]", "languages: []")
    path = tmp_path / "policy.yaml"
    path.write_text(data)
    with pytest.raises(PolicyError, match=r"factors.stress.languages"):
        load_policy(path)


def test_the_shipped_policy_reads_english_only_and_other_language_is_no_topic():
    shipped = load_policy(SHIPPED_POLICY)
    assert shipped.config.factors.stress.languages == ["en"]
    assert (
        shipped.topic(PolicyInput(None, recent_intents=("card_arrival", "other_language"))) == "card_arrival"
    )
