"""Routing prefers agents who speak the conversation's language (skills "lang-<code>"), and never waits
for one: pure rules first, then through the service on a real (SQLite) database."""

from __future__ import annotations

from datetime import UTC, datetime

from triage import services
from triage.audit import WORKER
from triage.domain.policy import PolicyInput
from triage.domain.routing import (
    AgentSlot,
    Assignment,
    WaitingConversation,
    choose_agent,
    is_language_skill,
    language_skill,
    plan_assignments,
    queue_skills,
)
from triage.storage.db import Conversation, utcnow

from .conftest import add_user

T0 = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


def agent(agent_id, skills=("cards",), capacity=3, open_=0):
    return AgentSlot(agent_id, frozenset(skills), capacity, open_, True)


def test_language_skills_are_named_and_told_from_queues():
    assert language_skill("es") == "lang-es" and is_language_skill("lang-es")
    assert not is_language_skill("cards")
    assert queue_skills(["cards", "lang-fr", "general", "lang-es"]) == ["cards", "general"]


def test_a_speaker_is_preferred_even_with_less_free_capacity():
    english_only, speaker = agent(1, capacity=3), agent(2, ("cards", "lang-es"), capacity=3, open_=2)
    assert choose_agent("cards", [english_only, speaker], "es").agent_id == 2
    assert choose_agent("cards", [english_only, speaker], None).agent_id == 1  # as before
    assert choose_agent("cards", [english_only, speaker], "en").agent_id == 1  # nobody lists English


def test_without_a_free_speaker_the_conversation_is_not_kept_waiting():
    full_speaker = agent(2, ("cards", "lang-de"), capacity=1, open_=1)
    assert choose_agent("cards", [agent(1), full_speaker], "de").agent_id == 1


def test_the_language_does_not_override_the_queue_skill():
    speaker_of_other_queue = agent(2, ("refunds", "lang-fr"))
    assert choose_agent("cards", [speaker_of_other_queue], "fr") is None
    assert choose_agent("cards", [agent(1), speaker_of_other_queue], "fr").agent_id == 1


def test_a_plan_sends_each_conversation_to_a_speaker_while_one_has_room():
    waiting = [
        WaitingConversation("es-1", "cards", 70, T0, "es"),
        WaitingConversation("es-2", "cards", 60, T0, "es"),
        WaitingConversation("en-1", "cards", 50, T0, None),
    ]
    agents = [agent(1, capacity=3), agent(2, ("cards", "lang-es"), capacity=1)]
    assert plan_assignments(waiting, agents) == [
        Assignment("es-1", 2),  # the speaker, while they have room
        Assignment("es-2", 1),  # then whoever is free
        Assignment("en-1", 1),
    ]


def test_assign_waiting_routes_a_spanish_conversation_to_the_agent_who_speaks_it(session, policy):
    session.add(services.new_conversation("c1"))
    session.flush()
    session.get(Conversation, "c1").language = "es"
    services.escalate(
        session,
        "c1",
        decision=policy.evaluate(PolicyInput(None, human_requested=True, intent="card_arrival")),
        explanations=[],
        trigger="policy",
        actor=WORKER,
        model_version=None,
        source_event_id=7,
    )
    add_user(session, "ann", skills=("cards",), capacity=3)
    rosa = add_user(session, "rosa", skills=("cards", "lang-es"), capacity=3)
    assert services.assign_waiting(session, utcnow()) == [("c1", rosa.id)]
