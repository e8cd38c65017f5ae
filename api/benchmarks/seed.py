"""A realistic contact-centre history for the views benchmark, written with bulk inserts.

Per conversation about 10 messages (customer and bot turns, customer turns scored), the audit records
the worker and people leave, and for about a third an escalation (with factors and an explanation),
an agent's replies and, for some, feedback. States: mostly back with the bot or resolved, a few
waiting or with an agent, as in a centre that keeps up.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, select

from api.security import hash_password
from triage.domain.lifecycle import ConversationState
from triage.storage.db import AuditRecord, Conversation, Escalation, Feedback, Message, Role, User

QUEUES = ("cards", "transfers", "refunds", "general")
INTENTS = (
    "card_arrival",
    "transaction_charged_twice",
    "transfer_not_received_by_recipient",
    "request_refund",
)
CHUNK = 5000
AGENT_CAPACITY = 3
SUPERVISOR = "bench-supervisor"
PASSWORD = "bench-password-1"  # noqa: S105 - a throwaway account in a benchmark database


@dataclass
class Seeded:
    conversations: int = 0
    messages: int = 0
    escalations: int = 0
    feedback: int = 0
    audit: int = 0
    ids: list[str] = field(default_factory=list)


def _chunks(rows: list[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(rows), CHUNK):
        yield rows[start : start + CHUNK]


class Seeder:
    """Buffers rows and writes them in chunks, parents before children (ids are given here)."""

    ORDER = (Conversation, Message, Escalation, Feedback, AuditRecord)

    def __init__(self, conn: Connection, rng: random.Random, now: datetime) -> None:
        self.conn, self.rng, self.now = conn, rng, now
        self.pending: dict[Any, list[dict[str, Any]]] = {model: [] for model in self.ORDER}
        self.next_id = {Message: 1, Escalation: 1, Feedback: 1, AuditRecord: 1}
        self.open_load: dict[int, int] = {}  # conversations each agent holds now: never over capacity

    def new_id(self, model: Any) -> int:
        value = self.next_id[model]
        self.next_id[model] += 1
        return value

    def add(self, model: Any, row: dict[str, Any]) -> None:
        if model in self.next_id and "id" not in row:
            row["id"] = self.new_id(model)
        self.pending[model].append(row)
        if len(self.pending[model]) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        for model in self.ORDER:
            rows, self.pending[model] = self.pending[model], []
            keys = {key for row in rows for key in row}  # one executemany needs the same keys in every row
            for chunk in _chunks([{key: row.get(key) for key in keys} for row in rows]):
                self.conn.execute(insert(model), chunk)


def seed(conn: Connection, conversations: int, *, seed: int = 7, now: datetime | None = None) -> Seeded:
    """Write ``conversations`` conversations and everything around them; returns the counts."""
    if conn.execute(select(Conversation.id).limit(1)).first() is not None:
        raise RuntimeError("the benchmark seeds an EMPTY database; this one already has conversations")
    rng = random.Random(seed)  # noqa: S311 - benchmark data, not security
    now = now or datetime.now(UTC)
    agents = _agents(conn)
    out = Seeded()
    s = Seeder(conn, rng, now)
    for i in range(conversations):
        cid = f"bench-{i:07d}"
        out.ids.append(cid)
        _conversation(s, out, cid, agents)
    s.flush()
    out.conversations = conversations
    return out


def _agents(conn: Connection) -> list[int]:
    password = hash_password(PASSWORD)
    rows = [
        {
            "username": f"bench-agent-{k:02d}",
            "display_name": f"Agent {k}",
            "password_hash": password,
            "role": Role.AGENT,
            "skills": [QUEUES[k % 4], "general"],
            "capacity": AGENT_CAPACITY,
            "status": "available",
            "is_active": True,
        }
        for k in range(20)
    ]
    rows.append(
        {
            "username": SUPERVISOR,
            "display_name": "Bench Supervisor",
            "password_hash": password,
            "role": Role.SUPERVISOR,
            "skills": [],
            "capacity": 0,
            "status": "offline",
            "is_active": True,
        }
    )
    conn.execute(insert(User), rows)
    return list(conn.scalars(select(User.id).where(User.role == Role.AGENT)))


def _conversation(s: Seeder, out: Seeded, cid: str, agents: list[int]) -> None:
    rng, now = s.rng, s.now
    started = now - timedelta(seconds=rng.uniform(0, 7 * 86400))
    turns = rng.randint(3, 7)  # customer turns; each gets a bot answer
    angry = rng.random() < 0.33
    stresses = [round(min(1.0, max(0.0, rng.gauss(0.75 if angry else 0.15, 0.15))), 4) for _ in range(turns)]
    at = started
    children: list[tuple[Any, dict[str, Any]]] = []  # written after the conversation row
    message_rows: list[tuple[datetime, float]] = []
    for k in range(turns):
        at += timedelta(seconds=rng.uniform(5, 90))
        mid = s.new_id(Message)
        children.append(
            (
                Message,
                {
                    "id": mid,
                    "conversation_id": cid,
                    "sender": "customer",
                    "text": f"customer turn {k} of {cid}",
                    "intent": rng.choice(INTENTS),
                    "intent_confidence": 0.8,
                    "stress": stresses[k],
                    "flagged": stresses[k] >= 0.4,
                    "emotions": {"anger": stresses[k]},
                    "labels": ["anger"] if angry else [],
                    "model_version": "bench",
                    "event_at": at,
                    "created_at": at,
                    "scored_at": at,
                },
            )
        )
        message_rows.append((at, stresses[k]))
        children.append(
            (
                AuditRecord,
                {
                    "at": at,
                    "actor_type": "system",
                    "actor": "worker",
                    "action": "score",
                    "conversation_id": cid,
                    "inputs": {"message_id": mid},
                    "outcome": {"stress": stresses[k]},
                    "versions": {"model": "bench"},
                },
            )
        )
        at += timedelta(seconds=rng.uniform(0.3, 2))
        children.append(
            (
                Message,
                {
                    "conversation_id": cid,
                    "sender": "bot",
                    "text": f"bot answer {k}",
                    "created_at": at,
                    "event_at": at,
                    "flagged": False,
                },
            )
        )
    out.messages += 2 * turns
    out.audit += turns
    handling: dict[str, Any] = {"state": ConversationState.BOT}
    eid: int | None = None
    if angry:
        escalated_at = message_rows[-1][0]
        queue, priority = rng.choice(QUEUES), rng.randint(40, 95)
        band = "P1" if priority >= 80 else "P2" if priority >= 60 else "P3"
        deadline = escalated_at + timedelta(seconds={"P1": 300, "P2": 900, "P3": 3600}[band])
        roll = rng.random()
        recent = now - escalated_at < timedelta(hours=2)
        state = (
            (ConversationState.QUEUED if roll < 0.5 else ConversationState.ASSIGNED)
            if recent
            else (ConversationState.RESOLVED if roll < 0.7 else ConversationState.BOT)
        )
        agent: int | None = None
        if state == ConversationState.ASSIGNED:  # an agent with a free seat, as the router would pick
            free = [a for a in agents if s.open_load.get(a, 0) < AGENT_CAPACITY]
            if free:
                agent = rng.choice(free)
                s.open_load[agent] = s.open_load.get(agent, 0) + 1
            else:
                state = ConversationState.QUEUED
        elif state != ConversationState.QUEUED:
            agent = rng.choice(agents)  # who handled it, in the past
        replied = escalated_at + timedelta(seconds=rng.uniform(30, 1500)) if agent is not None else None
        handling = {
            "state": state,
            "queue": queue,
            "priority": priority,
            "priority_band": band,
            "assigned_agent_id": agent,
            "escalated_at": escalated_at,
            "queued_at": escalated_at,
            "assigned_at": escalated_at if agent else None,
            "first_agent_reply_at": replied,
            "sla_deadline": deadline,
            "sla_breached": replied is not None and replied > deadline,
            "resolved_at": replied + timedelta(minutes=5)
            if replied and state in (ConversationState.RESOLVED, ConversationState.BOT)
            else None,
        }
        verdict = rng.choice([None, None, "correct", "correct", "wrong"])
        eid = s.new_id(Escalation)
        children.append(
            (
                Escalation,
                {
                    "id": eid,
                    "conversation_id": cid,
                    "trigger": "policy",
                    "priority": priority,
                    "priority_band": band,
                    "queue": queue,
                    "score": float(priority),
                    "factors": [{"factor": "stress", "value": stresses[-1], "contribution": priority}],
                    "explanations": [
                        {
                            "message_id": None,
                            "text": "customer turn",
                            "words": [{"word": "turn", "start": 9, "end": 13, "attribution": 0.4}],
                            "delta": 0.01,
                        }
                    ],
                    "explanations_pending": False,
                    "policy_version": "bench",
                    "model_version": "bench",
                    "created_at": escalated_at,
                    "feedback_state": verdict,
                    "unflagged": False,
                },
            )
        )
        out.escalations += 1
        for action in ("policy", "escalate", *(("assign", "reply") if agent else ())):
            children.append(
                (
                    AuditRecord,
                    {
                        "at": escalated_at,
                        "actor_type": "system",
                        "actor": "worker",
                        "action": action,
                        "conversation_id": cid,
                        "inputs": {},
                        "outcome": {"escalation_id": eid},
                        "versions": {"policy": "bench"},
                    },
                )
            )
            out.audit += 1
        if verdict is not None:
            children.append(
                (
                    Feedback,
                    {
                        "escalation_id": eid,
                        "user_id": agent or agents[0],
                        "verdict": verdict,
                        "unmarked_words": [],
                        "created_at": escalated_at + timedelta(hours=1),
                    },
                )
            )
            out.feedback += 1
        if agent is not None and replied is not None:
            children.append(
                (
                    Message,
                    {
                        "conversation_id": cid,
                        "sender": "agent",
                        "agent_id": agent,
                        "text": "Sorry about this, fixing it now.",
                        "created_at": replied,
                        "flagged": False,
                        "delivered": True,
                    },
                )
            )
            out.messages += 1
    s.add(
        Conversation,
        {
            "id": cid,
            "channel": "socketio",
            "customer_tier": "standard",
            "latest_intent": rng.choice(INTENTS),
            "fallback_count": 0,
            "human_requested": False,
            "stress_trajectory": stresses,
            "max_stress": max(stresses),
            "latest_escalation_id": eid,
            "started_at": started,
            "last_message_at": at,
            "version": 1,
            "priority_overridden": False,
            **{"sla_breached": False, **handling},
        },
    )
    for model, row in children:
        s.add(model, row)
