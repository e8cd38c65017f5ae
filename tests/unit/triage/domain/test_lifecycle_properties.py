"""Property tests of the state machine (hypothesis): whatever people and the system do, in any order,
no agent ends over capacity without a supervisor's reason, no conversation is in a queue and with an
agent at once, no SLA deadline lacks its band, and a refused action changes nothing."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from triage.domain.lifecycle import (
    AgentSeat,
    BandRule,
    ConversationState,
    Handling,
    Lifecycle,
    Placement,
)
from triage.errors import TriageError

CONVERSATIONS = ["c1", "c2", "c3"]
CAPACITY = {1: 1, 2: 2, 3: 1}
QUEUES = ["cards", "refunds", "general"]

conversations = st.sampled_from(CONVERSATIONS)
agents = st.sampled_from(sorted(CAPACITY))
minutes = st.integers(min_value=0, max_value=120)


def band_for(priority: int) -> BandRule:
    return BandRule("P1", 300) if priority >= 80 else BandRule("P3", 3600)


class ContactCentre(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.machines = {cid: Lifecycle(Handling(cid)) for cid in CONVERSATIONS}
        self.now = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
        self.via_override: dict[str, int] = {}  # conversation -> the agent a supervisor gave it over capacity

    def seat(self, agent_id: int) -> AgentSeat:
        held = sum(
            1
            for m in self.machines.values()
            if m.h.state == ConversationState.ASSIGNED and m.h.assigned_agent_id == agent_id
        )
        return AgentSeat(agent_id, is_agent=True, active=True, capacity=CAPACITY[agent_id], open_count=held)

    def attempt(self, cid: str, action) -> None:  # type: ignore[no-untyped-def]
        """Run an action; a refusal must leave the conversation exactly as it was."""
        machine = self.machines[cid]
        before = copy.deepcopy(machine.h)
        try:
            action(machine)
        except TriageError:
            assert machine.h == before

    @rule(later=minutes)
    def time_passes(self, later: int) -> None:
        self.now += timedelta(minutes=later)

    @rule(cid=conversations, priority=st.integers(0, 100), queue=st.sampled_from(QUEUES))
    def escalate(self, cid: str, priority: int, queue: str) -> None:
        band = band_for(priority)
        placement = Placement(queue, priority, band.name, band.sla_seconds)
        self.attempt(cid, lambda m: m.escalate(placement, self.now))

    @rule(cid=conversations, agent=agents)
    def route(self, cid: str, agent: int) -> None:
        self.attempt(cid, lambda m: m.route(self.seat(agent), self.now))

    @rule(cid=conversations, agent=agents)
    def accept(self, cid: str, agent: int) -> None:
        self.attempt(cid, lambda m: m.accept(self.seat(agent), self.now))

    @rule(cid=conversations, agent=agents)
    def supervisor_assigns_over_capacity(self, cid: str, agent: int) -> None:
        def act(m: Lifecycle) -> None:
            effects = m.transfer_to_agent(self.seat(agent), self.now, reason="x", override_reason="VIP")
            if "over_capacity" in effects.audit[0].inputs:
                self.via_override[m.h.conversation_id] = agent

        self.attempt(cid, act)

    @rule(cid=conversations, agent=agents)
    def transfer_to_agent(self, cid: str, agent: int) -> None:
        self.attempt(cid, lambda m: m.transfer_to_agent(self.seat(agent), self.now, reason="skills"))

    @rule(cid=conversations, queue=st.sampled_from([*QUEUES, "nowhere"]))
    def transfer_to_queue(self, cid: str, queue: str) -> None:
        self.attempt(cid, lambda m: m.transfer_to_queue(queue, QUEUES, self.now, reason="topic"))

    @rule(cid=conversations, agent=agents)
    def reply(self, cid: str, agent: int) -> None:
        self.attempt(cid, lambda m: m.agent_replied(agent, self.now))

    @rule(cid=conversations, agent=agents)
    def agent_goes_offline(self, cid: str, agent: int) -> None:
        if self.machines[cid].h.assigned_agent_id == agent:
            self.attempt(cid, lambda m: m.requeue(self.now, reason="agent offline", agent_id=agent))

    @rule(cid=conversations, reason=st.sampled_from([None, "", "customer left"]))
    def resolve(self, cid: str, reason: str | None) -> None:
        self.attempt(cid, lambda m: m.resolve(self.now, reason=reason))

    @rule(cid=conversations, latest=st.booleans())
    def unflag(self, cid: str, latest: bool) -> None:
        self.attempt(cid, lambda m: m.unflag(is_latest_escalation=latest, now=self.now))

    @rule(cid=conversations)
    def customer_writes(self, cid: str) -> None:
        self.attempt(cid, lambda m: m.customer_returns())

    @rule(cid=conversations, priority=st.integers(-5, 105))
    def override_priority(self, cid: str, priority: int) -> None:
        self.attempt(
            cid, lambda m: m.override_priority(priority, band_for(max(0, priority)), self.now, reason="why")
        )

    @rule(cid=conversations, points=st.integers(-30, 30))
    def tier_changes(self, cid: str, points: int) -> None:
        self.attempt(cid, lambda m: m.follow_tier(points, band_for, self.now, inputs={}))

    @rule(cid=conversations)
    def sla_check(self, cid: str) -> None:
        self.attempt(cid, lambda m: m.check_sla(self.now))

    @invariant()
    def every_conversation_is_consistent(self) -> None:
        for machine in self.machines.values():
            assert machine.h.problems() == [], machine.h

    @invariant()
    def no_agent_over_capacity_without_a_supervisor(self) -> None:
        """Leaving out what a supervisor assigned over capacity (while the agent still holds it), no
        agent holds more than their capacity."""
        for agent, capacity in CAPACITY.items():
            held = [
                cid
                for cid, m in self.machines.items()
                if m.h.state == ConversationState.ASSIGNED and m.h.assigned_agent_id == agent
            ]
            assert len([cid for cid in held if self.via_override.get(cid) != agent]) <= capacity

    @invariant()
    def a_breach_is_only_recorded_for_a_missed_deadline(self) -> None:
        for machine in self.machines.values():
            h = machine.h
            if h.sla_breached and h.sla_deadline is not None:
                assert h.sla_deadline < self.now


ContactCentre.TestCase.settings = settings(max_examples=300, stateful_step_count=40, deadline=None)
TestContactCentre = ContactCentre.TestCase
