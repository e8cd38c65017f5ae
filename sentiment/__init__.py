"""Emotion and stress scoring with word-level explanations.

Importing the package is cheap (``sentiment.types`` is used by code that never loads torch); the model
is loaded on first use, once per model directory.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sentiment.errors import InvalidText, ModelNotLoaded, SentimentError
from sentiment.types import Explanation, Faithfulness, UtteranceScore, WordAttribution

if TYPE_CHECKING:
    from sentiment.model import EmotionModel

__all__ = [
    "EmotionModel",
    "Explanation",
    "Faithfulness",
    "InvalidText",
    "ModelNotLoaded",
    "SentimentError",
    "UtteranceScore",
    "WordAttribution",
    "explain",
    "load_model",
    "score",
]


def load_model(path: Path | str | None = None) -> EmotionModel:
    """The model at ``path`` (default ``CLEARLINE_MODEL_DIR``), cached per path."""
    from sentiment.model import load_model as _load

    return _load(path)


def score(texts: Sequence[object], model_dir: Path | str | None = None) -> list[UtteranceScore]:
    """Score texts with the configured model; see :meth:`EmotionModel.score`."""
    return load_model(model_dir).score(texts)


def explain(
    text: object, target: str = "stress", model_dir: Path | str | None = None, **options: Any
) -> Explanation:
    """Explain one text's ``target`` score; see :func:`sentiment.explain.explain`."""
    return load_model(model_dir).explain(text, target, **options)


def __getattr__(name: str) -> Any:
    if name == "EmotionModel":
        from sentiment.model import EmotionModel

        return EmotionModel
    raise AttributeError(name)
