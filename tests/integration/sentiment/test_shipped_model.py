"""Slow tests on the committed model (data/models/emotions)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sentiment.model import EmotionModel, load_model

MODEL_DIR = Path(__file__).resolve().parents[3] / "data" / "models" / "emotions"
pytestmark = pytest.mark.slow

FURIOUS = "This is absolutely ridiculous! You blocked my card AGAIN and nobody answers, I am furious."
THANKS = "Thank you so much, that fixed it. Great help!"


@pytest.fixture(scope="module")
def model() -> EmotionModel:
    return load_model(MODEL_DIR)


def test_shipped_model_is_small_fp16_and_versioned(model: EmotionModel) -> None:
    size = sum(f.stat().st_size for f in MODEL_DIR.iterdir() if f.is_file())
    assert size < 50 * 1024 * 1024
    config = json.loads((MODEL_DIR / "config.json").read_text())
    assert config.get("dtype", config.get("torch_dtype")) == "float16"
    assert model.version.startswith("clearline-emotions-minilm@")
    assert len(model.labels) == 28


def test_a_furious_complaint_scores_far_above_a_thank_you(model: EmotionModel) -> None:
    furious, thanks = model.score([FURIOUS, THANKS])
    assert furious.stress > 0.5
    assert thanks.stress < 0.05
    assert furious.stress - thanks.stress > 0.5
    assert furious.flag and not thanks.flag
    assert {"anger", "annoyance"} & set(furious.labels)
    assert "gratitude" in thanks.labels


def test_explanation_aligns_with_the_text_and_converges(model: EmotionModel) -> None:
    explanation = model.explain(FURIOUS)
    for word in explanation.words:
        assert FURIOUS[word.start : word.end] == word.word
    assert abs(explanation.delta) <= 0.05
    assert explanation.faithfulness.comprehensiveness > 0.3  # the top words carry the anger
    assert explanation.faithfulness.comprehensiveness > explanation.faithfulness.random_comprehensiveness
    assert {"ridiculous", "furious", "AGAIN", "blocked", "nobody"} & set(explanation.top_words)


def test_committed_figures_match_a_fresh_dev_evaluation(model: EmotionModel) -> None:
    from sentiment.evaluate import evaluate_file
    from sentiment.goemotions import goemotions_dir

    dev = goemotions_dir() / "dev.tsv"
    if not dev.exists():
        pytest.fail(f"GoEmotions dev split not found at {dev} (set CLEARLINE_DATASETS_DIR)")
    committed = json.loads((MODEL_DIR / "clearline.json").read_text())["dev_metrics"]
    fresh = evaluate_file(model, dev)
    for key in ("macro_f1", "ekman_macro_f1", "sentiment_macro_f1", "stress_f1", "ece"):
        assert fresh[key] == pytest.approx(committed[key], abs=2e-3)
    assert fresh["macro_f1"] >= 0.46  # the quality target
