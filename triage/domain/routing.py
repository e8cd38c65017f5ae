"""Routing: which agent takes which waiting conversation. Pure functions, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class AgentSlot:
    """An agent as routing sees them."""

    agent_id: int
    skills: frozenset[str]
    capacity: int
    open_conversations: int
    available: bool

    @property
    def free(self) -> int:
        return self.capacity - self.open_conversations


@dataclass(frozen=True)
class WaitingConversation:
    conversation_id: str
    queue: str
    priority: int
    queued_at: datetime


@dataclass(frozen=True)
class Assignment:
    conversation_id: str
    agent_id: int


def choose_agent(queue: str, agents: list[AgentSlot]) -> AgentSlot | None:
    """An available agent with the skill and free capacity; the most free capacity wins.

    Ties go to the agent with fewer open conversations, then the lower id (stable and predictable).
    """
    candidates = [a for a in agents if a.available and queue in a.skills and a.free > 0]
    if not candidates:
        return None
    return min(candidates, key=lambda a: (-a.free, a.open_conversations, a.agent_id))


def plan_assignments(waiting: list[WaitingConversation], agents: list[AgentSlot]) -> list[Assignment]:
    """Assign waiting conversations: higher priority first, then longest waiting.

    A conversation that finds no free agent stays waiting; conversations of other queues behind it
    can still be served by agents with those skills.
    """
    slots = {a.agent_id: a for a in agents}
    plan: list[Assignment] = []
    for conv in sorted(waiting, key=lambda c: (-c.priority, c.queued_at, c.conversation_id)):
        agent = choose_agent(conv.queue, list(slots.values()))
        if agent is None:
            continue
        plan.append(Assignment(conv.conversation_id, agent.agent_id))
        slots[agent.agent_id] = AgentSlot(
            agent.agent_id, agent.skills, agent.capacity, agent.open_conversations + 1, agent.available
        )
    return plan
