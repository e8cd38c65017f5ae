"""What a customer's 1-5 rating rates, and when a new one replaces an earlier one (issue #20).

After a resolved hand-off the worker asks the customer to rate it; after the bot's goodbye the bot asks
itself. The bot keeps what the question it asked was about and sends it with the rating: the hand-off
(its agent and queue are kept with the rating) or the bot's own conversation; a rating without it (an
older bot) rates the newest hand-off if an agent answered it and it was resolved within
``HANDOFF_WINDOW``, otherwise the bot. A customer who taps again (changed their mind,
a double tap) replaces their rating of the same subject instead of counting twice: the same hand-off at any
time, the bot within ``BOT_WINDOW``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from triage.domain.lifecycle import ConversationState
from triage.errors import InvalidTransition, ValidationError

LOWEST, HIGHEST = 1, 5
HANDOFF_WINDOW = timedelta(hours=24)
BOT_WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class ResolvedHandoff:
    escalation_id: int
    resolved_at: datetime
    agent_id: int | None
    queue: str | None


@dataclass(frozen=True)
class EarlierRating:
    id: int
    escalation_id: int | None
    created_at: datetime


@dataclass(frozen=True)
class Subject:
    escalation_id: int | None  # None: the bot's own conversation
    agent_id: int | None
    queue: str | None

    @property
    def escalated(self) -> bool:
        return self.escalation_id is not None


def checked_rating(value: object) -> int:
    # bool is an int: a JSON true is no rating
    if type(value) is not int or not LOWEST <= value <= HIGHEST:
        raise ValidationError(f"a rating is a whole number from {LOWEST} to {HIGHEST}")
    return value


# the bot's slot that keeps what a pending question is about (bot/domain/csat.yml)
ASKED_SLOT = "csat_asked"
ABOUT_THE_BOT = "bot"
ABOUT_A_HANDOFF = re.compile(r"escalation:(\d{1,18})")


def subject_of(
    state: ConversationState, latest: ResolvedHandoff | None, now: datetime, about: str | None = None
) -> Subject:
    """What a rating given now rates. ``about``: what the question the customer answered was about, as
    the bot kept it ("bot", or "escalation:<id>" for the question Clearline sent after resolving that
    hand-off); without it (an older bot) the newest hand-off if it was resolved within the window.
    ``latest``: the conversation's newest hand-off if an agent answered it and it was resolved (rated
    already or not: a second rating replaces the first, see ``replaces``). A conversation waiting for or
    with an agent has nothing to rate yet."""
    if state in (ConversationState.QUEUED, ConversationState.ASSIGNED):
        raise InvalidTransition("the conversation is with our team: it can be rated once it is resolved")
    if about == ABOUT_THE_BOT:
        return Subject(None, None, None)
    if about is not None:
        asked = ABOUT_A_HANDOFF.fullmatch(about)
        if asked is None:
            raise ValidationError('"about" is "bot" or "escalation:<id>"')
        if latest is None or latest.escalation_id != int(asked.group(1)):
            raise InvalidTransition(f"{about} is not this conversation's latest resolved hand-off")
        return Subject(latest.escalation_id, latest.agent_id, latest.queue)
    if latest is not None and now - latest.resolved_at <= HANDOFF_WINDOW:
        return Subject(latest.escalation_id, latest.agent_id, latest.queue)
    return Subject(None, None, None)


def replaces(subject: Subject, earlier: list[EarlierRating], now: datetime) -> int | None:
    """The id of the earlier rating of the same subject that a new one replaces, if any."""
    for rating in sorted(earlier, key=lambda r: r.created_at, reverse=True):
        if subject.escalated and rating.escalation_id == subject.escalation_id:
            return rating.id
        if not subject.escalated and rating.escalation_id is None and now - rating.created_at <= BOT_WINDOW:
            return rating.id
    return None
