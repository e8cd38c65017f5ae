from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from sentiment.errors import ModelNotLoaded
from sentiment.goemotions import STRESS_LABELS
from sentiment.model import EmotionModel, load_model
from tests.unit.sentiment.tiny_model import LABELS, write_clearline_json, write_tiny_model

TEXTS = [
    "my card is not working again!",
    "thanks, great help",
    "where is my refund? i am so angry",
    "ok",
    "this service is terrible and i hate it, never again",
]


def test_scores_have_all_labels_and_probabilities(plain_model: EmotionModel) -> None:
    results = plain_model.score(TEXTS)
    assert [r.text for r in results] == TEXTS
    for result in results:
        assert list(result.emotions) == LABELS
        assert all(0.0 <= p <= 1.0 for p in result.emotions.values())
        assert result.labels == [n for n, p in result.emotions.items() if p >= 0.5]
        assert result.model.startswith(plain_model.path.name + "@")


def test_batching_and_length_sorting_keep_input_order(plain_model: EmotionModel) -> None:
    one_by_one = [plain_model.score([t])[0] for t in TEXTS]
    batched = plain_model.score(TEXTS, batch_size=2)
    for a, b in zip(one_by_one, batched, strict=True):
        assert a.text == b.text
        assert a.stress == pytest.approx(b.stress, abs=1e-5)
        assert np.allclose(list(a.emotions.values()), list(b.emotions.values()), atol=1e-5)


def test_checkpoint_without_clearline_json_uses_negative_labels_uncalibrated(
    plain_model: EmotionModel,
) -> None:
    assert set(plain_model.stress.labels) == set(STRESS_LABELS)
    encoded, logits = plain_model.logits(TEXTS)
    expected = torch.sigmoid(logits[:, plain_model.stress_index]).max(dim=1).values
    got = [r.stress for r in plain_model.score(TEXTS)]
    assert got == pytest.approx(expected.tolist(), abs=1e-5)
    assert plain_model.threshold_vector.tolist() == [0.5] * 28
    assert plain_model.max_length == 64  # the tiny model's position limit


def test_clearline_json_sets_stress_thresholds_version_and_flag(configured_model: EmotionModel) -> None:
    assert configured_model.version == "tiny@test"
    assert configured_model.stress.labels == ("anger", "annoyance", "sadness")
    for result in configured_model.score(TEXTS):
        assert result.flag == (result.stress >= 0.5)
        raw = max(result.emotions[n] for n in ("anger", "annoyance", "sadness"))
        assert result.stress == pytest.approx(raw, abs=1e-4)  # scale 1, bias 0: calibration is identity


def test_stress_threshold_from_the_environment_overrides(
    configured_model: EmotionModel, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARLINE_STRESS_THRESHOLD", "0.0")
    assert all(r.flag for r in configured_model.score(TEXTS))
    monkeypatch.setenv("CLEARLINE_STRESS_THRESHOLD", "1.01")
    assert not any(r.flag for r in configured_model.score(TEXTS))


def test_models_are_cached_per_path(configured_dir: Path) -> None:
    assert load_model(configured_dir) is load_model(str(configured_dir) + "/")


def test_default_path_comes_from_the_environment(
    configured_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARLINE_MODEL_DIR", str(configured_dir))
    assert load_model().version == "tiny@test"


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ModelNotLoaded, match="no config.json"):
        EmotionModel(tmp_path / "nowhere")


def test_broken_clearline_json_is_a_clear_error(tmp_path: Path) -> None:
    path = write_tiny_model(tmp_path / "m")
    (path / "clearline.json").write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelNotLoaded, match="not valid JSON"):
        EmotionModel(path)
    write_clearline_json(path, stress={"labels": ["stressed"]})
    with pytest.raises(ModelNotLoaded, match="stress labels"):
        EmotionModel(path)


def test_concurrent_scoring_gives_the_sequential_answers(plain_model: EmotionModel) -> None:
    expected = [r.stress for r in plain_model.score(TEXTS)]
    results: list[list[float]] = []
    errors: list[BaseException] = []

    def work(explain: bool) -> None:
        try:
            for _ in range(3):
                if explain:
                    plain_model.explain(TEXTS[0], n_steps=4)
                else:
                    results.append([r.stress for r in plain_model.score(TEXTS)])
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i % 2 == 0,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert all(r == pytest.approx(expected, abs=1e-5) for r in results)


def test_clearline_json_must_be_an_object(tmp_path: Path) -> None:
    path = write_tiny_model(tmp_path / "m")
    (path / "clearline.json").write_text(json.dumps([1, 2]), encoding="utf-8")
    with pytest.raises(ModelNotLoaded, match="JSON object"):
        EmotionModel(path)
