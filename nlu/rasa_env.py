"""Where the Rasa 3.6 virtual environment (Python 3.10) lives."""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class RasaEnvironmentMissing(FileNotFoundError):
    """The Rasa virtual environment has not been created (``make rasa-venv``)."""


def rasa_venv() -> Path:
    return Path(os.environ.get("CLEARLINE_RASA_VENV", ROOT / ".venv-rasa"))


def rasa_executable(name: str) -> Path:
    path = rasa_venv() / "bin" / name
    if not path.exists():
        raise RasaEnvironmentMissing(
            f"{path} not found: create the Rasa environment with `make rasa-venv` "
            "(or set CLEARLINE_RASA_VENV)"
        )
    return path


def rasa_python() -> Path:
    return rasa_executable("python")
