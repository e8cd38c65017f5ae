"""Creating users and seeding the demo team (used by the CLI, the admin routes and demo start-up)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.security import hash_password
from triage.audit import is_reserved_username
from triage.errors import ValidationError
from triage.storage.db import AgentStatus, Role, User

DEMO_PASSWORD = "clearline-demo"  # noqa: S105 - demo users exist only when CLEARLINE_DEMO is true
MIN_PASSWORD_LENGTH = 12


class UserExists(Exception):
    """A user with this username already exists."""


class WeakPassword(ValueError):
    """The password is too short."""


class ReservedUsername(ValidationError):
    """The username is the name of a system actor in the audit log (api: 422)."""


@dataclass(frozen=True)
class NewUser:
    username: str
    password: str
    role: Role
    skills: tuple[str, ...] = ()
    capacity: int = 3
    display_name: str | None = None


# skills: queues, and the languages an agent speaks besides English ("lang-fr"; triage.domain.routing)
ALICE_SKILLS = ("cards", "general", "lang-fr", "lang-es")
BOB_SKILLS = ("transfers", "refunds", "general", "lang-de")
DEMO_USERS = (
    NewUser("alice", DEMO_PASSWORD, Role.AGENT, ALICE_SKILLS, 3, "Alice Moreau"),
    NewUser("bob", DEMO_PASSWORD, Role.AGENT, BOB_SKILLS, 3, "Bob Okafor"),
    NewUser("sam", DEMO_PASSWORD, Role.SUPERVISOR, (), 0, "Sam Lindqvist"),
    NewUser("admin", DEMO_PASSWORD, Role.ADMIN, (), 0, "Administrator"),
)


def create_user(session: Session, new: NewUser, *, allow_short_password: bool = False) -> User:
    """Add a user (the caller commits). Agents start available so routing can use them."""
    if len(new.password) < MIN_PASSWORD_LENGTH and not allow_short_password:
        raise WeakPassword(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    if is_reserved_username(new.username):
        raise ReservedUsername(
            f"{new.username!r} is the name of a system actor in the audit log; choose another username"
        )
    if session.scalars(select(User.id).where(User.username == new.username)).first() is not None:
        raise UserExists(f"user {new.username!r} already exists")
    user = User(
        username=new.username,
        display_name=new.display_name or new.username,
        password_hash=hash_password(new.password),
        role=new.role,
        skills=list(new.skills),
        capacity=new.capacity,
        status=AgentStatus.AVAILABLE if new.role == Role.AGENT else AgentStatus.OFFLINE,
    )
    session.add(user)
    session.flush()
    return user


def seed_demo_users(session: Session) -> list[str]:
    """Create the demo team where missing; returns the usernames created (the caller commits)."""
    created = []
    for new in DEMO_USERS:
        try:
            create_user(session, new)
        except UserExists:
            continue
        created.append(new.username)
    return created
