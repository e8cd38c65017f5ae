"""Drift and bias figures from a real SQLite database, the leader's drift check (alert once, gauges) and
the two commands' answers, counted by hand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import build_app
from triage.domain.bias import BiasThresholds
from triage.domain.drift import DriftThresholds
from triage.monitoring.bias import bias_report
from triage.monitoring.drift import DriftCheck, NoReference, drift_report, model_at
from triage.storage.db import Alert, AuditRecord, Base, Conversation, Escalation, Message, Sender, make_engine
from triage.worker.observability import WorkerMetrics

VERSION = "clearline-emotions-test@1"
DAY1 = datetime(2026, 12, 5, 9, tzinfo=UTC)
DAY2 = datetime(2026, 12, 6, 20, tzinfo=UTC)


@pytest.fixture
def model_dir(tmp_path: Path) -> Path:
    """A model directory with only what monitoring reads: its version and reference (calm: low stress)."""
    directory = tmp_path / "model"
    directory.mkdir()
    counts = [0] * 100
    counts[2], counts[50] = 90, 10
    reference = {
        "n": 100,
        "stress_counts": counts,
        "label_counts": {"neutral": 90, "anger": 10},
        "source": "t",
    }
    (directory / "clearline.json").write_text(json.dumps({"version": VERSION, "reference": reference}))
    return directory


def conversation(
    session: Session, cid: str, started: datetime, *, tier: str, channel: str, language: str, escalated: bool
) -> None:
    session.add(
        Conversation(
            id=cid,
            channel=channel,
            customer_tier=tier,
            language=language,
            started_at=started,
            last_message_at=started,
            escalated_at=started if escalated else None,
        )
    )
    session.flush()


def message(
    session: Session, cid: str, at: datetime, stress: float, labels: list[str], **extra: object
) -> None:
    fields: dict[str, object] = {
        "sender": Sender.CUSTOMER,
        "text": "where is my card",
        "model_version": VERSION,
        "language": "en",
    }
    fields.update(extra)
    session.add(
        Message(
            conversation_id=cid, created_at=at, stress=stress, flagged=stress >= 0.5, labels=labels, **fields
        )
    )


def escalation(
    session: Session, cid: str, at: datetime, feedback: str | None, unflagged: bool = False
) -> None:
    session.add(
        Escalation(
            conversation_id=cid,
            trigger="policy",
            priority=70,
            priority_band="P2",
            queue="cards",
            score=70.0,
            policy_version="p",
            model_version=VERSION,
            created_at=at,
            feedback_state=feedback,
            unflagged=unflagged,
        )
    )


def seed(session: Session) -> None:
    """Day 1: 60 angry messages (stress 0.95) in gold/telegram/es conversations, 3 escalations judged (1
    right). Day 2: 10 calm ones (0.05) in standard/web/en. Left out: another model's, an agent's, a bot's."""
    for i in range(6):
        conversation(session, f"a{i}", DAY1, tier="gold", channel="telegram", language="es", escalated=i < 4)
        for j in range(10):
            message(
                session, f"a{i}", DAY1 + timedelta(minutes=j), 0.95, ["anger", "annoyance"], language="es"
            )
    for i in range(10):
        conversation(session, f"b{i}", DAY2, tier="standard", channel="web", language="en", escalated=False)
        message(session, f"b{i}", DAY2, 0.05, ["neutral"])
    message(session, "b0", DAY2, 0.99, ["anger"], model_version="other@2")
    message(session, "b0", DAY2, 0.99, ["anger"], sender=Sender.AGENT)
    escalation(session, "a0", DAY1, "correct")
    escalation(session, "a1", DAY1, "wrong")
    escalation(session, "a2", DAY1, "correct", unflagged=True)  # an unflag is wrong, whatever came before
    escalation(session, "a3", DAY1, None)  # no verdict yet
    session.commit()


def test_drift_report_counts_each_day_of_this_models_customer_messages(
    session: Session, model_dir: Path
) -> None:
    seed(session)
    report = drift_report(
        session, model_at(model_dir), DAY1 - timedelta(hours=9), DAY2 + timedelta(hours=1), DriftThresholds()
    )
    day1, day2 = report["days"]
    assert (day1["day"], day1["messages"], day1["flag_rate"]) == ("2026-12-05", 60, 1.0)
    assert (day1["judged"], day1["flag_precision"]) == (3, pytest.approx(0.3333))
    assert day1["alert"] and day1["stress_psi"] > 1 and day1["label_psi"] > 1
    assert (day2["messages"], day2["flag_rate"], day2["alert"]) == (10, 0.0, False)  # under 50 messages
    assert report["alerts"] == 1 and report["model_version"] == VERSION


def test_the_leaders_check_alerts_once_per_day_and_sets_the_gauges(session: Session, model_dir: Path) -> None:
    seed(session)
    metrics = WorkerMetrics()
    check = DriftCheck(model_dir, metrics.set_drift)
    now = DAY2 + timedelta(hours=2)
    found = check(session, now)
    session.commit()
    assert [d.day.isoformat() for d in found] == ["2026-12-05", "2026-12-06"]
    alerts = session.scalars(select(Alert)).all()
    assert [(a.kind, a.key, a.severity) for a in alerts] == [
        ("drift", f"drift:{VERSION}:2026-12-05", "warning")
    ]
    assert session.scalar(select(AuditRecord).where(AuditRecord.action == "alert")).actor == "drift"
    check(session, now + timedelta(hours=1))  # the next hour: the same day, no second alert
    session.commit()
    assert len(session.scalars(select(Alert)).all()) == 1
    sample = metrics.registry.get_sample_value
    assert sample("clearline_flag_rate", {"model_version": VERSION}) == 0.0  # the latest day, day 2
    assert sample("clearline_drift_alert", {"model_version": VERSION}) == 0.0


def test_a_model_without_a_reference_is_not_monitored(session: Session, tmp_path: Path) -> None:
    (tmp_path / "clearline.json").write_text(json.dumps({"version": "x"}))
    with pytest.raises(NoReference, match="clearline reference-emotions"):
        model_at(tmp_path)
    assert DriftCheck(tmp_path)(session) == []


def test_bias_report_by_segment(session: Session) -> None:
    seed(session)
    window = (DAY1 - timedelta(hours=9), DAY2 + timedelta(hours=1))
    report = bias_report(session, *window, BiasThresholds(ratio=1.25, min_segment=10))
    overall = report["overall"]
    assert (overall["messages"], overall["flagged"]) == (71, 61)  # 60 + 10 + the other model's (scored)
    assert (overall["conversations"], overall["escalated"]) == (16, 4)
    assert (overall["judged"], overall["judged_right"]) == (3, 1)
    tiers = {row["segment"]: row for row in report["dimensions"]["tier"]}
    assert tiers["gold"]["flag_rate"] == 1.0 and tiers["gold"]["escalation_rate"] == pytest.approx(0.6667)
    assert tiers["standard"]["flag_rate"] == pytest.approx(1 / 11, abs=1e-4)
    channels = {row["segment"] for row in report["dimensions"]["channel"]}
    assert channels == {"telegram", "web"}
    assert any("tier 'standard'" in w for w in report["warnings"])


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(("triage.monitoring.cli",)), list(args))
    return result.exit_code, result.output


@pytest.fixture
def seeded_db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'kept.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        seed(s)
    engine.dispose()
    return url


def test_drift_and_bias_commands_print_json(seeded_db: str, model_dir: Path) -> None:
    window = ("--since", "2026-12-05", "--until", "2026-12-07", "--database-url", seeded_db)
    code, output = run("drift", "--model", str(model_dir), *window, "--json")
    assert code == 0, output
    assert [d["messages"] for d in json.loads(output)["days"]] == [60, 10]
    code, output = run("drift", "--model", str(model_dir), *window)
    assert code == 0 and "ALERT" in output
    code, output = run("bias", *window, "--json")
    assert code == 0 and json.loads(output)["overall"]["messages"] == 71


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("drift", "--since", "yesterday"), "not an ISO date"),
        (("bias", "--since", "2026-12-07", "--until", "2026-12-06"), "not before"),
        (("drift", "--model", "/nonexistent/model"), "no readable clearline.json"),
    ],
)
def test_bad_input_is_exit_2_with_why(seeded_db: str, args: tuple[str, ...], said: str) -> None:
    code, output = run(*args, "--database-url", seeded_db)
    assert code == 2 and said in output


def test_a_database_that_cannot_be_read(tmp_path: Path, model_dir: Path) -> None:
    code, output = run("bias", "--database-url", f"sqlite:///{tmp_path / 'absent.db'}")
    assert code == 2 and "cannot read the database" in output
    empty = tmp_path / "empty.db"
    make_engine(f"sqlite:///{empty}").dispose()
    empty.touch()
    code, output = run("drift", "--model", str(model_dir), "--database-url", f"sqlite:///{empty}")
    assert code == 2 and "clearline db upgrade" in output
