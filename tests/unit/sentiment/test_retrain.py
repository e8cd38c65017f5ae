"""Retraining from feedback on a tiny model: the corrected targets, the reproducible data, and a candidate
directory finalized like any model (needs GoEmotions dev, as finalizing does)."""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from sentiment.goemotions import LabelledTexts
from sentiment.model import EmotionModel
from sentiment.recalibrate import Example
from sentiment.retrain import RetrainConfig, corrected_targets, data_digest, replay_sample, retrain

T0 = datetime(2026, 12, 1, tzinfo=UTC)
TEXTS = [
    "i am so angry",
    "thank you",
    "this is terrible",
    "ok fine",
    "i hate this service",
    "thanks great help",
]


def verdicts(n: int) -> list[Example]:
    return [Example(TEXTS[i % 6], i % 2 == 0, T0 + timedelta(hours=i)) for i in range(n)]


def test_corrected_targets_set_only_the_stress_side(configured_model: EmotionModel) -> None:
    examples = [Example("i am so angry", False, T0), Example("thank you", True, T0)]
    targets = corrected_targets(configured_model, examples)
    predicted = (
        configured_model.probabilities([e.text for e in examples]) >= configured_model.threshold_vector
    )
    stress = configured_model.stress_index
    other = [j for j in range(len(configured_model.labels)) if j not in stress]
    assert not targets[0, stress].any()  # calm: no stress label
    assert targets[1, stress].sum() >= 1  # stressed: at least one
    assert (targets[:, other] == predicted[:, other]).all()  # the rest as the base predicts


def test_the_replayed_sample_and_the_data_digest_are_reproducible() -> None:
    data = LabelledTexts([f"text {i}" for i in range(100)], np.eye(100, 4, dtype=np.float32))
    first, again = replay_sample(data, 10, seed=1), replay_sample(data, 10, seed=1)
    assert first.texts == again.texts and len(first.texts) == 10
    assert replay_sample(data, 10, seed=2).texts != first.texts
    assert len(replay_sample(data, 500, seed=1).texts) == 100
    changed = first.targets.copy()
    changed[0, 0] = 1 - changed[0, 0]
    assert data_digest(first.texts, first.targets) == data_digest(again.texts, again.targets)
    assert data_digest(first.texts, changed) != data_digest(first.texts, first.targets)


def test_a_candidate_is_trained_finalized_and_measured(configured_dir: Path, tmp_path: Path) -> None:
    base = tmp_path / "base"
    shutil.copytree(configured_dir, base)
    train_set = LabelledTexts(TEXTS * 5, np.tile(np.eye(6, 28, dtype=np.float32), (5, 1)))
    config = RetrainConfig(epochs=1, batch_size=4, replay_ratio=2, threads=1, holdout=0.25)
    runs = []
    for name in ("one", "two"):
        runs.append(
            retrain(
                base, tmp_path / name, verdicts(12), train_set, config, lambda _l: None, reference_texts=TEXTS
            )
        )
    report = runs[0]
    assert report["data"]["corrected"] == 9 and report["data"]["held_out"] == 3
    assert report["data"]["replayed"] == 18
    assert runs[1]["data"]["digest"] == report["data"]["digest"]
    assert runs[1]["candidate_version"] == report["candidate_version"]  # same data and seed, same weights
    assert report["candidate_version"] != report["base_version"] == "tiny@test"
    out = tmp_path / "one"
    config_json = json.loads((out / "clearline.json").read_text())
    assert config_json["version"] == report["candidate_version"]
    assert config_json["retraining"]["data"]["digest"] == report["data"]["digest"]
    assert config_json["reference"]["n"] == len(TEXTS)
    assert set(report["held_out"]["base"]) == {"n", "stressed", "ece", "precision", "recall", "f1"}
    assert "Retrained from feedback" in (out / "MODEL_CARD.md").read_text()
    assert not (tmp_path / ".one-work").exists()
    assert EmotionModel(out).version == report["candidate_version"]
    with pytest.raises(FileExistsError):
        retrain(base, out, verdicts(12), train_set, config, lambda _l: None)
