"""``clearline customer export|erase`` and ``clearline purge`` through typer's CliRunner, on SQLite files."""

from __future__ import annotations

import json
import stat
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from api.cli import app
from tests.integration.triage import privacy_seed as seed
from triage.logs import configure_logging
from triage.settings import get_settings
from triage.storage.db import AuditRecord, Conversation, make_engine, make_session_factory
from triage.storage.migrate import upgrade

CUSTOMER = "tg-55501"
WORDS = "Osprey parcel"


@pytest.fixture
def factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator:
    urls = {name: f"sqlite:///{tmp_path / f'{name}.db'}" for name in ("clearline", "tracker", "events")}
    upgrade(urls["clearline"])
    seed.create_rasa_tables(urls["tracker"], urls["events"])
    monkeypatch.setenv("CLEARLINE_DATABASE_URL", urls["clearline"])
    monkeypatch.setenv("CLEARLINE_RASA_TRACKER_URL", urls["tracker"])
    monkeypatch.setenv("CLEARLINE_EVENTS_URL", urls["events"])
    monkeypatch.setenv("CLEARLINE_ERASE_SETTLE_S", "0")
    monkeypatch.delenv("CLEARLINE_RETENTION_DAYS", raising=False)
    get_settings.cache_clear()
    engine = make_engine(urls["clearline"])
    built = make_session_factory(engine)
    seed.team(built)
    seed.seed_bot_only(built, CUSTOMER, WORDS, seed.now())
    seed.rasa_turns(urls["tracker"], urls["events"], CUSTOMER, WORDS, seed.now())
    yield built
    engine.dispose()
    get_settings.cache_clear()
    # the commands log to the stderr CliRunner lent them, closed by now: back to this process's stderr
    configure_logging()


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def audit_actions(factory) -> list[tuple[str, str]]:
    """The privacy actions' records (the seeded conversations have the policy's)."""
    privacy = ("customer_export", "erase", "erase_settle", "purge")
    with factory() as session:
        records = session.scalars(
            select(AuditRecord).where(AuditRecord.action.in_(privacy)).order_by(AuditRecord.id)
        )
        return [(r.action, r.actor) for r in records]


def test_export_to_stdout_or_to_a_new_owner_only_file_and_audited(factory, tmp_path: Path) -> None:
    code, out, _ = run("customer", "export", CUSTOMER)
    assert code == 0
    document = json.loads(out)
    assert document["counts"]["clearline"]["messages"] == 2 and document["counts"]["rasa_broker"] == {
        "events": 4
    }
    target = tmp_path / "export.json"
    code, _, err = run("customer", "export", CUSTOMER, "second-id", "--out", str(target), "--by", "root")
    assert code == 0 and f"exported to {target}" in err
    assert json.loads(target.read_text())["customer_ids"] == [CUSTOMER, "second-id"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert audit_actions(factory) == [
        ("customer_export", "cli"),
        ("customer_export", "root"),
        ("customer_export", "root"),
    ]
    code, _, err = run("customer", "export", CUSTOMER, "--out", str(target))
    assert code == 1 and "exists" in err


def test_erase_answers_per_id_and_again_says_when_it_was_erased(factory) -> None:
    code, out, _ = run("customer", "erase", CUSTOMER, "never-seen", "--reason", "ticket 12", "--by", "root")
    assert code == 0, out
    assert out.splitlines() == [
        f"{CUSTOMER}: erased (rasa_broker: 4 events; rasa_tracker: 4 events; clearline: 2 messages, "
        "1 conversations, 1 audit_log_pseudonymised)",
        "never-seen: nothing held",
    ]
    code, out, _ = run("customer", "erase", CUSTOMER, "--reason", "asked again", "--json")
    (again,) = json.loads(out)
    assert code == 0 and again["status"] == "already_erased" and again["previously_erased_by"] == "root"
    with factory() as session:
        assert session.get(Conversation, CUSTOMER) is None
    assert audit_actions(factory)[-3:] == [("erase", "root"), ("erase", "root"), ("erase", "cli")]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--reason", " "], 2, "needs a reason"),
        (["--reason", "r", "--by", "sam"], 1, "--by must name an active admin; 'sam'"),
        (["--reason", "r", "--by", "nobody"], 1, "'nobody' is not one"),
    ],
)
def test_erase_refuses_bad_requests_and_changes_nothing(
    factory, args: list[str], code: int, message: str
) -> None:
    result, _, err = run("customer", "erase", CUSTOMER, *args)
    assert result == code and message in err
    with factory() as session:
        assert session.get(Conversation, CUSTOMER) is not None
    assert audit_actions(factory) == []


def test_purge_needs_a_retention_and_reports_what_it_did(factory, monkeypatch: pytest.MonkeyPatch) -> None:
    code, _, err = run("purge")
    assert code == 2 and "CLEARLINE_RETENTION_DAYS" in err
    seed.seed_bot_only(factory, "old", WORDS, seed.now() - timedelta(days=40))
    code, out, _ = run("purge", "--days", "30", "--dry-run", "--json")
    assert code == 0 and json.loads(out)["conversations"] == 1 and json.loads(out)["dry_run"] is True
    monkeypatch.setenv("CLEARLINE_RETENTION_DAYS", "30")
    get_settings.cache_clear()
    code, out, _ = run("purge")
    assert code == 0 and out.startswith("purged 1 conversations idle since ")
    assert "0 typing_signals, 0 feedback, 0 escalations, 0 missed_flags, 2 messages" in out
    with factory() as session:
        assert session.get(Conversation, "old") is None and session.get(Conversation, CUSTOMER) is not None
    assert audit_actions(factory) == [("purge", "retention")]


def test_linked_exports_and_erases_the_customers_other_conversations_and_says_when_too_many(factory) -> None:
    ref = "cref:v1:" + "e" * 40
    with factory() as session:
        session.get_one(Conversation, CUSTOMER).customer_ref = ref
        session.add(Conversation(id="web-same", customer_ref=ref))
        session.add(Conversation(id="web-other", customer_ref="cref:v1:" + "f" * 40))
        session.commit()
    code, out, _ = run("customer", "export", CUSTOMER, "--linked")
    assert code == 0 and json.loads(out)["customer_ids"] == [CUSTOMER, "web-same"]
    code, out, _ = run("customer", "erase", "web-same", "--linked", "--reason", "ticket 13", "--json")
    assert code == 0 and [r["customer_id"] for r in json.loads(out)] == ["web-same", CUSTOMER]
    with factory() as session:
        assert set(session.scalars(select(Conversation.id))) == {"web-other"}
        session.add_all(Conversation(id=f"web-many-{i}", customer_ref=ref) for i in range(51))
        session.commit()
    code, _, err = run("customer", "export", "web-many-0", "--linked")
    assert code == 2 and "at most 50 customer ids" in err
