"""The Makefile's own failure paths: a missing Python is named, with how to get it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(("target", "variable", "version"), [
    ("check-python310", "PYTHON310", "3.10"),
    ("check-python", "PYTHON311", "3.11"),
])  # fmt: skip
def test_a_missing_python_says_how_to_get_it(target: str, variable: str, version: str) -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", target, f"{variable}=/nonexistent/python{version}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    for advice in (
        f"{variable}=/path/to/python{version}",
        f"apt install python{version} python{version}-venv",  # deadsnakes
        f"brew install python@{version}",
        f"pyenv install {version}",
        f"uv python install {version}",
    ):
        assert advice in result.stdout, result.stdout


def test_an_installed_python310_passes_the_check() -> None:
    result = subprocess.run(
        ["make", "--no-print-directory", "check-python310"], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
