"""Changing staff accounts (admins): role, skills, capacity, active or not, a new password. The rules are
triage.domain.staff's; this module applies them to the rows, revokes sessions and writes the audit."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.security import hash_password
from api.users import MIN_PASSWORD_LENGTH, WeakPassword
from triage import audit, services
from triage.audit import Actor
from triage.domain.routing import LANGUAGE_SKILL_PREFIX
from triage.domain.staff import Account, check_change
from triage.errors import ValidationError
from triage.services.locking import hold_write_lock
from triage.storage.db import AgentStatus, AuthSession, Role, User, utcnow

_LANGUAGE = re.compile(rf"{LANGUAGE_SKILL_PREFIX}[a-z]{{2}}")


class UserNotFound(LookupError):
    """No user with this id (api: 404)."""


@dataclass(frozen=True)
class UserChange:
    """What an admin changes; None leaves a field as it is."""

    role: Role | None = None
    skills: tuple[str, ...] | None = None
    capacity: int | None = None
    is_active: bool | None = None


def _account(user: User, change: UserChange | None = None) -> Account:
    change = change or UserChange()
    role = change.role if change.role is not None else user.role
    active = change.is_active if change.is_active is not None else user.is_active
    return Account(user.id, str(role), active)


def get_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound(f"user {user_id} not found")
    return user


def check_skills(skills: tuple[str, ...], known_queues: list[str]) -> None:
    """Every skill is a queue the policy routes to or a language ("lang-fr"): a typo would leave an agent
    without work and nobody would notice."""
    unknown = [s for s in skills if s not in known_queues and not _LANGUAGE.fullmatch(s)]
    if unknown:
        raise ValidationError(
            f"unknown skill(s) {', '.join(map(repr, unknown))}: a queue ({', '.join(known_queues)}) "
            "or a language as lang-xx"
        )


def revoke_all_sessions(session: Session, user: User) -> int:
    result = session.execute(
        update(AuthSession)
        .where(AuthSession.user_id == user.id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


def change_user(
    session: Session, user_id: int, change: UserChange, *, known_queues: list[str], by: User
) -> User:
    """Apply ``change`` (the caller commits). An agent deactivated or no longer an agent goes offline,
    which puts their open conversations back in their queues; a deactivated user's sessions end now."""
    # two admins demoting each other at once must not both pass the last-admin rule: the active admins'
    # rows are locked (PostgreSQL) or the database's write lock taken (SQLite) before they are counted
    hold_write_lock(session)
    user = get_user(session, user_id)
    admins = session.scalars(
        select(User.id).where(User.role == Role.ADMIN, User.is_active.is_(True)).with_for_update()
    ).all()
    others = sum(1 for admin_id in admins if admin_id != user.id)
    check_change(_account(by), _account(user), _account(user, change), other_active_admins=int(others or 0))
    if change.skills is not None:
        check_skills(change.skills, known_queues)
    before = {"role": str(user.role), "skills": list(user.skills or []), "capacity": user.capacity}
    before["is_active"] = user.is_active
    leaves_the_floor = user.role == Role.AGENT and (
        change.is_active is False or (change.role is not None and change.role != Role.AGENT)
    )
    if leaves_the_floor and user.status != AgentStatus.OFFLINE:
        services.set_agent_status(session, user, AgentStatus.OFFLINE, actor=Actor.of(by))
    if change.role is not None:
        user.role = change.role
    if change.skills is not None:
        user.skills = list(change.skills)
    if change.capacity is not None:
        user.capacity = change.capacity
    revoked = 0
    if change.is_active is not None:
        user.is_active = change.is_active
        if not change.is_active:
            revoked = revoke_all_sessions(session, user)
    after = {"role": str(user.role), "skills": list(user.skills or []), "capacity": user.capacity}
    after["is_active"] = user.is_active
    audit.record(
        session,
        Actor.of(by),
        "user_update",
        inputs={"user_id": user.id, "username": user.username, "before": before},
        outcome={"after": after, "sessions_revoked": revoked},
    )
    session.flush()
    return user


def reset_password(session: Session, user_id: int, password: str, *, by: User) -> User:
    """Set a new password (the caller commits): every session and token of the user ends now (the old
    ones would fail their password check anyway; revoking says so in the session table). Audited without
    the password."""
    user = get_user(session, user_id)
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    user.password_hash = hash_password(password)
    revoked = revoke_all_sessions(session, user)
    audit.record(
        session,
        Actor.of(by),
        "password_reset",
        inputs={"user_id": user.id, "username": user.username},
        outcome={"sessions_revoked": revoked},
    )
    session.flush()
    return user
