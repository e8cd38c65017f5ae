"""Routing: which agent takes which waiting conversation. Pure functions, no I/O.

An agent's skills are the queues they serve and the languages they speak, the latter as ``lang-<ISO 639-1
code>`` ("lang-es"): one list, so the admin routes, the CLI and the seeds need nothing new. A conversation
in a language goes to an agent who speaks it when one of those who could take it does; otherwise to
whoever could take it, as before (a customer is not kept waiting for a speaker).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

LANGUAGE_SKILL_PREFIX = "lang-"


def language_skill(language: str) -> str:
    """The skill of an agent who speaks ``language`` (ISO 639-1): "es" -> "lang-es"."""
    return f"{LANGUAGE_SKILL_PREFIX}{language}"


def is_language_skill(skill: str) -> bool:
    return skill.startswith(LANGUAGE_SKILL_PREFIX)


def queue_skills(skills: Iterable[str]) -> list[str]:
    """The skills that are queues (not languages), in their order."""
    return [skill for skill in skills if not is_language_skill(skill)]


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
    language: str | None = None  # the conversation's (ISO 639-1), None: unknown


@dataclass(frozen=True)
class Assignment:
    conversation_id: str
    agent_id: int


def choose_agent(queue: str, agents: list[AgentSlot], language: str | None = None) -> AgentSlot | None:
    """An available agent with the skill and free capacity; among them those who speak the
    conversation's ``language`` if any do; then the most free capacity wins.

    Ties go to the agent with fewer open conversations, then the lower id (stable and predictable).
    """
    candidates = [a for a in agents if a.available and queue in a.skills and a.free > 0]
    if language is not None:
        speakers = [a for a in candidates if language_skill(language) in a.skills]
        candidates = speakers or candidates
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
        agent = choose_agent(conv.queue, list(slots.values()), conv.language)
        if agent is None:
            continue
        plan.append(Assignment(conv.conversation_id, agent.agent_id))
        slots[agent.agent_id] = AgentSlot(
            agent.agent_id, agent.skills, agent.capacity, agent.open_conversations + 1, agent.available
        )
    return plan
