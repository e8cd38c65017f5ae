"""The typing indicator's rules, without a database: expiry, and who may signal in which state."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from triage.domain.lifecycle import ConversationState as S
from triage.domain.typing_indicator import (
    SIGNAL_TTL,
    agent_typing_shown,
    check_agent_may_signal,
    customer_may_signal,
    customer_typing_shown,
    expires,
    is_live,
)
from triage.errors import InvalidTransition, NotAssignedToYou

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
ALICE, BOB = 1, 2


def test_a_signal_counts_for_a_few_seconds_then_reads_as_not_typing() -> None:
    until = expires(NOW)
    assert until - NOW == SIGNAL_TTL and timedelta(seconds=3) < SIGNAL_TTL <= timedelta(seconds=10)
    assert is_live(until, NOW)
    assert is_live(until, until - timedelta(microseconds=1))
    assert not is_live(until, until)  # the moment it passes
    assert not is_live(until, until + timedelta(hours=1))
    assert not is_live(None, NOW)


@pytest.mark.parametrize(
    ("state", "recorded"), [(S.BOT, False), (S.QUEUED, True), (S.ASSIGNED, True), (S.RESOLVED, False)]
)
def test_the_customers_typing_matters_only_while_waiting_for_or_with_a_person(
    state: S, recorded: bool
) -> None:
    assert customer_may_signal(state) is recorded
    assert customer_typing_shown(state, expires(NOW), NOW) is recorded
    assert not customer_typing_shown(state, NOW - timedelta(seconds=1), NOW)  # expired: never


def test_the_assigned_agent_may_signal_while_on_the_conversation() -> None:
    check_agent_may_signal(S.ASSIGNED, ALICE, ALICE, supervising=False)


@pytest.mark.parametrize("state", list(S))
def test_another_agent_is_refused_whatever_the_state(state: S) -> None:
    with pytest.raises(NotAssignedToYou):
        check_agent_may_signal(state, ALICE, BOB, supervising=False)


def test_an_agent_cannot_signal_in_a_queued_conversation_nobody_holds() -> None:
    with pytest.raises(NotAssignedToYou):
        check_agent_may_signal(S.QUEUED, None, ALICE, supervising=False)


@pytest.mark.parametrize("state", [S.BOT, S.RESOLVED])
def test_the_agent_of_a_conversation_no_longer_with_them_is_a_conflict(state: S) -> None:
    # a resolved conversation keeps its agent: it is theirs, but nobody is on it any more
    with pytest.raises(InvalidTransition, match="no agent is on this conversation"):
        check_agent_may_signal(state, ALICE, ALICE, supervising=False)


def test_a_supervisor_may_signal_in_any_conversation_with_an_agent_and_no_other() -> None:
    check_agent_may_signal(S.ASSIGNED, ALICE, 99, supervising=True)
    for state in (S.BOT, S.QUEUED, S.RESOLVED):
        with pytest.raises(InvalidTransition):
            check_agent_may_signal(state, None, 99, supervising=True)


@pytest.mark.parametrize("state", list(S))
def test_the_customer_sees_the_agent_typing_only_while_an_agent_is_on_it(state: S) -> None:
    assert agent_typing_shown(state, expires(NOW), NOW) is (state == S.ASSIGNED)
    assert not agent_typing_shown(state, NOW, NOW)  # expired
    assert not agent_typing_shown(state, None, NOW)
