"""The real worker switches to a promoted model and policy at a batch boundary, without a restart, and
never scores or decides one batch with two versions, even when the promotion commits mid-batch."""

from __future__ import annotations

import dataclasses
import json
import threading
from collections.abc import Callable
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sentiment.types import UtteranceScore
from tests.unit.triage.fakes import FakeScorer
from tests.unit.triage.policies import shipped_policy_data
from triage import audit
from triage.benchmarks.rasa_events import user_event, write_events
from triage.redaction import redact_with_spans
from triage.registry import store
from triage.registry.active import ModelRef, active_policy
from triage.registry.artifacts import model_candidate
from triage.registry.rules import policy_candidate
from triage.storage.db import AuditRecord, Message, session_scope
from triage.worker.broker import SqlEventSource
from triage.worker.loop import Worker
from triage.worker.versions import LoadedModel, RegistryVersions

ADMIN = audit.Actor("user", "root", 1)


class VersionedScorer(FakeScorer):
    """The fake model under a version of its own; ``during`` runs inside a scoring call."""

    def __init__(self, version: str, during: Callable[[], None] | None = None) -> None:
        super().__init__()
        self.version, self.during = version, during

    def score(self, texts: list[str]) -> list[UtteranceScore]:
        if self.during is not None:
            during, self.during = self.during, None
            during()
        return [dataclasses.replace(s, model=self.version) for s in super().score(texts)]


def register(factory: sessionmaker[Session], tmp_path: Path) -> None:
    """Models m1 and m2, policies p1 and p2 (p2 escalates at 20); m1 and p1 active."""
    with session_scope(factory) as session:
        for version in ("m1", "m2"):
            path = tmp_path / version
            path.mkdir()
            (path / "config.json").write_text("{}")
            (path / "model.safetensors").write_bytes(version.encode())
            (path / "clearline.json").write_text(json.dumps({"version": version}))
            store.add_model(session, model_candidate(path), actor=ADMIN, reason="candidate")
        for version, escalate_at in (("p1", 50), ("p2", 20)):
            text = yaml.safe_dump(shipped_policy_data() | {"version": version, "escalate_at": escalate_at})
            store.add_policy(session, policy_candidate(text), actor=ADMIN, reason="candidate")
        store.promote(session, "model", "m1", actor=ADMIN, reason="first")
        store.promote(session, "policy", "p1", actor=ADMIN, reason="first")


def promote(factory: sessionmaker[Session], model: str, policy: str) -> None:
    with session_scope(factory) as session:
        store.promote(session, "model", model, actor=ADMIN, reason="better")
        store.promote(session, "policy", policy, actor=ADMIN, reason="better")


def say(source: SqlEventSource, *senders: str, text: str = "I am annoyed, where is my card") -> None:
    with source.engine.begin() as conn:
        write_events(conn, [(sender, user_event(text)) for sender in senders])


class Loader:
    def __init__(self, fail: set[str] | None = None) -> None:
        self.loaded: list[str] = []
        self.fail = fail or set()
        self.scorers = {version: VersionedScorer(version) for version in ("m1", "m2")}

    def __call__(self, ref: ModelRef) -> LoadedModel:
        self.loaded.append(ref.version)
        if ref.version in self.fail:
            raise OSError(f"cannot read {ref.path}")
        scorer = self.scorers[ref.version]
        return LoadedModel(ref.version, scorer, scorer)


def build(factory: sessionmaker[Session], source: SqlEventSource, loader: Loader) -> Worker:
    first = loader(ModelRef("m1", "", ""))
    versions = RegistryVersions(loader, first)
    with factory() as session:
        policy = active_policy(session)
    return Worker(factory, source, first.scorer, policy, redact_with_spans, versions=versions)


def batch_versions(factory: sessionmaker[Session], after_message: int) -> tuple[set[str], set[str]]:
    """The model versions of the messages stored after ``after_message``, and the policy versions of
    the decisions on them."""
    with factory() as session:
        messages = session.execute(
            select(Message.id, Message.model_version).where(Message.id > after_message)
        )
        models = {m.model_version for m in messages}
        decisions = session.scalars(
            select(AuditRecord.versions).where(AuditRecord.action == "policy").order_by(AuditRecord.id)
        ).all()
    return models, {d["policy"] for d in decisions}


def newest_message(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return max(session.scalars(select(Message.id)).all(), default=0)


def test_a_promotion_between_batches_applies_from_the_next_batch_and_is_audited(
    session_factory, source, tmp_path
):
    register(session_factory, tmp_path)
    loader = Loader()
    worker = build(session_factory, source, loader)
    say(source, "c1")
    worker.process_next_batch()
    promote(session_factory, "m2", "p2")
    say(source, "c2")
    worker.process_next_batch()
    with session_factory() as s:
        stored = dict(s.execute(select(Message.conversation_id, Message.model_version)).all())
        decided = s.execute(
            select(AuditRecord.conversation_id, AuditRecord.versions, AuditRecord.outcome).where(
                AuditRecord.action == "policy"
            )
        ).all()
        changes = s.execute(
            select(AuditRecord.action, AuditRecord.inputs, AuditRecord.outcome).where(
                AuditRecord.action.in_(["model_change", "policy_change"])
            )
        ).all()
    assert stored == {"c1": "m1", "c2": "m2"}
    assert [(c, v, o["escalate"]) for c, v, o in decided] == [
        ("c1", {"policy": "p1", "model": "m1"}, False),  # annoyed 0.6: 42 points under p1's 50
        ("c2", {"policy": "p2", "model": "m2"}, True),  # and over p2's 20
    ]
    assert sorted((a, i["previous_version"], o["version"]) for a, i, o in changes) == [
        ("model_change", "m1", "m2"),
        ("policy_change", "p1", "p2"),
    ]
    assert loader.loaded == ["m1", "m2"]  # loaded once each, without a restart


def test_a_promotion_committed_mid_batch_waits_for_the_next_batch(session_factory, source, tmp_path):
    register(session_factory, tmp_path)
    loader = Loader()
    worker = build(session_factory, source, loader)
    targets = [("m2", "p2"), ("m1", "p1"), ("m2", "p2")]
    rounds = len(targets)
    committed_inside: list[bool] = []
    for round_ in range(rounds):
        model, policy = targets[round_]
        previous = targets[round_ - 1] if round_ else ("m1", "p1")
        # the batch scores with the previous round's model; the promotion starts inside its scoring call
        # and commits at once, or (SQLite) once the batch commits when the batch holds the write lock
        # already (it does when it audits a change of its own: the audit row is flushed early)
        promoting = threading.Thread(target=promote, args=(session_factory, model, policy))

        def start(thread: threading.Thread = promoting) -> None:
            thread.start()
            thread.join(timeout=1)
            committed_inside.append(not thread.is_alive())

        loader.scorers[previous[0]].during = start
        say(source, *(f"r{round_}-c{i}" for i in range(5)))
        before = newest_message(session_factory)
        with session_factory() as s:
            decisions_before = len(
                s.scalars(select(AuditRecord.id).where(AuditRecord.action == "policy")).all()
            )
        result = worker.process_next_batch()
        assert result is not None and result.stored == 5
        models, _ = batch_versions(session_factory, before)
        with session_factory() as s:
            policies = {
                v["policy"]
                for v in s.scalars(
                    select(AuditRecord.versions)
                    .where(AuditRecord.action == "policy")
                    .order_by(AuditRecord.id)
                ).all()[decisions_before:]
            }
        assert (models, policies) == ({previous[0]}, {previous[1]})  # the batch's own snapshot, whole
        promoting.join()
    say(source, "last")
    before = newest_message(session_factory)
    worker.process_next_batch()
    assert batch_versions(session_factory, before)[0] == {targets[rounds - 1][0]}
    assert loader.loaded == ["m1", "m2"]  # rolling back to m1 used the model still in memory
    assert committed_inside[0] is True  # the first promotion committed while the batch was scoring


def test_a_model_that_fails_to_load_is_audited_once_and_the_previous_one_kept(
    session_factory, source, tmp_path
):
    register(session_factory, tmp_path)
    loader = Loader(fail={"m2"})
    worker = build(session_factory, source, loader)
    promote(session_factory, "m2", "p2")
    for sender in ("c1", "c2"):
        say(source, sender)
        worker.process_next_batch()
    with session_factory() as s:
        models = set(s.scalars(select(Message.model_version)).all())
        failures = s.scalars(select(AuditRecord).where(AuditRecord.action == "model_switch_failed")).all()
        policies = {
            v["policy"] for v in s.scalars(select(AuditRecord.versions).where(AuditRecord.action == "policy"))
        }
    assert models == {"m1"} and policies == {"p2"}  # the policy switched; the model could not
    assert [(f.inputs["version"], f.outcome["kept_version"]) for f in failures] == [("m2", "m1")]
    assert "cannot read" in failures[0].outcome["error"]
    assert loader.loaded == ["m1", "m2"]  # not tried again at every batch
