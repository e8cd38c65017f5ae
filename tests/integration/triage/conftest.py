"""Real SQLite databases for the worker: Clearline's (migrated with Alembic) and Rasa's event broker."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.triage.policies import pinned_policy
from triage.domain.policy import Policy
from triage.storage.db import make_engine, make_session_factory
from triage.storage.migrate import upgrade
from triage.worker.broker import SqlEventSource

from .fake_rasa import RasaDouble


@pytest.fixture
def clearline_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'clearline.db'}"
    upgrade(url)
    return url


@pytest.fixture
def session_factory(clearline_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(clearline_url)
    yield make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def events_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'rasa_events.db'}"


@pytest.fixture
def source(events_url: str) -> Iterator[SqlEventSource]:
    src = SqlEventSource(events_url)
    src.ensure_table()
    yield src
    src.close()


@pytest.fixture(scope="session")
def policy() -> Policy:
    return pinned_policy()


@pytest.fixture
def rasa() -> Iterator[RasaDouble]:
    """A loopback stand-in for Rasa's HTTP API that records what it is sent (fake_rasa.py)."""
    double = RasaDouble().start()
    yield double
    double.stop()
