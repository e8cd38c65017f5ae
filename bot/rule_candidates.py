"""Which of RulePolicy's memorised rules can apply to a conversation's latest state, found by an index.

Stock Rasa 3.6.21 (``RulePolicy._get_possible_keys``) tests every rule key against the conversation's
latest state, then the survivors against the state before it, and so on. With the bot's 381 rules that
first pass (each key's JSON from an LRU cache, a reversed copy, a state comparison), run several times per
message, was ~10% of the Rasa server's CPU in a py-spy profile under ``clearline bench chat``.

A rule whose last state names an intent or a previous action that the latest state does not have fails
that first test in stock Rasa (``_does_rule_match_state``: a value the rule sets must be equal in the
conversation). So an index from (intent, previous action) to the rule keys that could match gives a
superset of the keys that pass the first test, and stock Rasa's own test then runs on that superset only:
the same set of keys comes out. The index is built once per lookup table the first time it is asked about.
(Which of two equally long rules RulePolicy then picks depends on the set's iteration order, in stock Rasa
as here; string hashes are randomised per process, so that pick is not fixed in stock Rasa either.)

Conversation-start states (no previous action) are not indexed: there stock Rasa's first test passes
every rule that is also a conversation start whatever the intent, so every key is tested, as in stock.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET, USER
from rasa.shared.nlu.constants import ACTION_NAME, INTENT


class _Any:
    """Index slot of a rule that does not require a value (None is a value a conversation can have)."""

    def __repr__(self) -> str:
        return "ANY"


ANY = _Any()
State = Mapping[str, Any]
Applicable = Callable[[str, int, State], bool]


def _required(rule_state: State, state_type: str, key: str) -> object:
    """The value the rule's state requires the conversation's state to have under state_type/key, or ANY
    where stock Rasa's comparison would accept any value (unset, falsy, SHOULD_NOT_BE_SET) or the value is
    not a plain string (left to stock Rasa's own test)."""
    sub_state = rule_state.get(state_type)
    if not isinstance(sub_state, Mapping):
        return ANY
    value = sub_state.get(key)
    if not isinstance(value, str) or not value or value == SHOULD_NOT_BE_SET:
        return ANY
    return value


class RuleIndex:
    """The keys of one rule lookup table, grouped by what their last state requires."""

    def __init__(self, rule_keys: Iterable[str]) -> None:
        self.all_keys: frozenset[str] = frozenset(rule_keys)
        self.buckets: dict[tuple[object, object], set[str]] = {}
        for rule_key in self.all_keys:
            self._add(rule_key)

    def _add(self, rule_key: str) -> None:
        try:
            rule_states = json.loads(rule_key)
        except ValueError:
            rule_states = None
        if not isinstance(rule_states, list) or not rule_states or not isinstance(rule_states[-1], Mapping):
            self.buckets.setdefault((ANY, ANY), set()).add(rule_key)  # stock Rasa decides
            return
        last = rule_states[-1]
        if not last.get(PREVIOUS_ACTION):
            # a conversation start: stock Rasa's first test fails it against any state with a previous
            # action, the only states that are looked up in the buckets
            return
        slot = (_required(last, USER, INTENT), _required(last, PREVIOUS_ACTION, ACTION_NAME))
        self.buckets.setdefault(slot, set()).add(rule_key)

    def candidates(self, latest: State) -> frozenset[str] | set[str]:
        """A superset of the keys whose last state stock Rasa finds applicable to ``latest``."""
        if not latest.get(PREVIOUS_ACTION):
            return self.all_keys
        user = latest.get(USER, {})
        previous = latest.get(PREVIOUS_ACTION, {})
        intent = user.get(INTENT) if isinstance(user, Mapping) else None
        action = previous.get(ACTION_NAME) if isinstance(previous, Mapping) else None
        try:
            slots = {(ANY, ANY), (ANY, action), (intent, ANY), (intent, action)}
        except TypeError:  # an unhashable value in the state: no shortcut
            return self.all_keys
        found: set[str] = set()
        for slot in slots:
            found.update(self.buckets.get(slot, ()))
        return found


def possible_keys(index: RuleIndex, states: list[State], applicable: Applicable) -> set[str]:
    """Stock Rasa's ``_get_possible_keys`` over the index's candidates instead of every key."""
    if not states:
        return set(index.all_keys)
    keys = index.candidates(states[-1])  # each turn below makes a new set: the index's own is not changed
    for turn_index, state in enumerate(reversed(states)):
        keys = {key for key in keys if applicable(key, turn_index, state)}
    return keys


def index_for(owner: Any, lookup: Mapping[str, Any]) -> RuleIndex:
    """The index of ``lookup``, kept on ``owner`` (the policy) and built again when the table's keys are
    not the ones indexed (training changes the tables; a loaded policy's do not). Comparing the keys is
    a few microseconds for ~400 rules, against the ~0.6 ms the index saves per call. Indexes of tables
    the policy no longer holds are dropped when another is built."""
    cache: dict[int, tuple[Mapping[str, Any], RuleIndex]] = owner.__dict__.setdefault(
        "_clearline_rule_index", {}
    )
    cached = cache.get(id(lookup))
    if cached is None or cached[0] is not lookup or lookup.keys() != cached[1].all_keys:
        held = getattr(owner, "lookup", None)
        held_ids = {id(table) for table in held.values()} if isinstance(held, Mapping) else set()
        for stale in [key for key in cache if key not in held_ids]:
            del cache[stale]
        cached = (lookup, RuleIndex(lookup.keys()))
        cache[id(lookup)] = cached
    return cached[1]
