"""Services run on a real SQLite database (tables from the ORM metadata; migrations are tested apart)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from tests.unit.triage.policies import pinned_policy
from triage.domain.policy import Policy
from triage.storage.db import AgentStatus, Base, Role, User, make_engine, make_session_factory


@pytest.fixture
def session(tmp_path: Path) -> Iterator[Session]:
    engine = make_engine(f"sqlite:///{tmp_path / 'clearline.db'}")
    Base.metadata.create_all(engine)
    with make_session_factory(engine)() as s:
        yield s
    engine.dispose()


@pytest.fixture(scope="session")
def policy() -> Policy:
    return pinned_policy()


def add_user(
    session: Session,
    username: str,
    role: Role = Role.AGENT,
    skills: tuple[str, ...] = ("cards",),
    capacity: int = 2,
    status: AgentStatus = AgentStatus.AVAILABLE,
) -> User:
    user = User(
        username=username,
        display_name=username.title(),
        password_hash="x",
        role=role,
        skills=list(skills),
        capacity=capacity,
        status=status,
        is_active=True,
    )
    session.add(user)
    session.flush()
    return user
