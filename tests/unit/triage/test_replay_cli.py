"""``clearline replay``'s answers to bad input: a message and exit code 2, before any work."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import build_app


def replay(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(build_app(("triage.replay_cli",)), ["replay", *args])
    return result.exit_code, result.output


@pytest.fixture
def empty_db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'absent' / 'clearline.db'}"


def test_a_directory_that_is_not_a_model(tmp_path: Path, empty_db: str) -> None:
    code, output = replay("--model", str(tmp_path), "--database-url", empty_db)
    assert code == 2
    assert "not a model checkpoint directory" in output


@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("escalate_at: [not a number", "not valid YAML"),
        ("version: x\nescalate_at: 500\n", "invalid triage policy"),
    ],
    ids=["not-yaml", "not-a-policy"],
)
def test_an_invalid_policy(tmp_path: Path, empty_db: str, content: str, said: str) -> None:
    bad = tmp_path / "policy.yaml"
    bad.write_text(content)
    code, output = replay("--policy", str(bad), "--database-url", empty_db)
    assert code == 2
    assert said in output


def test_since_after_until(empty_db: str) -> None:
    code, output = replay("--since", "2026-12-06", "--until", "2026-12-01", "--database-url", empty_db)
    assert code == 2
    assert "is after --until" in output


def test_a_date_that_is_not_one(empty_db: str) -> None:
    code, output = replay("--since", "yesterday", "--database-url", empty_db)
    assert code == 2
    assert "not an ISO date" in output


def test_an_unreachable_database(empty_db: str) -> None:
    code, output = replay("--database-url", empty_db)
    assert code == 2
    assert "cannot read the database" in output


def test_a_database_without_clearline_tables(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.write_bytes(b"")
    code, output = replay("--database-url", f"sqlite:///{empty}")
    assert code == 2
    assert "cannot read the database" in output


def test_an_unreachable_postgres_server() -> None:
    code, output = replay("--database-url", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    assert code == 2
    assert "cannot read the database" in output
