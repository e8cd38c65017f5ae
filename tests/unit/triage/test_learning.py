"""The examples people's verdicts give (from a real SQLite database), and ``clearline recalibrate``'s
answers: a candidate directory from the stored verdicts, exit 2 with why on bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from api.cli import build_app
from tests.unit.sentiment.tiny_model import write_clearline_json, write_tiny_model
from tests.unit.triage.conftest import add_user
from triage.learning.examples import feedback_examples
from triage.replay import read_histories
from triage.storage.db import (
    Base,
    Conversation,
    Escalation,
    Feedback,
    Message,
    MissedFlag,
    Sender,
    make_engine,
)

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)


def escalate(
    session: Session,
    cid: str,
    texts: list[str],
    *,
    trigger: str = "policy",
    source_event: int | None = None,
    first_event: int | None = None,
    state: str | None = None,
    unflagged: bool = False,
    at: datetime = T0,
) -> Escalation:
    session.add(Conversation(id=cid, started_at=at, last_message_at=at))
    session.flush()
    for i, text in enumerate(texts):
        session.add(
            Message(
                conversation_id=cid,
                sender=Sender.CUSTOMER,
                text=text,
                source_event_id=None if first_event is None else first_event + i,
                created_at=at,
            )
        )
    session.add(Message(conversation_id=cid, sender=Sender.BOT, text="bot words", created_at=at))
    escalation = Escalation(
        conversation_id=cid,
        trigger=trigger,
        source_event_id=source_event,
        priority=70,
        priority_band="P2",
        queue="cards",
        score=70.0,
        policy_version="p",
        created_at=at + timedelta(seconds=1),
        feedback_state=state,
        unflagged=unflagged,
    )
    session.add(escalation)
    session.flush()
    return escalation


def verdict(session: Session, escalation: Escalation, user_id: int, value: str, at: datetime) -> None:
    session.add(Feedback(escalation_id=escalation.id, user_id=user_id, verdict=value, created_at=at))
    escalation.feedback_state = value


def seed(session: Session) -> None:
    alice = add_user(session, "alice").id
    first = escalate(
        session, "c1", ["hello", "i am so angry", "later words"], source_event=101, first_event=100
    )
    verdict(session, first, alice, "wrong", T0 + timedelta(hours=1))
    verdict(session, first, alice, "correct", T0 + timedelta(hours=2))  # the latest wins
    second = escalate(session, "c2", ["thanks great help"])  # no source event: the latest before it
    verdict(session, second, alice, "wrong", T0 + timedelta(hours=3))
    third = escalate(session, "c3", ["never again"], state="correct", unflagged=True)  # an unflag: calm
    verdict(session, third, alice, "correct", T0 + timedelta(hours=4))
    escalate(session, "c4", ["ok fine"], trigger="bot_request", state="correct")  # the customer asked
    escalate(session, "c5", ["where is my card"])  # no verdict yet
    escalate(session, "c6", ["this is terrible"], unflagged=True)  # unflagged, no verdict: calm
    session.commit()


def test_each_judged_policy_escalation_gives_its_message_and_latest_verdict(session: Session) -> None:
    seed(session)
    got = sorted((e.text, e.stressed, e.at.hour) for e in feedback_examples(session))
    assert got == [
        ("i am so angry", True, 11),
        ("never again", False, 13),
        ("thanks great help", False, 12),
        ("this is terrible", False, 9),  # when it was escalated: an unflag's time is not stored here
    ]


def test_missed_flags_are_stressed_examples_and_positives_for_replay(session: Session) -> None:
    alice = add_user(session, "alice").id
    for cid in ("m1", "m2", "m3"):
        session.add(Conversation(id=cid, started_at=T0, last_message_at=T0))
    session.flush()
    for cid, text, stress in (("m1", "calm words", 0.1), ("m1", "named one", 0.2), ("m2", "low", 0.1)):
        session.add(
            Message(conversation_id=cid, sender=Sender.CUSTOMER, text=text, stress=stress, created_at=T0)
        )
    session.add(
        Message(conversation_id="m2", sender=Sender.CUSTOMER, text="highest", stress=0.4, created_at=T0)
    )
    session.add(Message(conversation_id="m2", sender=Sender.BOT, text="bot", stress=None, created_at=T0))
    session.flush()
    named = session.query(Message).filter_by(text="named one").one().id
    later = T0 + timedelta(hours=5)
    session.add(MissedFlag(conversation_id="m1", message_id=named, user_id=alice, created_at=later))
    session.add(MissedFlag(conversation_id="m2", message_id=None, user_id=alice, created_at=later))
    session.add(MissedFlag(conversation_id="m3", message_id=None, user_id=alice, created_at=later))  # no text
    session.commit()
    got = [(e.text, e.stressed, e.at.hour) for e in feedback_examples(session)]
    assert got == [("named one", True, 14), ("highest", True, 14)]
    histories = {h.conversation_id: h for h in read_histories(session)}
    assert histories["m1"].missed and histories["m3"].missed


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(("triage.learning.cli",)), ["recalibrate", *args])
    return result.exit_code, result.output


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = write_tiny_model(tmp_path / "tiny", seed=1)
    write_clearline_json(path)
    return path


@pytest.fixture
def database(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'clearline.db'}"
    engine = make_engine(url)
    Base.metadata.create_all(engine)
    engine.dispose()
    return url


def test_a_candidate_from_the_stored_verdicts(tiny: Path, database: str, tmp_path: Path) -> None:
    engine = make_engine(database)
    with Session(engine) as session:
        seed(session)
        alice = session.query(Feedback).first().user_id  # type: ignore[union-attr]
        for i in range(8):  # more verdicts, both kinds, after the seeded ones
            e = escalate(
                session,
                f"more-{i}",
                ["i hate this service" if i % 2 else "ok fine"],
                at=T0 + timedelta(days=1),
            )
            verdict(session, e, alice, "correct" if i % 2 else "wrong", T0 + timedelta(days=1, hours=i))
        session.commit()
    engine.dispose()
    out = tmp_path / "candidate"
    args = (
        "--from-feedback",
        "--model",
        str(tiny),
        "--out",
        str(out),
        "--prior-weight",
        "0",
        "--database-url",
        database,
    )
    code, output = run(*args, "--json")
    assert code == 0, output
    report = json.loads(output[output.index("{") :])
    assert report["fit"]["feedback_fit"] + report["fit"]["feedback_held_out"] == 12
    assert report["path"] == str(out.resolve())
    assert json.loads((out / "clearline.json").read_text())["version"] == report["candidate_version"]
    code, output = run(*args)  # the directory is there now
    assert code == 2 and "not empty" in output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        ((), "--from-feedback"),
        (("--from-feedback",), "not enough feedback"),
        (("--from-feedback", "--model", "/nonexistent"), "no config.json"),
    ],
)
def test_bad_input_is_exit_2_with_why(tiny: Path, database: str, args: tuple[str, ...], said: str) -> None:
    model = () if "--model" in args else ("--model", str(tiny))
    code, output = run(*args, *model, "--prior-weight", "0", "--database-url", database)
    assert code == 2 and said in output


def test_a_database_that_cannot_be_read(tiny: Path, tmp_path: Path) -> None:
    code, output = run(
        "--from-feedback", "--model", str(tiny), "--database-url", f"sqlite:///{tmp_path / 'none.db'}"
    )
    assert code == 2 and "cannot read the database" in output


def retrain_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(("triage.learning.cli",)), ["retrain", *args])
    return result.exit_code, result.output


def test_retrain_writes_a_candidate_from_the_stored_verdicts(
    tiny: Path, database: str, tmp_path: Path
) -> None:
    engine = make_engine(database)
    with Session(engine) as session:
        seed(session)
    engine.dispose()
    out = tmp_path / "retrained"
    common = ("--model", str(tiny), "--database-url", database, "--epochs", "1", "--threads", "1")
    code, output = retrain_cli("--from-feedback", *common, "--out", str(out), "--json")
    assert code == 0, output
    report = json.loads(output[output.index("{") :])
    assert report["data"]["corrected"] + report["data"]["held_out"] == 4  # the seeded verdicts
    assert (
        json.loads((out / "clearline.json").read_text())["retraining"]["candidate_version"]
        == report["candidate_version"]
    )
    assert retrain_cli(*common)[0] == 2  # no --from-feedback
    code, output = retrain_cli("--from-feedback", *common, "--out", str(out))
    assert code == 2 and "not empty" in output


def test_retrain_without_feedback_is_exit_2(tiny: Path, database: str) -> None:
    code, output = retrain_cli("--from-feedback", "--model", str(tiny), "--database-url", database)
    assert code == 2 and "not enough feedback" in output
