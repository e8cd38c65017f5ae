"""One policy snapshot per batch: the worker applies the policy file's current version (the same cache
as the api's services), audits a change once, and keeps deciding when an edit breaks the file."""

from __future__ import annotations

import functools
import os
from pathlib import Path

import yaml
from sqlalchemy import select

from tests.unit.triage.fakes import FakeScorer
from tests.unit.triage.policies import shipped_policy_data
from triage.benchmarks.rasa_events import user_event, write_events
from triage.domain.policy import policy_at
from triage.redaction import redact_with_spans
from triage.storage.db import AuditRecord
from triage.worker.broker import SqlEventSource
from triage.worker.loop import Worker


def write_policy(path: Path, version: str, *, bump: int) -> None:
    data = shipped_policy_data()
    data["version"] = version
    path.write_text(yaml.safe_dump(data))
    os.utime(path, ns=(bump, bump))  # a new mtime even within the file system's timestamp granularity


def say(source: SqlEventSource, sender: str, text: str) -> None:
    with source.engine.begin() as conn:
        write_events(conn, [(sender, user_event(text, intent="card_arrival"))])


def test_the_worker_applies_an_edited_policy_at_the_next_batch_and_audits_it(
    session_factory, source, tmp_path
):
    path = tmp_path / "policy.yaml"
    write_policy(path, "v1", bump=1_000_000_000)
    worker = Worker(
        session_factory, source, FakeScorer(), functools.partial(policy_at, path), redact_with_spans
    )
    say(source, "c1", "where is my card")
    worker.process_next_batch()
    write_policy(path, "v2", bump=2_000_000_000)
    say(source, "c2", "where is my card")
    worker.process_next_batch()
    say(source, "c3", "where is my card")
    worker.process_next_batch()
    with session_factory() as s:
        decisions = s.execute(
            select(AuditRecord.conversation_id, AuditRecord.versions)
            .where(AuditRecord.action == "policy")
            .order_by(AuditRecord.id)
        ).all()
        changes = s.scalars(select(AuditRecord).where(AuditRecord.action == "policy_change")).all()
    assert [(cid, v["policy"]) for cid, v in decisions] == [("c1", "v1"), ("c2", "v2"), ("c3", "v2")]
    assert [(c.inputs, c.outcome) for c in changes] == [({"previous_version": "v1"}, {"version": "v2"})]


def test_a_broken_policy_edit_keeps_the_last_good_version(session_factory, source, tmp_path):
    path = tmp_path / "policy.yaml"
    write_policy(path, "good", bump=1_000_000_000)
    worker = Worker(
        session_factory, source, FakeScorer(), functools.partial(policy_at, path), redact_with_spans
    )
    path.write_text("escalate_at: [not a number")
    os.utime(path, ns=(3_000_000_000, 3_000_000_000))
    say(source, "c1", "where is my card")
    result = worker.process_next_batch()
    assert result is not None and result.stored == 1  # scored and decided, not stuck on the file
    with session_factory() as s:
        versions = s.scalars(select(AuditRecord.versions).where(AuditRecord.action == "policy")).all()
    assert [v["policy"] for v in versions] == ["good"]
