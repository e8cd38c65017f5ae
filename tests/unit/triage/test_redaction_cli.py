"""``clearline redact`` through typer's runner and once as a real process."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from triage.redaction_cli import MAX_LINE_CHARS
from triage.settings import ROOT

runner = CliRunner()


def test_redact_one_text_prints_the_text_and_the_spans() -> None:
    result = runner.invoke(app, ["redact", "call me on 07700 900123 or mail a.b@example.com"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "text": "call me on <PHONE> or mail <EMAIL>",
        "spans": [
            {"entity": "PHONE_NUMBER", "start": 11, "end": 18},
            {"entity": "EMAIL_ADDRESS", "start": 27, "end": 34},
        ],
    }


def test_redact_needs_a_text_or_a_file() -> None:
    assert runner.invoke(app, ["redact"]).exit_code == 2
    assert runner.invoke(app, ["redact", "x", "--jsonl", "-"]).exit_code == 2
    missing = runner.invoke(app, ["redact", "--jsonl", "/no/such/file.jsonl"])
    assert missing.exit_code == 2 and "no such file" in missing.output


def jsonl_lines(stdout: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stdout.splitlines()]


def test_jsonl_answers_every_line_in_order_and_bad_lines_with_their_error(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(
        b'{"text": "card 4111 1111 1111 1111"}\n'
        b"\n"  # empty
        b"not json\n"
        b'["text"]\n'  # not an object
        b'{"text": 5}\n'  # not a string
        b'{"other": "x"}\n'  # no text
        b"\xff\xfe{}\n"  # not UTF-8
        + b'{"text": "'
        + b"a" * (MAX_LINE_CHARS + 1)
        + b'"}\n'  # too long
        + '{"text": "caf\u00e9 SW1A 1AA"}'.encode()  # the last line has no newline
    )
    result = runner.invoke(app, ["redact", "--jsonl", str(path)])
    assert result.exit_code == 1
    lines = jsonl_lines(result.stdout)
    assert len(lines) == 9  # nothing lost: one answer a line
    assert lines[0] == {
        "text": "card <CARD_NUMBER>",
        "spans": [{"entity": "CREDIT_CARD", "start": 5, "end": 18}],
    }
    assert [line.get("line") for line in lines[1:8]] == [2, 3, 4, 5, 6, 7, 8]
    errors = [str(line["error"]) for line in lines[1:8]]
    assert errors[0].startswith("empty line")
    assert errors[1].startswith("not JSON")
    assert errors[2] == errors[3] == errors[4] == 'expected an object with a string "text"'
    assert errors[5].startswith("not UTF-8")
    assert errors[6] == f"longer than {MAX_LINE_CHARS} characters"
    assert lines[8]["text"] == "caf\u00e9 <POSTCODE>"
    assert "7 line(s) could not be redacted" in result.stderr


def test_a_huge_line_is_skipped_without_losing_the_next_one(tmp_path: Path) -> None:
    path = tmp_path / "huge.jsonl"
    path.write_bytes(b"x" * (MAX_LINE_CHARS * 10) + b"\n" + b'{"text": "fine"}\n')
    result = runner.invoke(app, ["redact", "--jsonl", str(path)])
    assert result.exit_code == 1
    assert jsonl_lines(result.stdout) == [
        {"line": 1, "error": f"longer than {MAX_LINE_CHARS} characters"},
        {"text": "fine", "spans": []},
    ]


def test_jsonl_from_standard_input_that_is_all_good_exits_0() -> None:
    result = runner.invoke(
        app, ["redact", "--jsonl", "-"], input='{"text": "a.b@example.com"}\n{"text": "nothing"}\n'
    )
    assert result.exit_code == 0, result.output
    assert [line["text"] for line in jsonl_lines(result.stdout)] == ["<EMAIL>", "nothing"]


CLEARLINE = ROOT / ".venv" / "bin" / "clearline"


def test_the_installed_command_redacts_standard_input_as_a_real_process() -> None:
    result = subprocess.run(
        [str(CLEARLINE), "redact", "--jsonl", "-"],
        input=b'{"text": "ring me on +44 20 7946 0958"}\nbroken\n',
        capture_output=True,
        timeout=300,
    )
    assert result.returncode == 1, result.stderr
    assert [json.loads(line) for line in result.stdout.decode().splitlines()] == [
        {"text": "ring me on <PHONE>", "spans": [{"entity": "PHONE_NUMBER", "start": 11, "end": 18}]},
        {"line": 2, "error": "not JSON: Expecting value at column 1"},
    ]
    assert b"1 line(s) could not be redacted" in result.stderr


def test_the_benchmark_is_registered_under_bench() -> None:
    result = runner.invoke(app, ["bench", "redaction", "--help"])
    assert result.exit_code == 0, result.output
    assert "--json" in result.output
