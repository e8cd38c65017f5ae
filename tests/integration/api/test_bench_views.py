"""``clearline bench api`` on a small history: the seeded counts are real, every view answers through
the real HTTP api, and a database that already holds conversations is refused (never mixed into)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.benchmarks.seed import seed
from api.benchmarks.views import ViewsBenchConfig, p95, run_views_bench
from tests.postgres import temporary_schema
from triage.storage.db import (
    AuditRecord,
    Conversation,
    ConversationState,
    Escalation,
    Message,
    User,
    make_engine,
)
from triage.storage.migrate import upgrade

KEYS = (
    "list_p95_ms",
    "detail_p95_ms",
    "queues_p95_ms",
    "figures_p95_ms",
    "figures_7d_p95_ms",
    "audit_p95_ms",
)


def test_p95_is_the_nearest_rank() -> None:
    assert p95([0.001 * i for i in range(1, 101)]) == 95.0
    assert p95([0.2, 0.1]) == 200.0
    assert p95([0.05]) == 50.0


def check(url: str) -> None:
    figures = run_views_bench(ViewsBenchConfig(conversations=150, database_url=url, requests=5))
    assert figures["conversations"] == 150
    engine = make_engine(url)
    with engine.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(Conversation)) == 150
        assert conn.scalar(select(func.count()).select_from(Message)) == figures["messages"]
        assert conn.scalar(select(func.count()).select_from(Escalation)) == figures["escalations"] > 0
        # the seeded records, and one per conversation the detail view opened (access logging)
        views = figures["transcript_views_logged"]
        # (the api's first start also registers the configured model and policy: the registry's own records)
        not_registry = select(func.count()).select_from(AuditRecord).where(AuditRecord.actor != "registry")
        assert conn.scalar(not_registry) == figures["audit_records"] + views
        assert 1 <= views <= 5 + 1  # requests, and the warm-up's
        with pytest.raises(RuntimeError, match="EMPTY database"):
            seed(conn, 10)
    engine.dispose()
    assert 8 <= figures["messages"] / 150 <= 14  # about ten messages a conversation
    assert all(figures[key] > 0 for key in KEYS)


def test_bench_on_sqlite(tmp_path: Path) -> None:
    check(f"sqlite:///{tmp_path / 'bench.db'}")


@pytest.mark.postgres
def test_bench_on_postgres() -> None:
    with temporary_schema("bench") as url:
        upgrade(url)
        check(url)


def test_the_seeded_present_is_one_the_rules_allow(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """More open conversations want an agent than there are seats (one each here), yet no agent holds
    more than their capacity: the rest wait in the queue."""
    monkeypatch.setattr("api.benchmarks.seed.AGENT_CAPACITY", 1)
    url = f"sqlite:///{tmp_path / 'seed.db'}"
    upgrade(url)
    engine = make_engine(url)
    with engine.begin() as conn:
        seed(conn, 20_000)
        waiting = conn.scalar(select(func.count()).where(Conversation.state == ConversationState.QUEUED))
        held = conn.execute(
            select(User.capacity, func.count())
            .join(Conversation, Conversation.assigned_agent_id == User.id)
            .where(Conversation.state == ConversationState.ASSIGNED)
            .group_by(User.id, User.capacity)
        ).all()
    engine.dispose()
    assert sum(count for _, count in held) == 20 and waiting > 20  # every seat taken, more waiting
    assert all(count <= capacity == 1 for capacity, count in held)
