"""The rule index (bot/rule_candidates.py) finds exactly the rules stock Rasa 3.6.21's RulePolicy finds.

Compared against stock ``RulePolicy._get_possible_keys`` on the trained model's own rule tables, for every
state the rules describe and for those states with each intent, previous action and active loop the rules
mention swapped in, and on hand-made tables for the corner cases (values a rule says must not be set,
conversation starts, keys that are not JSON, unhashable values, a table that changes).
"""

from __future__ import annotations

import collections
import json
import random
import tarfile
from typing import Any

import pytest
import rasa_patches
import rule_candidates
from rasa.core.policies.rule_policy import RulePolicy
from rule_candidates import RuleIndex, index_for, possible_keys

from tests.bot.test_rasa_server import trained_model

STOCK = RulePolicy._get_possible_keys


def _policy() -> RulePolicy:
    # _get_possible_keys and _is_rule_applicable read nothing from the instance but the rule tables
    # they are given: no graph resource or configuration is needed to compare them
    return RulePolicy.__new__(RulePolicy)


def _model_lookup() -> dict[str, dict[str, str]]:
    with tarfile.open(trained_model()) as archive:
        member = next(m for m in archive.getmembers() if m.name.endswith("rule_policy.json"))
        handle = archive.extractfile(member)
        assert handle is not None
        return json.load(handle)["lookup"]


def _copied(state: dict[str, Any]) -> dict[str, Any]:
    return {kind: dict(sub) for kind, sub in state.items()}


def _variants(rule_states: list[dict[str, Any]], vocabulary: dict[str, list[str]]) -> list[list[dict]]:
    """The rule's own states, and those with the last state's intent, previous action or active loop
    swapped for others the rules mention (most of which the rule does not allow), the intent dropped for
    a text (the policy's text pass), and with a conversation-start state before them."""
    base = [_copied(state) for state in rule_states]
    found = [base, [{}, *base], [{"user": {"intent": "greet"}}, *base]]
    for kind, key, names in (
        ("user", "intent", vocabulary.get("intent", [])),
        ("prev_action", "action_name", vocabulary.get("action_name", [])),
        ("active_loop", "name", vocabulary.get("name", [])),
    ):
        for name in names:
            swapped = [dict(state) for state in base]
            swapped[-1] = {**swapped[-1], kind: {key: name}}
            found.append(swapped)
    texted = [dict(state) for state in base]
    texted[-1] = {**texted[-1], "user": {"text": "where is my card"}}
    found.append(texted)
    no_previous = [dict(state) for state in base]
    no_previous[-1] = {k: v for k, v in no_previous[-1].items() if k != "prev_action"}
    found.append(no_previous)
    return found


def test_the_trained_models_rules_come_out_as_in_stock_rasa() -> None:
    lookup = _model_lookup()
    policy = _policy()
    tables = [lookup["rules"], lookup["rules_for_loop_unhappy_path"]]
    assert len(tables[0]) > 100  # the bot's FAQ and flow rules
    vocabulary: dict[str, list[str]] = collections.defaultdict(list)
    for table in tables:
        for key in table:
            for state in json.loads(key):
                for sub in state.values():
                    for name, value in sub.items():
                        if isinstance(value, str):  # slot or entity values of other kinds: not swapped
                            vocabulary[name].append(value)
    rng = random.Random(13)
    vocabulary = {
        name: rng.sample(sorted(set(values)), min(12, len(set(values))))
        for name, values in vocabulary.items()
    }
    compared = matched = 0
    for table in tables:
        for key in table:
            for states in _variants(json.loads(key), vocabulary):
                expected = STOCK(policy, table, states)
                index = index_for(policy, table)
                assert possible_keys(index, states, policy._is_rule_applicable) == expected, states
                compared += 1
                matched += bool(expected)
    # the comparison covered states that match rules and states that match none
    assert compared > 10_000
    assert 0 < matched < compared


def test_the_index_looks_at_far_fewer_rules_for_an_ordinary_turn() -> None:
    table = _model_lookup()["rules"]
    latest = {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "card_arrival"}}
    candidates = RuleIndex(table).candidates(latest)
    assert 0 < len(candidates) < len(table) / 10


RULE_WITH_SHOULD_NOT_BE_SET = json.dumps(
    [
        {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "should_not_be_set"}},
    ]
)
TABLE = {
    json.dumps(
        [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}}]
    ): "utter_greet",
    json.dumps(
        [{"prev_action": {"action_name": "utter_greet"}, "user": {"intent": "greet"}}]
    ): "action_listen",
    json.dumps([{"user": {"intent": "greet"}}]): "utter_hello_first",  # a conversation start
    json.dumps([{"prev_action": {"action_name": "action_listen"}}]): "utter_anything",  # no intent required
    json.dumps([{"prev_action": {"action_name": "action_listen"}, "user": {"intent": ["a", "list"]}}]): "x",
    RULE_WITH_SHOULD_NOT_BE_SET: "utter_no_intent",
    json.dumps(
        [
            {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "bye"}},
            {"prev_action": {"action_name": "utter_bye"}, "user": {"intent": "bye"}},
        ]
    ): "action_listen",
}
HAND_MADE_STATES: list[list[dict[str, Any]]] = [
    [],
    [{}],
    [{"user": {"intent": "greet"}}],
    [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}}],
    [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "bye"}}],
    [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "unknown"}}],
    [{"prev_action": {"action_name": "action_listen"}}],
    [{"prev_action": {"action_name": "action_listen"}, "user": {"text": "hello"}}],
    [{"prev_action": {"action_name": "utter_greet"}, "user": {"intent": "greet"}}],
    [
        {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "bye"}},
        {"prev_action": {"action_name": "utter_bye"}, "user": {"intent": "bye"}},
    ],
    [
        {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}},
        {"prev_action": {"action_name": "utter_bye"}, "user": {"intent": "bye"}},
    ],
    [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "should_not_be_set"}}],
]


@pytest.mark.parametrize("states", HAND_MADE_STATES, ids=range(len(HAND_MADE_STATES)))
def test_hand_made_rules_come_out_as_in_stock_rasa(states: list[dict[str, Any]]) -> None:
    policy = _policy()
    index = index_for(policy, TABLE)
    assert possible_keys(index, states, policy._is_rule_applicable) == STOCK(policy, TABLE, states)


def test_rules_the_index_cannot_read_are_left_to_stock_rasas_test() -> None:
    table = {"not json": "a", json.dumps([]): "b", json.dumps(["not a state"]): "c", **TABLE}
    index = RuleIndex(table)
    latest = {"prev_action": {"action_name": "action_listen"}, "user": {"intent": "greet"}}
    # unreadable keys sit where every turn looks; rules of a list value or SHOULD_NOT_BE_SET too
    for key in ("not json", "[]", '["not a state"]', RULE_WITH_SHOULD_NOT_BE_SET):
        assert key in index.candidates(latest)
    # a conversation start never passes against a state with a previous action: not a candidate
    assert json.dumps([{"user": {"intent": "greet"}}]) not in index.candidates(latest)
    # a state with no previous action, or an unhashable value, gets every key
    assert index.candidates({"user": {"intent": "greet"}}) == set(table)
    unhashable = {"prev_action": {"action_name": "action_listen"}, "user": {"intent": ["greet"]}}
    assert index.candidates(unhashable) == set(table)


def test_the_index_follows_a_table_that_changes() -> None:
    policy = _policy()
    table = dict(TABLE)
    first = index_for(policy, table)
    assert index_for(policy, table) is first  # kept between calls
    new_rule = json.dumps([{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "thanks"}}])
    table[new_rule] = "utter_welcome"
    latest = [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "thanks"}}]
    assert new_rule in possible_keys(index_for(policy, table), latest, policy._is_rule_applicable)
    # same size, other keys: rebuilt as well
    del table[new_rule]
    other_rule = new_rule.replace("thanks", "affirm")
    table[other_rule] = "utter_ok"
    affirm = [{"prev_action": {"action_name": "action_listen"}, "user": {"intent": "affirm"}}]
    assert possible_keys(index_for(policy, table), affirm, policy._is_rule_applicable) == STOCK(
        policy, table, affirm
    )
    assert other_rule in STOCK(policy, table, affirm)


def test_the_patch_routes_rule_policy_through_the_index(
    restore_stock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    looked_up: list[int] = []
    real_candidates = RuleIndex.candidates

    def counting(self: RuleIndex, latest: Any) -> Any:
        looked_up.append(len(self.all_keys))
        return real_candidates(self, latest)

    monkeypatch.setattr(rule_candidates.RuleIndex, "candidates", counting)
    rasa_patches.patch_rule_lookup()
    policy = _policy()
    states = HAND_MADE_STATES[3]
    assert policy._get_possible_keys(TABLE, states) == STOCK(policy, TABLE, states)
    assert looked_up == [len(TABLE)]


def test_indexes_of_tables_the_policy_no_longer_holds_are_dropped() -> None:
    policy = _policy()
    policy.lookup = {"rules": dict(TABLE)}
    old = policy.lookup["rules"]
    index_for(policy, old)
    policy.lookup = {"rules": {**TABLE, json.dumps([{"prev_action": {"action_name": "x"}}]): "y"}}
    index_for(policy, policy.lookup["rules"])
    assert set(policy.__dict__["_clearline_rule_index"]) == {id(policy.lookup["rules"])}
