"""Two api processes seeding the demo team at once: the one that commits second tries again instead of
crashing (docker-compose starts two api processes on one database)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

import api.users
from api.app import DEMO_SEED_ATTEMPTS, _seed_demo
from api.users import DEMO_USERS, NewUser
from triage.storage.db import User, make_engine, make_session_factory, session_scope
from triage.storage.migrate import upgrade


@pytest.fixture
def factory(tmp_path: Path):  # noqa: ANN201
    url = f"sqlite:///{tmp_path / 'clearline.db'}"
    upgrade(url)
    return make_session_factory(make_engine(url))


def test_a_demo_user_committed_by_another_process_between_check_and_insert_is_taken_in_stride(
    factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_create = api.users.create_user
    raced = []

    def create_after_another_process(session: Session, new: NewUser) -> User:
        if not raced:  # the other process commits this user after our check said it was missing
            raced.append(new.username)
            with session_scope(factory) as other:
                real_create(other, new)
            session.add(User(username=new.username, display_name="x", password_hash="!", role=new.role))
            session.flush()  # our insert: the unique index refuses it
        return real_create(session, new)

    monkeypatch.setattr(api.users, "create_user", create_after_another_process)
    _seed_demo(factory)
    with factory() as session:
        names = session.scalars(select(User.username)).all()
    assert sorted(names) == sorted(u.username for u in DEMO_USERS) and raced == [DEMO_USERS[0].username]


def test_a_conflict_that_does_not_go_away_is_raised_after_the_last_attempt(
    factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = []

    def always_conflicting(session: Session) -> list[str]:
        attempts.append(1)
        raise IntegrityError("INSERT INTO users", {}, Exception("UNIQUE constraint failed: users.username"))

    monkeypatch.setattr("api.app.seed_demo_users", always_conflicting)
    with pytest.raises(IntegrityError):
        _seed_demo(factory)
    assert len(attempts) == DEMO_SEED_ATTEMPTS
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(User)) == 0
