"""A model directory as the registry records it: checked and described without loading the model."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sentiment.checkpoint import checkpoint_version, read_clearline_json, weights_digest, weights_files
from sentiment.errors import ModelNotLoaded
from triage.registry.rules import InvalidCandidate, text_digest


@dataclass(frozen=True)
class ModelCandidate:
    """An emotion model directory that can be registered."""

    version: str
    path: str  # absolute
    weights_digest: str  # SHA-256 of the weight files
    calibration: dict[str, Any] = field(default_factory=dict)  # clearline.json's "stress" section
    metrics: dict[str, Any] = field(default_factory=dict)  # clearline.json's "dev_metrics"
    training_data: str = ""


def _training_data(extra: dict[str, Any]) -> str:
    """What clearline.json says the model was trained on (the shipped model names its data directory)."""
    training = extra.get("training")
    config = training.get("config", {}) if isinstance(training, dict) else {}
    data = config.get("data_dir") if isinstance(config, dict) else None
    return f"GoEmotions train ({data})" if data else ""


def model_candidate(path: Path | str, training_data: str | None = None) -> ModelCandidate:
    """Check that ``path`` is a checkpoint directory with weights and describe it; ``InvalidCandidate``
    says what is missing. ``training_data`` overrides what ``clearline.json`` says."""
    directory = Path(path).expanduser().resolve()
    if not directory.is_dir():
        raise InvalidCandidate(f"{path}: not a directory")
    if not (directory / "config.json").is_file():
        raise InvalidCandidate(f"{path}: not a model checkpoint directory (no config.json)")
    if not weights_files(directory):
        raise InvalidCandidate(f"{path}: no weights (*.safetensors or *.bin)")
    try:
        extra = read_clearline_json(directory)
    except ModelNotLoaded as exc:
        raise InvalidCandidate(str(exc)) from exc
    digest = weights_digest(directory)
    stress = extra.get("stress")
    metrics = extra.get("dev_metrics")
    return ModelCandidate(
        version=checkpoint_version(directory, extra, digest),
        path=str(directory),
        weights_digest=digest,
        calibration=stress if isinstance(stress, dict) else {},
        metrics=metrics if isinstance(metrics, dict) else {},
        training_data=(training_data or "").strip() or _training_data(extra),
    )


def content_digest(weights: str, calibration: dict[str, Any]) -> str:
    """What "the same model" means when a version is added again: the weights and the calibration."""
    return text_digest(weights + "|" + json.dumps(calibration, sort_keys=True))
