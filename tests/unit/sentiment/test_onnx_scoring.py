"""Scoring on ONNX Runtime gives torch's scores, and anything it cannot run exactly is scored with torch."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
import torch

from sentiment import onnx_scoring
from sentiment.errors import ModelNotLoaded
from sentiment.model import EmotionModel
from sentiment.settings import REPO_ROOT, SentimentSettings

TEXTS = [
    "WHY IS MY CARD BLOCKED AGAIN?!",
    "thanks, that helped",
    "<b>I was charged twice</b> and nobody answers https://example.com " + "really " * 40,
    "¿dónde está mi tarjeta?",
    "🙂",
]
SHIPPED = REPO_ROOT / "data" / "models" / "emotions"


def _same_scores(onnx: EmotionModel, reference: EmotionModel, texts: list[str]) -> None:
    got, expected = onnx.score(texts), reference.score(texts)
    for a, b in zip(got, expected, strict=True):
        assert a.labels == b.labels
        assert a.flag == b.flag
        assert a.stress == pytest.approx(b.stress, abs=1e-5)
        assert max(abs(a.emotions[k] - b.emotions[k]) for k in a.emotions) < 1e-5


def test_the_shipped_model_scores_on_onnx_runtime_as_on_torch() -> None:
    onnx, reference = EmotionModel(SHIPPED, runtime="onnx"), EmotionModel(SHIPPED, runtime="torch")
    assert (onnx.runtime, reference.runtime) == ("onnx", "torch")
    _same_scores(onnx, reference, TEXTS)
    # batches of several lengths, one text at a time, and a text past the model's 128 tokens
    _same_scores(onnx, reference, [TEXTS[0]])
    long_text = "my transfer failed and " * 80
    _same_scores(onnx, reference, [long_text, *TEXTS])
    assert onnx.score([long_text])[0].truncated


def test_a_tiny_checkpoint_scores_alike_and_explanations_still_run(configured_dir: Path) -> None:
    onnx, reference = (
        EmotionModel(configured_dir, runtime="onnx"),
        EmotionModel(configured_dir, runtime="torch"),
    )
    assert onnx.runtime == "onnx"
    _same_scores(onnx, reference, TEXTS)
    explained = onnx.explain("i am so angry , my card is not working")
    assert explained.top_words


def test_the_runtime_comes_from_the_environment(
    configured_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARLINE_SCORING_RUNTIME", "torch")
    assert EmotionModel(configured_dir).runtime == "torch"
    monkeypatch.setenv("CLEARLINE_SCORING_RUNTIME", "onnx")
    assert EmotionModel(configured_dir).runtime == "onnx"


def test_an_unknown_runtime_is_refused_where_the_model_loads(
    configured_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ModelNotLoaded, match="scoring runtime must be one of onnx, torch"):
        EmotionModel(configured_dir, runtime="tensorrt")
    monkeypatch.setenv("CLEARLINE_SCORING_RUNTIME", "tensorrt")
    assert SentimentSettings().model_dir  # the package's other settings still read
    with pytest.raises(ModelNotLoaded, match="CLEARLINE_SCORING_RUNTIME"):
        EmotionModel(configured_dir)
    monkeypatch.setenv("CLEARLINE_SCORING_RUNTIME", " ONNX ")
    assert EmotionModel(configured_dir).runtime == "onnx"


def test_a_session_that_fails_later_hands_scoring_to_torch(
    configured_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    model, reference = (
        EmotionModel(configured_dir, runtime="onnx"),
        EmotionModel(configured_dir, runtime="torch"),
    )
    assert model.onnx is not None

    def broken(*_args: object) -> torch.Tensor:
        raise RuntimeError("shape not supported by the graph")

    monkeypatch.setattr(model, "onnx", type("Broken", (), {"__call__": broken})())
    with caplog.at_level(logging.WARNING, logger="sentiment.model"):
        _same_scores(model, reference, TEXTS)
    assert model.runtime == "torch" and model.onnx is None
    assert caplog.text.count("ONNX Runtime failed on a batch") == 1


def test_explanations_never_use_the_onnx_session(
    configured_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = EmotionModel(configured_dir, runtime="onnx")
    calls: list[object] = []

    class Counting:
        def __call__(self, *args: object) -> None:
            calls.append(args)
            raise AssertionError("an explanation ran on ONNX Runtime")

    monkeypatch.setattr(model, "onnx", Counting())
    assert model.explain("i am so angry , my card is not working").top_words
    assert calls == []


def test_a_model_that_does_not_export_is_scored_with_torch(
    configured_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def refuse(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(torch.onnx, "export", refuse)
    with caplog.at_level(logging.WARNING, logger="sentiment.onnx_scoring"):
        model = EmotionModel(configured_dir, runtime="onnx")
    assert model.runtime == "torch" and model.onnx is None
    assert "unsupported operator" in caplog.text
    assert model.score(["my card is not working"])[0].model == model.version


def test_an_export_whose_logits_differ_is_not_used(
    configured_dir: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    exact = onnx_scoring.OnnxLogits.__call__

    def off_by_a_little(self: onnx_scoring.OnnxLogits, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return exact(self, ids, mask) + 1e-3

    monkeypatch.setattr(onnx_scoring.OnnxLogits, "__call__", off_by_a_little)
    with caplog.at_level(logging.WARNING, logger="sentiment.onnx_scoring"):
        model = EmotionModel(configured_dir, runtime="onnx")
    assert model.runtime == "torch"
    assert "differ from torch's" in caplog.text


def test_the_session_uses_as_many_threads_as_torch(configured_dir: Path) -> None:
    before = torch.get_num_threads()
    try:
        for threads in (1, 2):
            torch.set_num_threads(threads)
            model = EmotionModel(configured_dir, runtime="onnx")
            assert model.onnx is not None
            assert model.onnx.session.get_session_options().intra_op_num_threads == threads
    finally:
        torch.set_num_threads(before)
