"""Shadow mode on real databases: the registry's shadow row (one at a time, never the active model,
cleared by a promotion, audited), the leader's scoring of new customer messages with a fake scorer, the
report and the commands."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sentiment.types import UtteranceScore
from tests.integration.triage import test_registry
from tests.integration.triage.test_registry import candidate_model, cli
from tests.unit.triage.fakes import FakeScorer
from triage import audit
from triage.errors import ValidationError
from triage.monitoring.shadow import ShadowScorer, shadow_report
from triage.registry import store
from triage.registry.artifacts import model_candidate
from triage.registry.rules import ActiveCannotShadow, UnknownVersion
from triage.storage.db import AuditRecord, Conversation, Message, Sender, session_scope, utcnow

ADMIN = audit.Actor("user", "root", 1)
# the registry tests' databases (SQLite, and PostgreSQL where it runs) with an admin "root" and "sam"
database_url = test_registry.database_url
factory = test_registry.factory


def register(session: Session, tmp_path: Path, *versions: str) -> None:
    for version in versions:
        store.add_model(session, model_candidate(candidate_model(tmp_path, version)), actor=ADMIN, reason="t")
    store.promote(session, "model", versions[0], actor=ADMIN, reason="start")


def test_one_shadow_at_a_time_never_the_active_one_and_a_promotion_ends_it(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    with session_scope(factory) as session:
        register(session, tmp_path, "m1", "m2", "m3")
        assert store.set_shadow(session, "m2", actor=ADMIN, reason="try m2") is None
        assert store.set_shadow(session, "m3", actor=ADMIN, reason="try m3 instead") == "m2"
        with pytest.raises(ActiveCannotShadow):
            store.set_shadow(session, "m1", actor=ADMIN, reason="the active one")
        with pytest.raises(UnknownVersion):
            store.set_shadow(session, "nope", actor=ADMIN, reason="x")
        with pytest.raises(ValidationError):
            store.set_shadow(session, "m2", actor=ADMIN, reason=" ")
    with session_scope(factory) as session:
        row = store.shadow_row(session)
        assert row is not None and row.version == "m3" and row.shadow_since is not None
        store.promote(session, "model", "m3", actor=ADMIN, reason="it did well")
        assert store.shadow_row(session) is None  # promoted: it scores for real now
        store.set_shadow(session, "m2", actor=ADMIN, reason="again")
        assert store.set_shadow(session, None, actor=ADMIN, reason="enough") == "m2"
        assert store.shadow_row(session) is None
    with factory() as session:
        records = session.scalars(select(AuditRecord).where(AuditRecord.action == "model_shadow")).all()
        assert [(r.inputs["reason"], r.outcome["shadow"]) for r in records] == [
            ("try m2", "m2"),
            ("try m3 instead", "m3"),
            ("again", "m2"),
            ("enough", None),
        ]


class Opposite(FakeScorer):
    """Scores as the fake model does, then the other way round: every flag differs."""

    def score(self, texts: list[str]) -> list[UtteranceScore]:
        return [
            UtteranceScore(s.text, s.emotions, s.labels, round(1 - s.stress, 6), not s.flag, "opposite")
            for s in super().score(texts)
        ]


def messages(session: Session, cid: str, texts: list[str], minutes_ago: float = 0) -> None:
    at = utcnow() - timedelta(minutes=minutes_ago)
    session.add(Conversation(id=cid, started_at=at, last_message_at=at))
    session.flush()
    for text in texts:
        stress = FakeScorer().score([text])[0].stress
        session.add(
            Message(
                conversation_id=cid,
                sender=Sender.CUSTOMER,
                text=text,
                stress=stress,
                flagged=stress >= 0.5,
                model_version="m1",
                created_at=at,
            )
        )
    session.add(Message(conversation_id=cid, sender=Sender.BOT, text="bot", created_at=at))


def test_the_leader_scores_new_customer_messages_and_the_report_lists_disagreements(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    loads: list[str] = []

    def load(path: str) -> FakeScorer:
        loads.append(path)
        return Opposite()

    shadow = ShadowScorer(load, batch=2)
    with session_scope(factory) as session:
        register(session, tmp_path, "m1", "m2")
        messages(session, "before", ["i am furious"], minutes_ago=5)  # stored before the shadow: left
        assert shadow(session) == 0  # no shadow yet
        store.set_shadow(session, "m2", actor=ADMIN, reason="try")
    with session_scope(factory) as session:
        messages(session, "after", ["hello", "this is terrible and I am furious", "thanks"])
    rounds = []
    with session_scope(factory) as session:
        while n := shadow(session):
            rounds.append(n)
    assert rounds == [2, 1] and len(loads) == 1
    with factory() as session:
        stored = session.execute(
            select(Message.conversation_id, Message.shadow_model_version, Message.shadow_flagged).order_by(
                Message.id
            )
        ).all()
        assert [(c, v) for c, v, _f in stored] == [
            ("before", None),
            ("before", None),
            ("after", "m2"),
            ("after", "m2"),
            ("after", "m2"),
            ("after", None),  # the bot's message
        ]
        report = shadow_report(
            session, utcnow() - timedelta(hours=1), utcnow() + timedelta(minutes=1), limit=2
        )
    assert report["shadow_version"] == "m2" and report["shadow_active"]
    assert (report["scored"], report["disagreements"], report["agreement"]) == (3, 3, 0.0)
    assert report["flagged_active"] == 1 and report["flagged_shadow"] == 2
    assert len(report["latest_disagreements"]) == 2
    assert report["latest_disagreements"][0]["conversation_id"] == "after"
    # a new leader (a new job object) goes on after the last message the shadow scored
    with session_scope(factory) as session:
        messages(session, "later", ["where is my card"])
    with session_scope(factory) as session:
        assert ShadowScorer(load)(session) == 1


def test_a_shadow_that_fails_to_load_is_audited_once_and_skipped(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    def broken(_path: str) -> FakeScorer:
        raise OSError("no weights here")

    shadow = ShadowScorer(broken)
    with session_scope(factory) as session:
        register(session, tmp_path, "m1", "m2")
        store.set_shadow(session, "m2", actor=ADMIN, reason="try")
        messages(session, "c", ["hello"])
    for _ in range(2):
        with session_scope(factory) as session:
            assert shadow(session) == 0
    with factory() as session:
        failed = session.scalars(select(AuditRecord).where(AuditRecord.action == "shadow_load_failed")).all()
        assert len(failed) == 1 and "no weights here" in failed[0].outcome["error"]


def test_the_commands(factory: sessionmaker[Session], database_url: str, tmp_path: Path) -> None:
    with session_scope(factory) as session:
        register(session, tmp_path, "m1", "m2")
    assert cli(database_url, "shadow", "--json")[0] == 0
    assert json.loads(cli(database_url, "shadow", "--json")[1])["shadow_version"] is None
    code, out = cli(database_url, "models", "shadow", "m2", "--reason", "try it", "--by", "root")
    assert (code, out) == (0, "shadow model: m2 (was none)\n")
    code, out = cli(database_url, "models", "shadow", "m1", "--reason", "x", "--by", "root")
    assert code == 2 and "the active model" in out
    code, out = cli(database_url, "models", "shadow", "m2", "--off", "--reason", "x", "--by", "root")
    assert code == 2 and "not both" in out
    code, out = cli(database_url, "models", "shadow", "m2", "--reason", "x", "--by", "sam")
    assert code == 2 and "not an active admin" in out
    listed = json.loads(cli(database_url, "models", "list", "--json")[1])
    assert [(m["version"], m["shadow"]) for m in listed] == [("m1", False), ("m2", True)]
    code, out = cli(database_url, "shadow")
    assert code == 0 and out.startswith("shadow m2: 0 messages scored")
    code, out = cli(database_url, "models", "shadow", "--off", "--reason", "done", "--by", "root")
    assert (code, out) == (0, "shadow model: none (was m2)\n")
