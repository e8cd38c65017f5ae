"""``clearline replay`` on conversations the real worker stored (fake scorer, pinned policy), with
feedback: a policy that doubles the stress weight adds exactly the escalations computed by hand, and the
database is left as it was."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from api.cli import build_app
from tests.unit.triage.fakes import FakeScorer
from triage import services
from triage.benchmarks.rasa_events import user_event, write_events
from triage.domain.policy import Policy
from triage.redaction import redact_with_spans
from triage.storage.db import Escalation, Role, User
from triage.worker.broker import SqlEventSource
from triage.worker.loop import Worker

# conversation -> customer messages (FakeScorer: furious 0.97, unacceptable 0.93, angry 0.91, annoyed 0.6,
# anything else 0.05). Pinned policy: stress floor(50 s) counted from 0.5, trend floor(40 rise) from a
# rise of 0.15, escalate at 50.
SCRIPTS = {
    "calm": ["where is my card", "thanks"],
    # pinned: 45 at the first turn, no trend -> stays; doubled: floor(100 * 0.91) = 91 -> added
    "angry-first": ["I am angry", "where is my card"],
    # pinned: 30; doubled: 60 -> added
    "annoyed-first": ["I am annoyed"],
    # pinned: turn 2 is 48 + floor(40 * 0.92) = 84; doubled: 97 + 36 = 133 -> 100: priority changed
    "furious-later": ["where is my card", "I am furious"],
    # pinned: 46 + floor(40 * 0.88) = 81; doubled: 93 + 35 -> 100
    "unacceptable-later": ["where is my card", "this is unacceptable"],
    # pinned: turn 2 is 30 + floor(40 * 0.55) = 52 -> escalates under both; doubled: 60 + 22 = 82
    "annoyed-later": ["where is my card", "I am annoyed"],
}
ADDED = ["angry-first", "annoyed-first"]


def seed(factory: sessionmaker[Session], source: SqlEventSource, policy: Policy) -> None:
    worker = Worker(factory, source, FakeScorer(), policy, redact_with_spans)
    for turn in range(2):
        with source.engine.begin() as conn:
            rows = [(cid, user_event(texts[turn])) for cid, texts in SCRIPTS.items() if turn < len(texts)]
            write_events(conn, rows)
        worker.process_next_batch()
    verdicts = {"furious-later": "correct", "unacceptable-later": "wrong", "annoyed-later": "correct"}
    with factory.begin() as s:
        supervisor = User(username="sup", display_name="Sup", password_hash="x", role=Role.SUPERVISOR)
        s.add(supervisor)
        s.flush()
        for escalation in s.scalars(select(Escalation)):
            verdict = verdicts[escalation.conversation_id]
            if verdict == "correct":  # a later verdict replaces an earlier one
                services.record_feedback(
                    s, escalation.id, user=supervisor, verdict="wrong", unmarked_words=[], comment=None
                )
            services.record_feedback(
                s, escalation.id, user=supervisor, verdict=verdict, unmarked_words=[], comment=None
            )


def doubled_policy_file(policy: Policy, path: Path) -> Path:
    data: dict[str, Any] = policy.config.model_dump()
    data["version"] = "doubled-stress"
    data["factors"]["stress"]["weight"] = 2 * data["factors"]["stress"]["weight"]
    path.write_text(yaml.safe_dump(data))
    return path


def fingerprint(db: Path) -> tuple[str, list[str]]:
    with sqlite3.connect(db) as conn:
        dump = list(conn.iterdump())
    return hashlib.sha256(db.read_bytes()).hexdigest(), dump


def test_doubling_the_stress_weight_adds_exactly_the_hand_computed_escalations(
    session_factory, source, policy, clearline_url, tmp_path
):
    seed(session_factory, source, policy)
    session_factory.kw["bind"].dispose()  # the worker's connections closed, as after a run
    with session_factory() as s:
        current = sorted(s.scalars(select(Escalation.conversation_id)))
    assert current == ["annoyed-later", "furious-later", "unacceptable-later"]
    db = Path(clearline_url.removeprefix("sqlite:///"))
    before = fingerprint(db)
    candidate = doubled_policy_file(policy, tmp_path / "doubled.yaml")
    result = CliRunner().invoke(
        build_app(("triage.replay_cli",)),
        ["replay", "--policy", str(candidate), "--database-url", clearline_url, "--json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["conversations"], report["messages"]) == (6, 11)
    assert (report["escalations_current"], report["escalations_candidate"]) == (3, 5)
    assert [e["conversation_id"] for e in report["added"]] == ADDED
    assert [(e["priority"], e["queue"]) for e in report["added"]] == [(91, "cards"), (60, "cards")]
    assert report["removed"] == []
    changed = {e["conversation_id"]: (e["current"], e["candidate"]) for e in report["priority_changed"]}
    assert changed == {"furious-later": (84, 100), "unacceptable-later": (81, 100), "annoyed-later": (52, 82)}
    assert report["feedback_used"] == 3
    assert (report["precision_current"], report["precision_candidate"]) == (round(2 / 3, 4), round(2 / 3, 4))
    assert (report["recall_current"], report["recall_candidate"]) == (1.0, 1.0)
    assert report["policy"]["version"] == "doubled-stress" and report["policy"]["current"] is False
    assert (report["model"]["current"], report["model"]["rescored"]) == (True, False)
    assert fingerprint(db) == before  # nothing written


def test_the_human_summary_names_the_added_escalations(
    session_factory, source, policy, clearline_url, tmp_path
):
    seed(session_factory, source, policy)
    candidate = doubled_policy_file(policy, tmp_path / "doubled.yaml")
    result = CliRunner().invoke(
        build_app(("triage.replay_cli",)),
        ["replay", "--policy", str(candidate), "--database-url", clearline_url],
    )
    assert result.exit_code == 0, result.output
    assert "3 now, 5 with the candidate: 2 added, 0 removed" in result.stdout
    assert "+ angry-first P=91 cards" in result.stdout


def test_since_and_until_select_conversations_by_their_start(session_factory, source, policy, clearline_url):
    seed(session_factory, source, policy)
    app = build_app(("triage.replay_cli",))

    def replayed(*window: str) -> int:
        result = CliRunner().invoke(app, ["replay", "--database-url", clearline_url, "--json", *window])
        assert result.exit_code == 0, result.output
        return int(json.loads(result.stdout)["conversations"])

    assert replayed("--since", "2000-01-01", "--until", "2100-01-01") == 6
    assert replayed("--since", "2100-01-01") == 0
    assert replayed("--until", "2000-01-01T00:00:00+00:00") == 0
