"""Audit records: who or what did what, when, with which inputs, outcome and versions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.orm import Session

from triage.storage.db import AuditRecord, User, utcnow

ActorKind = Literal["system", "user"]


@dataclass(frozen=True)
class Actor:
    """The author of an action: a system component ("worker", "policy", "router") or a logged-in user."""

    kind: ActorKind
    name: str
    user_id: int | None = None

    @classmethod
    def system(cls, name: str) -> Actor:
        return cls(kind="system", name=name, user_id=None)

    @classmethod
    def of(cls, user: User) -> Actor:
        """A logged-in user (by username, which the audit shows, and id)."""
        return cls(kind="user", name=user.username, user_id=user.id)


WORKER = Actor.system("worker")
POLICY = Actor.system("policy")
ROUTER = Actor.system("router")
SLA_MONITOR = Actor.system("sla")
BOT = Actor.system("bot")  # the bot's hand-off endpoint
RETENTION = Actor.system("retention")  # the purge of conversations past CLEARLINE_RETENTION_DAYS
OPERATOR = Actor.system("cli")  # someone with the database's credentials at a shell, no username given
REGISTRY = Actor.system("registry")  # registers the configured model and policy on first start
DRIFT_MONITOR = Actor.system("drift")  # the worker's leader comparing the model's scores with its reference

# Every system actor, declared here and nowhere else. The live feed shows an agent the records whose
# actor is their username, so a user named like one of these would see the system's records as theirs.
SYSTEM_ACTORS = (WORKER, POLICY, ROUTER, SLA_MONITOR, BOT, RETENTION, OPERATOR, REGISTRY, DRIFT_MONITOR)
_RESERVED = frozenset(actor.name.casefold() for actor in SYSTEM_ACTORS)


def is_reserved_username(username: str) -> bool:
    """True for the name of a system actor in any case ("Worker" would still read as the worker)."""
    return username.casefold() in _RESERVED


def record(
    session: Session,
    actor: Actor,
    action: str,
    *,
    conversation_id: str | None = None,
    inputs: dict[str, Any] | None = None,
    outcome: dict[str, Any] | None = None,
    versions: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditRecord:
    """Add one audit record to the session (the caller's unit of work commits it)."""
    entry = AuditRecord(
        at=at or utcnow(),
        actor_type=actor.kind,
        actor=actor.name,
        action=action,
        conversation_id=conversation_id,
        inputs=inputs or {},
        outcome=outcome or {},
        versions=versions or {},
    )
    session.add(entry)
    return entry
