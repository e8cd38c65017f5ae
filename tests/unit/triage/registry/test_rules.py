"""The registry's rules without a database: promotion, rollback, reasons, re-adding, policy texts."""

from __future__ import annotations

import pytest
import yaml

from tests.unit.triage.policies import shipped_policy_data
from triage.errors import InvalidTransition, ValidationError
from triage.registry.rules import (
    MAX_REASON_CHARS,
    AlreadyActive,
    InvalidCandidate,
    NothingToRollBack,
    Switch,
    UnknownVersion,
    VersionConflict,
    VersionState,
    check_reason,
    check_same_content,
    plan_promote,
    plan_rollback,
    policy_candidate,
    text_digest,
)


def states(*items: VersionState) -> dict[str, VersionState]:
    return {s.version: s for s in items}


A, B = VersionState("a", active=False), VersionState("b", active=True, previous="a")


def test_promote_switches_from_the_active_version():
    assert plan_promote("model", states(A, B), "a") == Switch("model", "b", "a", "promote")


def test_promote_with_nothing_active_yet_starts_from_none():
    assert plan_promote("policy", states(A), "a") == Switch("policy", None, "a", "promote")


def test_promote_refuses_an_unknown_version():
    with pytest.raises(UnknownVersion, match="no model version 'c' is registered"):
        plan_promote("model", states(A, B), "c")


def test_promote_refuses_the_active_version():
    with pytest.raises(AlreadyActive, match="'b' is already the active one") as raised:
        plan_promote("policy", states(A, B), "b")
    assert isinstance(raised.value, InvalidTransition)  # the api answers 409


def test_rollback_goes_to_the_version_the_active_one_replaced():
    assert plan_rollback("model", states(A, B)) == Switch("model", "b", "a", "rollback")


def test_rolling_back_twice_returns_to_where_it_started():
    after_first = states(VersionState("a", True, previous="b"), VersionState("b", False, previous="a"))
    assert plan_rollback("model", after_first) == Switch("model", "a", "b", "rollback")


def test_rollback_needs_an_active_version_that_replaced_one():
    with pytest.raises(NothingToRollBack, match="no policy version is active"):
        plan_rollback("policy", states(A))
    with pytest.raises(NothingToRollBack, match="replaced no other"):
        plan_rollback("policy", states(VersionState("first", True)))


def test_rollback_to_a_version_no_longer_registered_is_refused():
    with pytest.raises(UnknownVersion, match="'gone', the one before"):
        plan_rollback("model", states(VersionState("b", True, previous="gone")))


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_reason_is_required(reason):
    with pytest.raises(ValidationError, match="a reason is required"):
        check_reason(reason)


def test_a_reason_is_trimmed_and_limited():
    assert check_reason("  better recall on refunds  ") == "better recall on refunds"
    with pytest.raises(ValidationError, match="longer than"):
        check_reason("x" * (MAX_REASON_CHARS + 1))


def test_adding_a_version_again_is_a_no_op_only_with_the_same_content():
    assert check_same_content("policy", "v1", "d" * 64, "d" * 64) is True
    with pytest.raises(VersionConflict, match="'v1' is registered with other content"):
        check_same_content("policy", "v1", "d" * 64, "e" * 64)


def test_a_policy_text_that_validates_is_a_candidate_with_its_version_and_digest():
    data = shipped_policy_data() | {"version": "candidate-1"}
    text = yaml.safe_dump(data)
    candidate = policy_candidate(text)
    assert (candidate.version, candidate.digest, candidate.text) == ("candidate-1", text_digest(text), text)
    assert candidate.policy.config.escalate_at == data["escalate_at"]


def test_a_policy_text_that_does_not_parse_is_refused():
    with pytest.raises(InvalidCandidate, match="new.yaml is not valid YAML"):
        policy_candidate("escalate_at: [not closed", "new.yaml")


def test_a_policy_that_does_not_validate_is_refused_naming_the_field():
    data = shipped_policy_data()
    data["escalate_at"] = 150
    with pytest.raises(InvalidCandidate, match="escalate_at"):
        policy_candidate(yaml.safe_dump(data))
    del data["version"]
    with pytest.raises(InvalidCandidate, match="version"):
        policy_candidate(yaml.safe_dump(data))


def test_an_empty_or_huge_policy_text_is_refused():
    with pytest.raises(InvalidCandidate, match="<root>"):
        policy_candidate("")
    with pytest.raises(InvalidCandidate, match="longer than"):
        policy_candidate("#" * 200_001)
