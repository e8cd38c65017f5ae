"""Routing: skill, availability, capacity, priority and waiting time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from triage.domain.routing import AgentSlot, Assignment, WaitingConversation, choose_agent, plan_assignments

T0 = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def agent(agent_id, skills=("cards",), capacity=3, open_=0, available=True):
    return AgentSlot(agent_id, frozenset(skills), capacity, open_, available)


def waiting(cid, queue="cards", priority=50, minutes_ago=0):
    return WaitingConversation(cid, queue, priority, T0 - timedelta(minutes=minutes_ago))


def test_needs_the_skill_availability_and_free_capacity():
    assert choose_agent("cards", [agent(1, skills=("refunds",))]) is None
    assert choose_agent("cards", [agent(1, available=False)]) is None
    assert choose_agent("cards", [agent(1, capacity=2, open_=2)]) is None
    assert choose_agent("cards", [agent(1, skills=("refunds",)), agent(2)]).agent_id == 2


def test_most_free_capacity_wins_then_fewest_open_then_lowest_id():
    assert choose_agent("cards", [agent(1, capacity=3, open_=2), agent(2, capacity=3, open_=0)]).agent_id == 2
    assert choose_agent("cards", [agent(1, capacity=5, open_=2), agent(2, capacity=2, open_=0)]).agent_id == 1
    assert choose_agent("cards", [agent(1, capacity=5, open_=3), agent(2, capacity=2, open_=0)]).agent_id == 2
    assert choose_agent("cards", [agent(3, capacity=2, open_=0), agent(2, capacity=2, open_=0)]).agent_id == 2


def test_higher_priority_first_then_longest_waiting():
    queue = [
        waiting("low-old", priority=40, minutes_ago=30),
        waiting("high", priority=90),
        waiting("mid-new", priority=60, minutes_ago=1),
        waiting("mid-old", priority=60, minutes_ago=9),
    ]
    plan = plan_assignments(queue, [agent(1, capacity=3)])
    assert [a.conversation_id for a in plan] == ["high", "mid-old", "mid-new"]  # low-old waits


def test_capacity_is_spread_and_nobody_free_means_waiting():
    plan = plan_assignments(
        [waiting("a"), waiting("b", minutes_ago=1), waiting("c", minutes_ago=2)],
        [agent(1, capacity=1), agent(2, capacity=1)],
    )
    assert plan == [Assignment("c", 1), Assignment("b", 2)]
    assert plan_assignments([waiting("a")], []) == []


def test_a_blocked_queue_does_not_block_other_queues():
    plan = plan_assignments(
        [waiting("card", priority=99), waiting("refund", queue="refunds", priority=10)],
        [agent(1, skills=("refunds",))],
    )
    assert plan == [Assignment("refund", 1)]
