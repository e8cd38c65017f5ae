"""Which customer message the bot answers after the hand-back (``unanswered_after_resume``)."""

from __future__ import annotations

from typing import Any

from triage.benchmarks.rasa_events import action_event, bot_event, user_event
from triage.rasa.events import unanswered_after_resume

RESOLVED = 1_000.0  # when the agent resolved, as the outbox payload carries it


def handed_off(*tail: dict[str, Any]) -> list[dict[str, Any]]:
    """A conversation that was escalated (paused, notice), where the agent replied, then ``tail``."""
    return [
        user_event("I am furious", timestamp=900.0),
        action_event(),
        {"event": "pause", "timestamp": 901.0},
        bot_event("A member of our team will join shortly.", "utter_handoff_notice", timestamp=901.5),
        bot_event("Hi, Ann here, it's refunded.", "clearline_agent", timestamp=950.0),
        *tail,
    ]


def resume() -> dict[str, Any]:
    return {"event": "resume", "timestamp": 1_000.3}


def test_a_message_sent_between_the_resolve_and_the_resume_is_picked() -> None:
    late = user_event("and my card?", intent="card_arrival", timestamp=1_000.1)
    assert (
        unanswered_after_resume(handed_off(late, resume(), {"event": "active_loop", "name": None}), RESOLVED)
        is late
    )


def test_the_latest_of_several_late_messages_is_picked() -> None:
    first = user_event("hello?", timestamp=1_000.05)
    second = user_event("what about my card", timestamp=1_000.2)
    assert unanswered_after_resume(handed_off(first, second, resume()), RESOLVED) is second


def test_messages_from_before_the_resolve_are_the_agents() -> None:
    seen = user_event("thanks, bye", intent="thank", timestamp=999.0)
    assert unanswered_after_resume(handed_off(seen, resume()), RESOLVED) is None


def test_nothing_is_pending_without_a_late_message_or_a_resume() -> None:
    assert unanswered_after_resume(handed_off(resume()), RESOLVED) is None
    late = user_event("and my card?", timestamp=1_000.1)
    assert unanswered_after_resume(handed_off(late), RESOLVED) is None  # not resumed yet
    assert unanswered_after_resume([], RESOLVED) is None


def test_a_user_message_after_the_resume_means_rasa_answered_or_it_was_already_triggered() -> None:
    late = user_event("and my card?", timestamp=1_000.1)
    newer = user_event("hello", intent="greet", timestamp=1_001.0)
    assert unanswered_after_resume(handed_off(late, resume(), newer), RESOLVED) is None
    replay = {**user_event("EXTERNAL: card_arrival", timestamp=1_000.5), "metadata": {"is_external": True}}
    assert unanswered_after_resume(handed_off(late, resume(), replay), RESOLVED) is None


def test_paused_again_after_the_resume_answers_nothing() -> None:
    late = user_event("and my card?", timestamp=1_000.1)
    events = handed_off(late, resume(), {"event": "pause", "timestamp": 1_000.4})
    assert unanswered_after_resume(events, RESOLVED) is None


def test_external_messages_and_odd_shapes_are_not_customer_messages() -> None:
    replay = {**user_event("EXTERNAL: greet", timestamp=1_000.1), "metadata": {"is_external": True}}
    assert unanswered_after_resume(handed_off(replay, resume()), RESOLVED) is None
    odd = {"event": "user", "text": "hi", "metadata": "not a dict", "timestamp": "yesterday"}
    assert unanswered_after_resume(handed_off(odd, resume()), RESOLVED) is None
    with_odd_metadata = {**user_event("hi", timestamp=1_000.1), "metadata": ["x"]}
    assert unanswered_after_resume(handed_off(with_odd_metadata, resume()), RESOLVED) is with_odd_metadata
