"""Domain names other parts of Clearline rely on (docs/architecture.md); an answer per BANKING77 intent."""

import json

import yaml

from nlu.datasets import dataset_dir
from tests.bot.conftest import BOT_DIR

FLOW_INTENTS = {
    "card_arrival": "card_status_form",
    "card_delivery_estimate": "card_status_form",
    "lost_or_stolen_card": "freeze_card_form",
    "compromised_card": "freeze_card_form",
    "pending_transfer": "transfer_status_form",
    "failed_transfer": "transfer_status_form",
    "transfer_not_received_by_recipient": "transfer_status_form",
    "request_refund": "refund_status_form",
    "Refund_not_showing_up": "refund_status_form",
}


def merged_domain() -> dict:
    domain: dict = {"intents": [], "actions": [], "responses": {}, "slots": {}, "forms": {}}
    for path in sorted((BOT_DIR / "domain").glob("*.yml")):
        part = yaml.safe_load(path.read_text())
        domain["intents"] += part.get("intents", [])
        domain["actions"] += part.get("actions", [])
        for key in ("responses", "slots", "forms"):
            domain[key].update(part.get(key, {}))
    return domain


def rule_steps() -> list[list[dict]]:
    """The steps of the rules that apply anywhere (a rule with a `condition`, such as one for an intent
    that arrives inside a form, is a variant of these)."""
    rules = []
    for path in sorted((BOT_DIR / "data" / "rules").glob("*.yml")):
        everywhere = [rule for rule in yaml.safe_load(path.read_text())["rules"] if "condition" not in rule]
        rules += [rule["steps"] for rule in everywhere]
    return rules


def banking77_intents() -> list[str]:
    # the folder `make test` fetched it to (or the configured one): the same rule as the NLU build's
    return json.loads((dataset_dir("banking77") / "categories.json").read_text())


def test_every_banking77_intent_has_an_answer_and_a_rule() -> None:
    domain = merged_domain()
    intents = banking77_intents()
    assert len(intents) == 77
    starts = {}
    for steps in rule_steps():
        starts[steps[0].get("intent")] = [step["action"] for step in steps[1:] if "action" in step]
    for intent in intents:
        assert intent in domain["intents"]
        assert domain["responses"][f"utter_{intent}"][0]["text"]
        assert starts[intent][0] == f"utter_{intent}", intent
        if intent in FLOW_INTENTS:
            assert starts[intent][1:] == ["action_identify_customer", FLOW_INTENTS[intent]], intent


def test_names_clearline_relies_on() -> None:
    domain = merged_domain()
    english = {
        name: next(v["text"] for v in variants if "condition" not in v)
        for name, variants in domain["responses"].items()
    }
    assert english["utter_handoff_notice"].startswith("A member of our team will join")
    assert english["utter_handoff_resumed"].startswith("You're back with the")
    assert english["utter_agent_joined"] == "{agent_name} from Northwind Pay joined"
    assert "customer_ref" in domain["slots"]
    assert "request_human" in domain["intents"]


def test_the_tier_slot_the_worker_reads_and_the_session_start_that_sets_it() -> None:
    domain = merged_domain()
    tier = domain["slots"]["customer_tier"]
    assert tier["type"] == "categorical" and tier["values"] == ["standard", "premium", "vip"]
    assert tier["influence_conversation"] is False
    assert tier["mappings"] == [{"type": "custom"}]
    # the policy must know every tier the bot can set (else the worker falls back to standard)
    policy = yaml.safe_load((BOT_DIR.parent / "triage" / "policy.yaml").read_text())
    assert set(tier["values"]) <= set(policy["factors"]["tiers"])
    assert "action_session_start" in domain["actions"]  # the custom one in actions/identity.py
