"""Clearline's standalone modules that Rasa's environment shares, loaded from their files.

Rasa's environment (Python 3.10) does not install Clearline's packages, whose other modules need Python
3.11; the few files both sides must run identically (the redactor, sealing) are written for 3.10 and loaded
from the repository (the rasa image copies them to the same place).
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent


def load(relative_path: str) -> ModuleType:
    """The module at ``ROOT/relative_path`` (e.g. "triage/redaction.py"), loaded once per process."""
    name = "clearline_" + relative_path.removesuffix(".py").replace("/", "_")
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    path = ROOT / relative_path
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None or not path.is_file():
        raise ImportError(f"Clearline's {relative_path} is missing: {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module
