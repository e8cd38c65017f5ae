"""What a model directory says about itself, read without torch: its weights' digest, ``clearline.json``
and its version (as :class:`sentiment.model.EmotionModel` names it). The model registry reads these in
processes that never load the model (the api, the CLI)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from sentiment.errors import ModelNotLoaded

CONFIG_NAME = "clearline.json"
CHUNK = 1 << 20


def weights_files(path: Path) -> list[Path]:
    """The weight files a checkpoint loads from: safetensors, else PyTorch's ``*.bin``."""
    return sorted(path.glob("*.safetensors")) or sorted(path.glob("*.bin"))


def weights_digest(path: Path) -> str:
    """SHA-256 (hex, 64 characters) over the weight files in name order; the model's version uses its
    first 12 characters when ``clearline.json`` names none."""
    digest = hashlib.sha256()
    for file in weights_files(path):
        with file.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                digest.update(chunk)
    return digest.hexdigest()


def read_clearline_json(path: Path) -> dict[str, Any]:
    """Clearline's extra settings beside the weights (``{}`` for a plain Hugging Face checkpoint)."""
    file = path / CONFIG_NAME
    if not file.is_file():
        return {}
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ModelNotLoaded(f"{file} is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ModelNotLoaded(f"{file} must hold a JSON object")
    return data


def checkpoint_version(path: Path, extra: dict[str, Any], digest: str) -> str:
    """The version a loaded model stamps on its scores: ``clearline.json``'s, else ``<dir>@<digest12>``."""
    return str(extra.get("version") or f"{path.name}@{digest[:12]}")
