"""Exports for integrators and reporting: conversations, escalations, feedback, missed flags and the audit
trail for a time range, as CSV or JSON, streamed (supervisors and admins; every export is audited)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request, status
from fastapi.responses import StreamingResponse

from api.deps import SessionDep, SupervisorUser
from api.export import SHAPES, ExportFormat, ExportKind, as_csv, as_json, rows
from triage import audit
from triage.audit import Actor
from triage.storage.conversations import as_utc

router = APIRouter(prefix="/export", tags=["export"])
MAX_RANGE = timedelta(days=366)
MEDIA_TYPES = {ExportFormat.CSV: "text/csv; charset=utf-8", ExportFormat.JSON: "application/json"}


@router.get("/{kind}", response_class=StreamingResponse)
def export(
    kind: Annotated[ExportKind, Path()],
    request: Request,
    user: SupervisorUser,
    session: SessionDep,
    since: datetime,
    until: datetime | None = None,
    format: Annotated[ExportFormat, Query()] = ExportFormat.CSV,  # noqa: A002 - the issue's parameter name
) -> StreamingResponse:
    """Everything of ``kind`` in [since, until) (until: now), oldest first. Conversations: those active in
    the range (started before its end, last message after its start). Texts are as stored: redacted.
    CSV: JSON columns (factors, explanations, audit inputs) as JSON text; a text cell that a spreadsheet
    would read as a formula starts with an apostrophe. JSON: an array of objects."""
    start = as_utc(since).astimezone(UTC)
    end = as_utc(until).astimezone(UTC) if until is not None else datetime.now(UTC)
    if end <= start:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "until must be after since")
    if end - start > MAX_RANGE:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, "an export covers at most 366 days")
    audit.record(
        session,
        Actor.of(user),
        "export",
        inputs={"kind": kind.value, "format": format.value, "range": [start.isoformat(), end.isoformat()]},
    )
    session.commit()  # audited before a byte leaves, also when the client stops reading
    # in UTC, as stored (as the conversations list does): PostgreSQL's columns carry the time zone, and
    # SQLite compares the text of a UTC timestamp
    found = rows(request.app.state.session_factory, kind, start, end)
    body = as_csv(SHAPES[kind].columns, found) if format == ExportFormat.CSV else as_json(found)
    name = f"clearline-{kind}-{start:%Y%m%d}-{end:%Y%m%d}.{format}"
    disposition = {"Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(body, media_type=MEDIA_TYPES[format], headers=disposition)
