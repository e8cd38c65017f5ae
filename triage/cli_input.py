"""What the triage commands share for bad input: the message on stderr and exit code 2, and ISO moments."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer

# the options the triage commands share
DatabaseUrl = Annotated[str | None, typer.Option(help="database URL (default CLEARLINE_DATABASE_URL)")]
AsJson = Annotated[bool, typer.Option("--json", help="print one JSON object")]


def fail(message: str) -> typer.Exit:
    """``raise fail("...")``: the message on stderr, exit code 2."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


def moment(value: str | None, name: str) -> datetime | None:
    """An ISO date or time option (``--name``), in UTC when it names no zone; exit 2 when it is not one."""
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise fail(f"--{name} {value!r} is not an ISO date or time (2026-12-06 or 2026-12-06T09:00)") from exc
    return parsed.astimezone(UTC) if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
