"""A model directory as the registry sees it: checked and described from its files, torch never loaded."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from triage.registry.artifacts import content_digest, model_candidate
from triage.registry.rules import InvalidCandidate
from triage.settings import ROOT

SHIPPED = ROOT / "data" / "models" / "emotions"


def checkpoint(tmp_path: Path, extra: dict[str, object] | None = None, weights: bytes = b"w" * 10) -> Path:
    path = tmp_path / "candidate"
    path.mkdir()
    (path / "config.json").write_text("{}")
    (path / "model.safetensors").write_bytes(weights)
    if extra is not None:
        (path / "clearline.json").write_text(json.dumps(extra))
    return path


def test_the_version_is_clearline_json_s_with_its_calibration_metrics_and_training_data(tmp_path):
    stress = {"labels": ["anger"], "scale": 1.1, "bias": 0.2, "threshold": 0.3}
    extra = {
        "version": "emotions@candidate",
        "stress": stress,
        "dev_metrics": {"ece": 0.01},
        "training": {"config": {"data_dir": "/data/goemotions"}},
    }
    candidate = model_candidate(checkpoint(tmp_path, extra))
    assert candidate.version == "emotions@candidate"
    assert candidate.weights_digest == hashlib.sha256(b"w" * 10).hexdigest()
    assert (candidate.calibration, candidate.metrics) == (stress, {"ece": 0.01})
    assert candidate.training_data == "GoEmotions train (/data/goemotions)"
    assert model_candidate(tmp_path / "candidate", "feedback 2026-12").training_data == "feedback 2026-12"


def test_without_clearline_json_the_version_is_the_directory_and_digest(tmp_path):
    candidate = model_candidate(checkpoint(tmp_path))
    assert candidate.version == f"candidate@{hashlib.sha256(b'w' * 10).hexdigest()[:12]}"
    assert Path(candidate.path).is_absolute()


def test_the_shipped_model_is_named_as_its_scores_are_stamped():
    stamped = json.loads((SHIPPED / "clearline.json").read_text())["version"]
    assert model_candidate(SHIPPED).version == stamped


def test_a_directory_without_weights_is_refused(tmp_path):
    path = checkpoint(tmp_path)
    (path / "model.safetensors").unlink()
    with pytest.raises(InvalidCandidate, match=r"no weights \(\*.safetensors or \*.bin\)"):
        model_candidate(path)


def test_a_directory_without_config_json_or_no_directory_is_refused(tmp_path):
    with pytest.raises(InvalidCandidate, match="not a directory"):
        model_candidate(tmp_path / "missing")
    path = checkpoint(tmp_path)
    (path / "config.json").unlink()
    with pytest.raises(InvalidCandidate, match="no config.json"):
        model_candidate(path)


def test_a_broken_clearline_json_is_refused(tmp_path):
    path = checkpoint(tmp_path)
    (path / "clearline.json").write_text("{not json")
    with pytest.raises(InvalidCandidate, match="clearline.json is not valid JSON"):
        model_candidate(path)


def test_the_same_model_means_the_same_weights_and_calibration():
    assert content_digest("d", {"a": 1, "b": 2}) == content_digest("d", {"b": 2, "a": 1})
    assert content_digest("d", {"a": 1}) != content_digest("d", {"a": 2})
    assert content_digest("d", {}) != content_digest("e", {})
