"""GET /api/v1/export/{kind}: conversations, escalations, feedback and the audit trail for a time range,
as CSV or JSON, streamed; supervisors only; audited. On PostgreSQL again in test_postgres.py."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.export import BATCH, SHAPES, ExportKind
from tests.unit.api import factories
from tests.unit.api.conftest import bearer
from tests.unit.api.test_conversations import three  # noqa: F401 - cards-1, transfers-1, calm
from triage import services
from triage.storage.db import AuditRecord, Conversation, Escalation, session_scope
from triage.storage.workplace_tables import SuggestionVerdict

HOUR = timedelta(hours=1)


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def window() -> dict[str, str]:
    now = datetime.now(UTC)
    return {"since": iso(now - HOUR), "until": iso(now + HOUR)}


@pytest.fixture
def judged(factory: sessionmaker[Session], three: None, team: dict[str, int]) -> None:  # noqa: F811
    """cards-1's escalation judged wrong, with a comment a spreadsheet would run as a formula and a word
    added; calm (never escalated) marked as a missed flag; a suggestion on cards-1 accepted."""
    with session_scope(factory) as session:
        sam = session.get_one(factories.User, team["sam"])
        escalation = session.scalars(select(Escalation).where(Escalation.conversation_id == "cards-1")).one()
        stressed = escalation.explanations[0]["message_id"]
        services.record_feedback(
            session,
            escalation.id,
            user=sam,
            verdict="wrong",
            unmarked_words=[],
            comment='=HYPERLINK("http://evil.example","x")',
            added_words=[{"message_id": stressed, "start": 0, "end": 4, "word": "This"}],
        )
        services.record_missed_flag(session, "calm", user=sam, message_id=None, comment="-missed", words=[])
        reasons = ["=the customer reports the card lost or stolen", "card ending 4242 is active"]
        session.add(
            SuggestionVerdict(
                conversation_id="cards-1",
                suggestion_key="freeze_card:4242",
                action="freeze_card",
                verdict="accepted",
                reasons=reasons,
                comment="+1 the customer agreed",
                user_id=sam.id,
            )
        )


def export(client: TestClient, kind: str, fmt: str, user: str = "sam", **params: str) -> Any:
    response = client.get(
        f"/api/v1/export/{kind}", params={"format": fmt, **(params or window())}, headers=bearer(client, user)
    )
    assert response.status_code == 200, response.text
    assert f"clearline-{kind}-" in response.headers["content-disposition"]
    if fmt == "json":
        assert response.headers["content-type"] == "application/json"
        return response.json()
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_each_kind_in_csv_and_json_with_the_same_rows(client: TestClient, judged: None) -> None:
    for kind in ExportKind:
        as_json, as_csv = export(client, kind.value, "json"), export(client, kind.value, "csv")
        # the audit trail grows by each export's own record: the JSON one is in the CSV
        assert len(as_json) + (kind == ExportKind.AUDIT) == len(as_csv) > 0, kind
        assert list(as_csv[0]) == list(SHAPES[kind].columns) == list(as_json[0]), kind
    conversations = export(client, "conversations", "json")
    assert sorted(c["id"] for c in conversations) == ["calm", "cards-1", "transfers-1"]
    cards = next(c for c in conversations if c["id"] == "cards-1")
    assert cards["queue"] == "cards" and cards["state"] == "queued" and cards["max_stress"] == 0.91
    escalations = export(client, "escalations", "json")
    assert {e["conversation_id"] for e in escalations} == {"cards-1", "transfers-1"}
    first = next(e for e in escalations if e["conversation_id"] == "cards-1")
    assert first["feedback_state"] == "wrong" and first["factors"] and first["explanations"][0]["words"]
    in_csv = next(e for e in export(client, "escalations", "csv") if e["conversation_id"] == "cards-1")
    assert json.loads(in_csv["factors"]) == first["factors"]  # JSON columns as JSON text
    feedback = export(client, "feedback", "json")
    assert [(f["conversation_id"], f["by"], f["verdict"]) for f in feedback] == [("cards-1", "sam", "wrong")]
    assert [w["word"] for w in feedback[0]["added_words"]] == ["This"]
    missed = export(client, "missed_flags", "json")
    assert [(m["conversation_id"], m["by"], m["comment"], m["words"]) for m in missed] == [
        ("calm", "sam", "-missed", [])
    ]
    assert export(client, "missed_flags", "csv")[0]["comment"] == "'-missed"  # a formula start, as text
    [verdict] = export(client, "suggestion_verdicts", "json")
    assert (verdict["conversation_id"], verdict["by"], verdict["suggestion_key"], verdict["verdict"]) == (
        "cards-1",
        "sam",
        "freeze_card:4242",
        "accepted",
    )
    assert verdict["reasons"][0] == "=the customer reports the card lost or stolen"  # JSON: as stored
    # CSV: the reasons as JSON text, which starts with "[" (no formula); the comment kept with the verdict
    [csv_verdict] = export(client, "suggestion_verdicts", "csv")
    assert json.loads(csv_verdict["reasons"]) == verdict["reasons"]
    assert verdict["comment"] == "+1 the customer agreed"
    assert csv_verdict["comment"] == "'+1 the customer agreed"  # a formula start, as text
    actions = {record["action"] for record in export(client, "audit", "json")}
    assert {"escalate", "feedback", "export"} <= actions


def test_a_cell_a_spreadsheet_would_run_is_text_in_csv_only(client: TestClient, judged: None) -> None:
    (row,) = export(client, "feedback", "csv")
    assert row["comment"] == "'" + '=HYPERLINK("http://evil.example","x")'
    (record,) = export(client, "feedback", "json")
    assert record["comment"] == '=HYPERLINK("http://evil.example","x")'  # JSON: exactly as stored


def test_the_range_selects_rows(client: TestClient, judged: None) -> None:
    later = datetime.now(UTC) + 2 * HOUR
    empty = {"since": iso(later), "until": iso(later + HOUR)}
    for kind in ("conversations", "escalations", "feedback", "missed_flags", "suggestion_verdicts"):
        assert export(client, kind, "json", **empty) == []
        assert export(client, kind, "csv", **empty) == []  # the header line only
    # until defaults to now; an offset in the parameters is honoured
    since = (datetime.now(UTC) - HOUR).astimezone(timezone(timedelta(hours=5)))
    assert len(export(client, "escalations", "json", since=since.isoformat())) == 2


def test_roles_and_bad_parameters(client: TestClient, judged: None) -> None:
    sam = bearer(client, "sam")
    assert (
        client.get("/api/v1/export/audit", params=window(), headers=bearer(client, "alice")).status_code
        == 403
    )
    assert client.get("/api/v1/export/audit", params=window()).status_code == 401
    now = datetime.now(UTC)
    for params, says in (
        ({"since": iso(now), "until": iso(now - HOUR)}, "until must be after since"),
        ({"since": iso(now - timedelta(days=400)), "until": iso(now)}, "at most 366 days"),
        ({"since": "yesterday"}, ""),
        ({}, ""),
        ({**window(), "format": "xml"}, ""),
    ):
        response = client.get("/api/v1/export/audit", params=params, headers=sam)
        assert response.status_code == 422 and says in response.text, (params, response.text)
    assert client.get("/api/v1/export/passwords", params=window(), headers=sam).status_code == 422


def test_every_export_is_audited_before_it_is_sent(
    client: TestClient, judged: None, factory: sessionmaker[Session]
) -> None:
    export(client, "escalations", "csv")
    with factory() as session:
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "export")).one()
    assert (
        record.actor == "sam" and record.inputs["kind"] == "escalations" and record.inputs["format"] == "csv"
    )
    assert len(record.inputs["range"]) == 2


def test_a_large_export_is_streamed_in_batches(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    count = 2 * BATCH + 7
    with session_scope(factory) as session:
        session.add_all(Conversation(id=f"bulk-{i:05d}", stress_trajectory=[]) for i in range(count))
    for fmt in ("csv", "json"):
        with client.stream(
            "GET",
            "/api/v1/export/conversations",
            params={"format": fmt, **window()},
            headers=bearer(client, "sam"),
        ) as response:
            chunks = list(response.iter_raw())
        body = b"".join(chunks).decode()
        assert len(chunks) >= 3, fmt  # a batch at a time, not one body built in memory
        found = json.loads(body) if fmt == "json" else list(csv.DictReader(io.StringIO(body)))
        assert len(found) == count and found[0]["id"] == "bulk-00000", fmt
