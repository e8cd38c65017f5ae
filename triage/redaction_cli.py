"""``clearline redact`` (the redactor as a command) and ``clearline bench redaction`` (its corpora and
measurements: triage/benchmarks/redaction_corpus.py).

``clearline redact "text"`` prints ``{"text": redacted, "spans": [{"entity", "start", "end"}]}``;
``clearline redact --jsonl FILE`` (``-`` for standard input) reads one ``{"text": ...}`` object a line and
writes one such object a line to standard output, in order. A line that cannot be read (empty, not JSON,
not an object with a string "text", not UTF-8, longer than ``MAX_LINE_CHARS``) gets
``{"line": N, "error": "..."}`` in its place on standard output, so that output line N always answers input
line N; the command goes on and exits with 1 at the end when any line failed.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated

import typer

from triage.benchmarks.redaction_corpus import SEED

if TYPE_CHECKING:
    from triage.redaction import Redactor

MAX_LINE_CHARS = 100_000

# --- the commands -------------------------------------------------------------------------------------


def redaction_json(redactor: Redactor, text: str) -> str:
    result = redactor.redact_with_spans(text)
    return json.dumps(
        {"text": result.text, "spans": [span.as_dict() for span in result.spans]}, ensure_ascii=False
    )


def _line_text(raw: bytes | None) -> str:
    """The ``text`` of one JSON Lines line (None: a line too long to read); ValueError says what is wrong."""
    too_long = f"longer than {MAX_LINE_CHARS} characters"
    if raw is None:
        raise ValueError(too_long)
    try:
        line = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not UTF-8: byte {exc.start + 1} of the line") from None
    if len(line) > MAX_LINE_CHARS:
        raise ValueError(too_long)
    if not line.strip():
        raise ValueError('empty line, expected {"text": "..."}')
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at column {exc.colno}") from None
    text = value.get("text") if isinstance(value, dict) else None
    if not isinstance(text, str):
        raise ValueError('expected an object with a string "text"')
    return text


def _read_lines(stream: IO[bytes]) -> Iterator[bytes | None]:
    """Each line as bytes, or None for a line longer than a MAX_LINE_CHARS-character line can be in UTF-8:
    the rest of such a line is read and dropped, so a huge line never sits in memory."""
    limit = MAX_LINE_CHARS * 4 + 2  # four bytes a character at most, and "\r\n"
    while raw := stream.readline(limit):
        if len(raw) < limit or raw.endswith(b"\n"):
            yield raw
            continue
        while (rest := stream.readline(limit)) and not rest.endswith(b"\n"):
            pass
        yield None


def redact_jsonl(redactor: Redactor, stream: IO[bytes], out: Callable[[str], None]) -> int:
    """One JSON object out per line in, in order; returns how many lines failed."""
    failures = 0
    for number, raw in enumerate(_read_lines(stream), start=1):
        try:
            text = _line_text(raw)
        except ValueError as exc:
            failures += 1
            out(json.dumps({"line": number, "error": str(exc)}))
            continue
        out(redaction_json(redactor, text))
    return failures


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    @app.command("redact")
    def redact_command(
        text: Annotated[str | None, typer.Argument(help="the text to redact")] = None,
        jsonl: Annotated[
            str | None,
            typer.Option(
                "--jsonl",
                help='a JSON Lines file of {"text": ...} objects, "-" for standard input',
                show_default=False,
            ),
        ] = None,
    ) -> None:
        """Redact PII (cards, IBANs, e-mails, phones, UK postcodes): JSON with the text and the spans.

        With --jsonl, one JSON object per input line on standard output, in order; a line that cannot be
        read gives {"line": N, "error": "..."} instead, and the command exits 1 at the end."""
        if (text is None) == (jsonl is None):
            raise typer.BadParameter('give either TEXT or --jsonl FILE ("-" for standard input)')
        from triage.redaction import default_redactor

        redactor = default_redactor()
        if text is not None:
            typer.echo(redaction_json(redactor, text))
            return
        if jsonl == "-":
            failures = redact_jsonl(redactor, sys.stdin.buffer, typer.echo)
        else:
            path = Path(str(jsonl))
            if not path.is_file():
                raise typer.BadParameter(f"no such file: {jsonl}", param_hint="--jsonl")
            with path.open("rb") as stream:
                failures = redact_jsonl(redactor, stream, typer.echo)
        if failures:
            typer.echo(f"{failures} line(s) could not be redacted (see their error objects)", err=True)
            raise typer.Exit(1)

    @bench_app.command("redaction")
    def bench_redaction(
        seed: Annotated[int, typer.Option(help="the corpora's random seed")] = SEED,
        messages: Annotated[int, typer.Option(help="messages in the timed realistic mix")] = 4000,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    ) -> None:
        """Recall per kind, phone-context recall, false positives and ms per message: presidio's 8-region
        setup (before #22) against the current redactor, on the same generated corpora."""
        from triage.benchmarks.redaction_corpus import run_bench

        figures = run_bench(seed, messages)
        if as_json:
            typer.echo(json.dumps(figures))
        else:
            for key, value in figures.items():
                typer.echo(f"{key}: {value}")
