"""What a rating rates and when it replaces an earlier one (triage.domain.csat): no database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from triage.domain.csat import (
    BOT_WINDOW,
    HANDOFF_WINDOW,
    EarlierRating,
    ResolvedHandoff,
    Subject,
    checked_rating,
    replaces,
    subject_of,
)
from triage.domain.lifecycle import ConversationState
from triage.errors import InvalidTransition, ValidationError

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
HANDOFF = ResolvedHandoff(escalation_id=9, resolved_at=NOW - timedelta(minutes=2), agent_id=3, queue="cards")


@pytest.mark.parametrize("value", [1, 3, 5])
def test_whole_numbers_from_1_to_5_are_ratings(value: int) -> None:
    assert checked_rating(value) == value


@pytest.mark.parametrize("value", [0, 6, -1, 4.0, "4", True, None, [4], 10**20])
def test_anything_else_is_refused_with_the_rule(value: object) -> None:
    with pytest.raises(ValidationError, match="from 1 to 5"):
        checked_rating(value)


@pytest.mark.parametrize("state", [ConversationState.RESOLVED, ConversationState.BOT])
def test_a_hand_off_resolved_lately_is_what_is_rated_with_its_agent_and_queue(
    state: ConversationState,
) -> None:
    # BOT: the customer's tap on the rating reached the worker first (back with the bot)
    assert subject_of(state, HANDOFF, NOW) == Subject(9, 3, "cards")
    assert subject_of(state, HANDOFF, NOW).escalated


def test_after_the_window_or_without_a_hand_off_the_bot_is_rated() -> None:
    late = NOW + HANDOFF_WINDOW
    assert subject_of(ConversationState.BOT, HANDOFF, late) == Subject(None, None, None)
    assert subject_of(ConversationState.BOT, None, NOW) == Subject(None, None, None)
    assert not subject_of(ConversationState.BOT, None, NOW).escalated


@pytest.mark.parametrize("state", [ConversationState.QUEUED, ConversationState.ASSIGNED])
def test_a_conversation_with_our_team_cannot_be_rated_yet(state: ConversationState) -> None:
    with pytest.raises(InvalidTransition, match="once it is resolved"):
        subject_of(state, HANDOFF, NOW)


def test_a_second_rating_of_the_same_hand_off_replaces_the_first_at_any_time() -> None:
    earlier = [EarlierRating(1, None, NOW - timedelta(days=3)), EarlierRating(2, 9, NOW - timedelta(days=2))]
    assert replaces(Subject(9, 3, "cards"), earlier, NOW) == 2
    assert replaces(Subject(10, 3, "cards"), earlier, NOW) is None  # another hand-off: a new rating


def test_a_second_rating_of_the_bot_replaces_the_first_only_within_the_window() -> None:
    bot = Subject(None, None, None)
    recent = EarlierRating(4, None, NOW - BOT_WINDOW + timedelta(seconds=1))
    old = EarlierRating(5, None, NOW - BOT_WINDOW - timedelta(seconds=1))
    assert replaces(bot, [old, recent], NOW) == 4
    assert replaces(bot, [old], NOW) is None
    assert replaces(bot, [EarlierRating(6, 9, NOW)], NOW) is None  # a hand-off's rating stays its own


def test_the_question_the_customer_answered_decides_what_is_rated() -> None:
    # the bot's own goodbye question, minutes after a hand-off: the bot is rated, not the agent
    assert subject_of(ConversationState.BOT, HANDOFF, NOW, "bot") == Subject(None, None, None)
    # the question sent after the hand-off, answered late: still that hand-off
    late = NOW + HANDOFF_WINDOW * 3
    assert subject_of(ConversationState.BOT, HANDOFF, late, "escalation:9") == Subject(9, 3, "cards")


def test_a_question_about_another_hand_off_or_of_another_shape_is_refused() -> None:
    with pytest.raises(InvalidTransition, match="not this conversation's latest resolved hand-off"):
        subject_of(ConversationState.BOT, HANDOFF, NOW, "escalation:8")
    with pytest.raises(InvalidTransition):
        subject_of(ConversationState.BOT, None, NOW, "escalation:9")
    with pytest.raises(ValidationError, match='"about"'):
        subject_of(ConversationState.BOT, HANDOFF, NOW, "escalation:9; DROP TABLE")
