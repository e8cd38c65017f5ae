"""``clearline``: the app is assembled from every command module, and a broken module is an error."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import typer
import typer.main

from api.cli import COMMAND_MODULES, CommandModuleError, build_app
from triage.settings import ROOT


def command_names(app: typer.Typer) -> set[str]:
    return set(typer.main.get_group(app).commands)


def test_every_command_module_registers_its_commands() -> None:
    app = build_app(COMMAND_MODULES)
    assert {"users", "run", "worker", "db", "bench"} <= command_names(app)
    bench = typer.main.get_group(app).commands["bench"]
    assert {"sentiment", "pipeline", "api"} <= set(bench.commands)  # type: ignore[attr-defined]


def test_a_command_module_that_raises_on_import_is_an_error_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "half_written_commands.py").write_text("raise RuntimeError('not finished')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(CommandModuleError, match=r"half_written_commands.*RuntimeError: not finished"):
        build_app(("api.admin_cli", "half_written_commands"))


def test_a_missing_command_module_is_an_error_not_a_skipped_group() -> None:
    # before, a module that did not exist was skipped silently and its commands were just absent
    with pytest.raises(CommandModuleError, match="no_such_commands"):
        build_app(("api.admin_cli", "no_such_commands"))


def test_help_imports_no_model_code() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from api.cli import app\n"
        "assert CliRunner().invoke(app, ['--help']).exit_code == 0\n"
        "sys.exit(int(any(m in sys.modules for m in ('torch', 'sentiment.model'))))"
    )
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT, timeout=120).returncode == 0
