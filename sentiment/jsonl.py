"""Scoring a file of utterances line by line: a bad line becomes an error record, the rest are scored."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sentiment.errors import InvalidText
from sentiment.model import validate_text

if TYPE_CHECKING:
    from sentiment.model import EmotionModel


def read_lines(path: Path) -> list[bytes]:
    """Raw lines of ``path`` ('-' = stdin) without their line ends; blank lines are kept (and reported)."""
    data = sys.stdin.buffer.read() if str(path) == "-" else path.read_bytes()
    lines = data.splitlines()
    while lines and not lines[-1].strip():  # a trailing newline is not an utterance
        lines.pop()
    return lines


def _utterance(raw: bytes) -> object:
    """A line is plain text, or a JSON object with a "text" field."""
    if raw.lstrip().startswith(b"{"):
        try:
            record = json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return raw
        if isinstance(record, dict) and "text" in record:
            return record["text"]
    return raw


def score_lines(model: EmotionModel, lines: list[bytes], batch_size: int = 64) -> Iterator[dict[str, Any]]:
    """One record per line, in order: the score, or ``{"line": n, "error": why}`` for a bad line."""
    valid: list[tuple[int, str]] = []
    errors: dict[int, str] = {}
    for number, raw in enumerate(lines, start=1):
        try:
            valid.append((number, validate_text(_utterance(raw))))
        except InvalidText as exc:
            errors[number] = str(exc)
    scores = iter(model.score([text for _, text in valid], batch_size=batch_size))
    for number in range(1, len(lines) + 1):
        if number in errors:
            yield {"line": number, "error": errors[number]}
        else:
            yield asdict(next(scores))
