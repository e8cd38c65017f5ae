"""A conversation's life as one state machine: bot -> queued -> assigned -> resolved -> bot.

``Handling`` is the part of a conversation the hand-off rules own; every change to it is made here, by
a method of ``Lifecycle`` that first checks the rules and then returns ``Effects``: the audit notes and
the Rasa commands that must be stored with the change, in the caller's transaction. Nothing here reads
a clock, a database or the network: the caller passes ``now`` and what it knows of the agents.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from triage.errors import (
    AgentNotFound,
    CapacityExceeded,
    InvalidTransition,
    NotAssignedToYou,
    ValidationError,
)

HANDOFF_NOTICE = "utter_handoff_notice"
HANDOFF_RESUMED = "utter_handoff_resumed"
# after a hand-off an agent answered, the customer is asked to rate it (bot/domain/csat.yml)
ASK_CSAT = "utter_ask_csat"
MAX_REASON_CHARS = 500

# "agent_joined": the customer is told which agent took the conversation ({"agent_id"}; the storage adapter
# adds the agent's display name)
CommandKind = Literal["pause", "resume", "say", "utter", "answer_pending", "agent_joined", "webhook"]
# an alert's POST to a receiver (triage.webhooks), not a command for Rasa: retried, then given up
WEBHOOK: CommandKind = "webhook"


class ConversationState(enum.StrEnum):
    BOT = "bot"  # the assistant is answering
    QUEUED = "queued"  # escalated, waiting for an agent
    ASSIGNED = "assigned"  # an agent owns it; the bot is paused
    RESOLVED = "resolved"  # hand-off ended, the bot answers again


OPEN_STATES = (ConversationState.QUEUED, ConversationState.ASSIGNED)
BOT_STATES = (ConversationState.BOT, ConversationState.RESOLVED)


@dataclass
class Handling:
    """What the hand-off rules own of one conversation. Invariants (checked by ``problems``): queued
    means a queue and no agent, assigned means an agent, and an SLA deadline always has its priority
    band. A resolved conversation keeps the agent who had it, for the figures and the agent's history."""

    conversation_id: str
    state: ConversationState = ConversationState.BOT
    queue: str | None = None
    priority: int | None = None
    priority_band: str | None = None
    priority_overridden: bool = False
    assigned_agent_id: int | None = None
    escalated_at: datetime | None = None
    queued_at: datetime | None = None
    assigned_at: datetime | None = None
    first_agent_reply_at: datetime | None = None
    sla_deadline: datetime | None = None
    sla_breached: bool = False
    resolved_at: datetime | None = None
    human_requested: bool = False
    fallback_count: int = 0

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES

    def problems(self) -> list[str]:
        """Broken invariants (empty when the state is consistent)."""
        found = []
        if self.state == ConversationState.QUEUED and (
            self.queue is None or self.assigned_agent_id is not None
        ):
            found.append("queued needs a queue and no agent")
        if self.state == ConversationState.ASSIGNED and self.assigned_agent_id is None:
            found.append("assigned needs an agent")
        if self.sla_deadline is not None and self.priority_band is None:
            found.append("an SLA deadline needs a priority band")
        return found


@dataclass(frozen=True)
class Placement:
    """Where an escalation puts a conversation: the policy's decision, or a person's override."""

    queue: str
    priority: int
    band: str
    sla_seconds: int


@dataclass(frozen=True)
class BandRule:
    name: str
    sla_seconds: int


@dataclass(frozen=True)
class AgentSeat:
    """What the rules need to know of a person who may receive a conversation."""

    id: int
    is_agent: bool  # only agents receive conversations (supervisors and admins do not)
    active: bool
    capacity: int
    open_count: int  # conversations this agent holds now

    @property
    def full(self) -> bool:
        return self.open_count >= self.capacity


@dataclass(frozen=True)
class AuditNote:
    action: str
    inputs: dict[str, Any] = field(default_factory=dict)
    outcome: dict[str, Any] = field(default_factory=dict)
    versions: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class RasaCommand:
    kind: CommandKind
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class Effects:
    """What must be stored with a change: audit notes and outbox commands, in order."""

    audit: list[AuditNote] = field(default_factory=list)
    commands: list[RasaCommand] = field(default_factory=list)

    def note(self, action: str, **parts: dict[str, Any]) -> Effects:
        self.audit.append(AuditNote(action, **parts))
        return self

    def command(self, kind: CommandKind, payload: dict[str, Any] | None = None) -> Effects:
        self.commands.append(RasaCommand(kind, payload or {}))
        return self


def sla_missed(handling: Handling, now: datetime) -> bool:
    """The one definition of a first-reply SLA breach: recorded by the SLA check, or a deadline that
    passed before the first agent reply (or before now, with no reply yet)."""
    if handling.sla_breached or handling.sla_deadline is None:
        return handling.sla_breached
    return (handling.first_agent_reply_at or now) > handling.sla_deadline


def check_priority(priority: object) -> None:
    if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 100:
        raise ValidationError("priority must be an integer from 0 to 100")


def _reason(reason: str | None, what: str) -> str:
    text = reason.strip() if isinstance(reason, str) else ""
    if not text:
        raise ValidationError(f"{what} needs a reason")
    if len(text) > MAX_REASON_CHARS:
        raise ValidationError(f"the reason is longer than {MAX_REASON_CHARS} characters")
    return text


class Lifecycle:
    """The rules of one conversation's hand-off. Each method checks its rule, changes ``handling`` and
    returns the effects; a refused action raises a domain error and changes nothing."""

    def __init__(self, handling: Handling) -> None:
        self.h = handling

    # -- raising and ending a hand-off --------------------------------------------------------------

    def escalate(self, placement: Placement, now: datetime) -> Effects:
        h = self.h
        if h.state not in BOT_STATES:
            raise InvalidTransition(f"conversation {h.conversation_id!r} is already {h.state.value}")
        h.state = ConversationState.QUEUED
        h.queue = placement.queue
        h.priority = placement.priority
        h.priority_band = placement.band
        h.priority_overridden = False
        h.assigned_agent_id = None
        h.escalated_at = h.queued_at = now
        h.assigned_at = h.first_agent_reply_at = h.resolved_at = None
        h.sla_deadline = now + timedelta(seconds=placement.sla_seconds)
        h.sla_breached = False
        return Effects().command("pause").command("utter", {"name": HANDOFF_NOTICE, "handoff": "waiting"})

    def request_person(self) -> None:
        """The customer (or the bot for them) asked for a person."""
        self.h.human_requested = True

    def note_fallback(self) -> None:
        self.h.fallback_count += 1

    def resolve(self, now: datetime, *, reason: str | None = None) -> Effects:
        """End the hand-off. A conversation no person ever answered needs a reason."""
        h = self.h
        self.require_open("not open")
        inputs: dict[str, Any] = {}
        if h.first_agent_reply_at is None:
            inputs["reason"] = _reason(reason, "resolving a conversation no agent answered")
        elif reason and reason.strip():
            inputs["reason"] = _reason(reason, "resolve")
        answered = h.first_agent_reply_at is not None
        effects = self._return_to_bot(ConversationState.RESOLVED, now, unanswered_since=now)
        if answered:  # a hand-off nobody answered has nothing to rate
            # optional: a bot model without the question skips it instead of holding the outbox up
            effects.command("utter", {"name": ASK_CSAT, "optional": True})
        return effects.note("resolve", inputs=inputs, outcome={"state": h.state.value})

    def unflag(self, *, is_latest_escalation: bool, now: datetime) -> Effects:
        """A withdrawn flag: a conversation still waiting for its latest escalation goes back to the
        bot, which answers what the customer wrote while it waited (no agent saw it)."""
        h = self.h
        if h.state == ConversationState.QUEUED and is_latest_escalation:
            return self._return_to_bot(ConversationState.BOT, now, unanswered_since=h.queued_at or now)
        return Effects()

    def customer_returns(self) -> Effects:
        """The customer writes again after a resolved hand-off: the bot's conversation again."""
        if self.h.state != ConversationState.RESOLVED:
            return Effects()
        self.h.state = ConversationState.BOT
        return Effects().note("back_to_bot")

    def _return_to_bot(
        self, state: ConversationState, now: datetime, *, unanswered_since: datetime
    ) -> Effects:
        h = self.h
        h.state = state
        h.resolved_at = now
        h.human_requested = False
        h.fallback_count = 0
        return (
            Effects()
            .command("resume")
            .command("utter", {"name": HANDOFF_RESUMED, "handoff": "ended"})
            .command("answer_pending", {"since": unanswered_since.timestamp()})
        )

    # -- who handles it ----------------------------------------------------------------------------

    def route(self, agent: AgentSeat, now: datetime) -> Effects:
        """The router's assignment of a queued conversation to an agent with free capacity."""
        self._require(ConversationState.QUEUED, "not queued")
        self._check_seat(agent, override_reason=None)
        before = {"queue": self.h.queue, "priority": self.h.priority}
        self._assign(agent, now)
        return (
            Effects()
            .note("assign", inputs=before, outcome={"agent_id": agent.id})
            .command("agent_joined", {"agent_id": agent.id})
        )

    def accept(self, agent: AgentSeat, now: datetime, *, override_reason: str | None = None) -> Effects:
        """An agent takes a queued conversation, or confirms one routed to them. Over capacity only with
        a supervisor's reason."""
        h = self.h
        self.require_open("not waiting")
        if h.state == ConversationState.ASSIGNED:
            if h.assigned_agent_id != agent.id:
                raise NotAssignedToYou(f"conversation {h.conversation_id!r} is assigned to another agent")
            return Effects().note("accept", outcome={"agent_id": agent.id})
        inputs = self._check_seat(agent, override_reason)
        self._assign(agent, now)
        return (
            Effects()
            .note("accept", inputs=inputs, outcome={"agent_id": agent.id})
            .command("agent_joined", {"agent_id": agent.id})
        )

    def transfer_to_queue(
        self, queue: str, known_queues: list[str], now: datetime, *, reason: str
    ) -> Effects:
        h = self.h
        self.require_open("not open")
        reason = _reason(reason, "a transfer")
        if queue not in known_queues:
            raise ValidationError(f"unknown queue {queue!r}; known: {', '.join(known_queues)}")
        before = self._where()
        h.state = ConversationState.QUEUED
        h.queue = queue
        h.assigned_agent_id = None
        h.queued_at = now
        return Effects().note(
            "transfer",
            inputs={"reason": reason, "to_queue": queue, "to_agent_id": None, "before": before},
            outcome=self._where(),
        )

    def transfer_to_agent(
        self, agent: AgentSeat, now: datetime, *, reason: str, override_reason: str | None = None
    ) -> Effects:
        self.require_open("not open")
        if agent.id == self.h.assigned_agent_id:
            raise InvalidTransition(
                f"conversation {self.h.conversation_id!r} is already with agent {agent.id}"
            )
        reason = _reason(reason, "a transfer")
        before = self._where()
        inputs = self._check_seat(agent, override_reason)
        self._assign(agent, now)
        return (
            Effects()
            .note(
                "transfer",
                inputs={"reason": reason, "to_queue": None, "to_agent_id": agent.id, "before": before}
                | inputs,
                outcome=self._where(),
            )
            .command("agent_joined", {"agent_id": agent.id})
        )

    def requeue(self, now: datetime, *, reason: str, agent_id: int) -> Effects:
        """Back to the queue (the agent went offline); the SLA keeps running from the escalation."""
        self._require(ConversationState.ASSIGNED, "not assigned")
        self.h.state = ConversationState.QUEUED
        self.h.assigned_agent_id = None
        self.h.queued_at = now
        return Effects().note("requeue", inputs={"agent_id": agent_id, "reason": reason})

    def agent_replied(self, agent_id: int, now: datetime) -> None:
        """An agent's reply: the first one stops the SLA clock."""
        self._require(ConversationState.ASSIGNED, "not assigned")
        if self.h.first_agent_reply_at is None:
            self.h.first_agent_reply_at = now

    # -- priority and SLA ---------------------------------------------------------------------------

    def override_priority(self, priority: int, band: BandRule, now: datetime, *, reason: str) -> Effects:
        """A person's priority; the band and (until the first reply or a missed deadline) the SLA
        deadline follow, and the tier no longer moves it."""
        check_priority(priority)
        self.require_open("not open")
        reason = _reason(reason, "a priority override")
        before = self._move_priority(priority, band, now)
        self.h.priority_overridden = True
        return Effects().note(
            "override_priority", inputs={"reason": reason, "before": before}, outcome=self._priority()
        )

    def follow_tier(self, points: int, band_for: Any, now: datetime, *, inputs: dict[str, Any]) -> Effects:
        """Move a waiting conversation by the change of its customer's tier points; a person's priority
        and a conversation an agent already has are left alone. ``band_for(priority) -> BandRule``."""
        h = self.h
        if h.state != ConversationState.QUEUED or h.priority is None or h.priority_overridden:
            return Effects()
        priority = max(0, min(100, h.priority + points))
        if priority == h.priority:
            return Effects()
        before = self._move_priority(priority, band_for(priority), now)
        return Effects().note(
            "reprioritise", inputs={"reason": "tier", **inputs, "before": before}, outcome=self._priority()
        )

    def check_sla(self, now: datetime) -> Effects:
        """Record a first-reply breach once, when the deadline passed with no agent reply."""
        h = self.h
        if not h.is_open or h.sla_breached or h.first_agent_reply_at is not None or h.sla_deadline is None:
            return Effects()
        if h.sla_deadline >= now:
            return Effects()
        h.sla_breached = True
        return Effects().note(
            "sla_breach",
            inputs={"deadline": h.sla_deadline.isoformat(), "band": h.priority_band},
            outcome={"state": h.state.value, "queue": h.queue, "agent_id": h.assigned_agent_id},
        )

    # -- helpers ------------------------------------------------------------------------------------

    def _require(self, state: ConversationState, what: str) -> None:
        if self.h.state != state:
            raise InvalidTransition(
                f"conversation {self.h.conversation_id!r} is {self.h.state.value}, {what}"
            )

    def require_open(self, what: str) -> None:
        if not self.h.is_open:
            raise InvalidTransition(
                f"conversation {self.h.conversation_id!r} is {self.h.state.value}, {what}"
            )

    @staticmethod
    def _check_seat(agent: AgentSeat, override_reason: str | None) -> dict[str, Any]:
        if not agent.active or not agent.is_agent:
            # only active agents receive conversations (a supervisor or an admin is not an agent)
            raise AgentNotFound(f"agent {agent.id} not found")
        if not agent.full:
            return {}
        if override_reason is None:
            raise CapacityExceeded(
                f"agent {agent.id} is at capacity ({agent.open_count}/{agent.capacity}); "
                "a supervisor can assign over capacity with a reason"
            )
        reason = _reason(override_reason, "assigning over capacity")
        return {"over_capacity": {"reason": reason, "open": agent.open_count, "capacity": agent.capacity}}

    def _assign(self, agent: AgentSeat, now: datetime) -> None:
        self.h.state = ConversationState.ASSIGNED
        self.h.assigned_agent_id = agent.id
        self.h.assigned_at = now

    def _move_priority(self, priority: int, band: BandRule, now: datetime) -> dict[str, Any]:
        h = self.h
        before = self._priority()
        h.priority = priority
        h.priority_band = band.name
        # the deadline follows the band until the first reply, or until it was missed, recorded by the
        # SLA check or not yet (a breach stays one)
        if h.escalated_at is not None and h.first_agent_reply_at is None and not sla_missed(h, now):
            h.sla_deadline = h.escalated_at + timedelta(seconds=band.sla_seconds)
        return before

    def _priority(self) -> dict[str, Any]:
        return {"priority": self.h.priority, "band": self.h.priority_band}

    def _where(self) -> dict[str, Any]:
        h = self.h
        return {
            "state": h.state.value,
            "queue": h.queue,
            "priority": h.priority,
            "agent_id": h.assigned_agent_id,
        }
