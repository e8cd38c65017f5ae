"""The conversation state machine on plain objects: no database, no clock, no network."""

from __future__ import annotations

import ast
import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from triage.domain.lifecycle import (
    ASK_CSAT,
    HANDOFF_NOTICE,
    HANDOFF_RESUMED,
    AgentSeat,
    BandRule,
    ConversationState,
    Handling,
    Lifecycle,
    Placement,
    sla_missed,
)
from triage.errors import (
    AgentNotFound,
    CapacityExceeded,
    InvalidTransition,
    NotAssignedToYou,
    ValidationError,
)

T0 = datetime(2026, 12, 6, 9, 0, tzinfo=UTC)
P2 = Placement(queue="refunds", priority=70, band="P2", sla_seconds=600)
QUEUES = ["cards", "refunds", "general"]


def seat(agent_id: int = 1, *, capacity: int = 2, open_count: int = 0, is_agent: bool = True) -> AgentSeat:
    return AgentSeat(agent_id, is_agent=is_agent, active=True, capacity=capacity, open_count=open_count)


def queued() -> Lifecycle:
    machine = Lifecycle(Handling("c1"))
    machine.escalate(P2, T0)
    return machine


def test_escalation_queues_with_a_deadline_and_pauses_the_bot() -> None:
    machine = Lifecycle(Handling("c1"))
    effects = machine.escalate(P2, T0)
    h = machine.h
    assert (h.state, h.queue, h.priority, h.priority_band) == (ConversationState.QUEUED, "refunds", 70, "P2")
    assert h.sla_deadline == T0 + timedelta(seconds=600) and h.queued_at == T0
    assert [(c.kind, c.payload) for c in effects.commands] == [
        ("pause", {}),
        ("utter", {"name": HANDOFF_NOTICE, "handoff": "waiting"}),
    ]
    with pytest.raises(InvalidTransition, match="already queued"):
        machine.escalate(P2, T0)


def test_router_and_accept_respect_capacity_and_only_agents_receive() -> None:
    machine = queued()
    with pytest.raises(CapacityExceeded, match="2/2"):
        machine.route(seat(capacity=2, open_count=2), T0)
    with pytest.raises(CapacityExceeded):
        machine.accept(seat(capacity=2, open_count=2), T0)
    with pytest.raises(AgentNotFound):
        machine.accept(seat(is_agent=False), T0)  # a supervisor does not receive conversations
    assert machine.h.state == ConversationState.QUEUED  # refused actions change nothing
    effects = machine.accept(seat(capacity=2, open_count=2), T0, override_reason="regular customer of hers")
    assert machine.h.assigned_agent_id == 1
    assert effects.audit[0].inputs["over_capacity"] == {
        "reason": "regular customer of hers",
        "open": 2,
        "capacity": 2,
    }


def test_accept_of_someone_elses_conversation_is_refused() -> None:
    machine = queued()
    machine.route(seat(1), T0)
    with pytest.raises(NotAssignedToYou):
        machine.accept(seat(2), T0)
    assert machine.accept(seat(1), T0).audit[0].action == "accept"  # confirming one's own


def test_resolve_needs_a_reason_until_an_agent_has_answered() -> None:
    machine = queued()
    machine.route(seat(), T0)
    with pytest.raises(ValidationError, match="needs a reason"):
        machine.resolve(T0)
    with pytest.raises(ValidationError, match="longer than"):
        machine.resolve(T0, reason="x" * 501)
    machine.agent_replied(1, T0 + timedelta(seconds=30))
    effects = machine.resolve(T0 + timedelta(minutes=2))
    assert machine.h.state == ConversationState.RESOLVED and machine.h.assigned_agent_id == 1
    assert [c.kind for c in effects.commands] == ["resume", "utter", "answer_pending", "utter"]
    assert effects.commands[1].payload == {"name": HANDOFF_RESUMED, "handoff": "ended"}
    assert effects.commands[3].payload == {
        "name": ASK_CSAT,
        "optional": True,
    }  # an answered hand-off is rated
    assert machine.customer_returns().audit[0].action == "back_to_bot"
    assert machine.h.state == ConversationState.BOT


def test_unflag_returns_only_a_waiting_conversation_of_the_latest_escalation() -> None:
    machine = queued()
    assert machine.unflag(is_latest_escalation=False, now=T0).commands == []
    effects = machine.unflag(is_latest_escalation=True, now=T0 + timedelta(minutes=5))
    assert machine.h.state == ConversationState.BOT
    assert effects.commands[-1].payload == {"since": T0.timestamp()}  # what it wrote while waiting


def test_override_stops_the_tier_from_moving_the_priority() -> None:
    machine = queued()

    def band_for(priority: int) -> BandRule:
        return BandRule("P1", 300) if priority >= 80 else BandRule("P2", 600)

    moved = machine.follow_tier(15, band_for, T0, inputs={"tier": "vip"})
    assert machine.h.priority == 85 and machine.h.priority_band == "P1"
    assert machine.h.sla_deadline == T0 + timedelta(seconds=300)  # the deadline follows the band
    assert moved.audit[0].action == "reprioritise"
    machine.override_priority(40, BandRule("P3", 1800), T0, reason="test account")
    assert machine.follow_tier(15, band_for, T0, inputs={}).audit == []
    assert machine.h.priority == 40 and machine.h.priority_overridden
    with pytest.raises(ValidationError):
        machine.override_priority(101, BandRule("P1", 300), T0, reason="x")
    # a later escalation starts without the override
    machine.route(seat(), T0)
    machine.agent_replied(1, T0)
    machine.resolve(T0)
    machine.escalate(P2, T0 + timedelta(hours=1))
    assert not machine.h.priority_overridden


def test_sla_breach_is_recorded_once_and_has_one_definition() -> None:
    machine = queued()
    deadline = machine.h.sla_deadline
    assert deadline is not None
    assert machine.check_sla(deadline).audit == []  # at the deadline: not yet
    assert not sla_missed(machine.h, deadline)
    late = deadline + timedelta(seconds=1)
    assert sla_missed(machine.h, late)  # overdue now, before the check ran
    assert machine.check_sla(late).audit[0].action == "sla_breach"
    assert machine.check_sla(late).audit == []
    answered = queued()
    answered.route(seat(), T0)
    answered.agent_replied(1, T0 + timedelta(seconds=10))
    assert answered.check_sla(T0 + timedelta(days=1)).audit == []
    assert not sla_missed(answered.h, T0 + timedelta(days=1))


def test_transfers() -> None:
    machine = queued()
    machine.route(seat(1), T0)
    with pytest.raises(ValidationError, match="unknown queue"):
        machine.transfer_to_queue("nowhere", QUEUES, T0, reason="x")
    machine.transfer_to_queue("cards", QUEUES, T0, reason="card problem")
    assert (machine.h.state, machine.h.queue, machine.h.assigned_agent_id) == (
        ConversationState.QUEUED,
        "cards",
        None,
    )
    machine.transfer_to_agent(seat(2), T0, reason="speaks German")
    with pytest.raises(InvalidTransition, match="already with agent 2"):
        machine.transfer_to_agent(seat(2), T0, reason="again")
    machine.requeue(T0, reason="agent offline", agent_id=2)
    assert machine.h.state == ConversationState.QUEUED


def test_the_domain_imports_no_infrastructure() -> None:
    source = Path(__file__).resolve().parents[4] / "triage" / "domain" / "lifecycle.py"
    imported = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
        elif isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
    assert imported <= {"__future__", "enum", "dataclasses", "datetime", "typing", "triage.errors"}


def test_refused_actions_leave_the_handling_as_it_was() -> None:
    machine = queued()
    before = copy.deepcopy(machine.h)
    for action in (
        lambda: machine.agent_replied(1, T0),  # queued: nobody to reply yet
        lambda: machine.requeue(T0, reason="x", agent_id=1),
        lambda: machine.escalate(P2, T0),
        lambda: machine.route(seat(open_count=5), T0),
    ):
        with pytest.raises((InvalidTransition, CapacityExceeded)):
            action()
        assert machine.h == before


def test_a_missed_deadline_stays_missed_when_the_priority_changes() -> None:
    recorded, unrecorded = queued(), queued()
    deadline = recorded.h.sla_deadline
    assert deadline is not None
    later = deadline + timedelta(minutes=1)
    recorded.check_sla(later)  # the SLA check saw it
    for machine in (recorded, unrecorded):  # ... or it has not run yet: the deadline has passed all the same
        machine.override_priority(10, BandRule("P4", 86400), later, reason="not urgent after all")
        assert machine.h.sla_deadline == deadline and sla_missed(machine.h, later)
    with pytest.raises(ValidationError, match="needs a reason"):
        unrecorded.override_priority(20, BandRule("P4", 86400), later, reason="  ")
    with pytest.raises(ValidationError, match="needs a reason"):
        unrecorded.transfer_to_queue("cards", QUEUES, later, reason="")


def test_a_hand_off_nobody_answered_is_resolved_without_asking_for_a_rating() -> None:
    machine = queued()
    machine.route(seat(), T0)
    effects = machine.resolve(T0, reason="customer left")
    assert [c.kind for c in effects.commands] == ["resume", "utter", "answer_pending"]
    assert all(c.payload.get("name") != ASK_CSAT for c in effects.commands)
