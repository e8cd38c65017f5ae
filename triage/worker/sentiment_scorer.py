"""The worker's adapter to the emotion model (``sentiment``): scores and explanations as the worker's
``Scorer`` and ``Explainer`` protocols want them."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from sentiment.types import Explanation, UtteranceScore


class SentimentScorer:
    """The real emotion model (``sentiment``), loaded once; imported lazily because it pulls in torch."""

    def __init__(
        self,
        model_path: str | None = None,
        threads: int | None = None,
        own_instance: bool = False,
        runtime: str | None = None,
    ) -> None:
        """``own_instance``: a model object of its own (for the explainer thread) instead of the shared,
        cached one, so that explaining never waits for scoring's model lock and vice versa. ``runtime``:
        what its scores run on (default ``CLEARLINE_SCORING_RUNTIME``); an explainer needs only torch, so
        it is built with "torch" and holds no ONNX Runtime copy of the weights."""
        if threads:
            importlib.import_module("torch").set_num_threads(threads)
        if own_instance:
            path = model_path or importlib.import_module("sentiment.settings").SentimentSettings().model_dir
            model_class = importlib.import_module("sentiment.model").EmotionModel
            self._model: Any = model_class(Path(path), runtime=runtime)
            return
        sentiment = importlib.import_module("sentiment")
        loader = (
            getattr(sentiment, "load_model", None) or importlib.import_module("sentiment.model").load_model
        )
        self._model = loader(model_path)

    @property
    def version(self) -> str:
        """The version the model stamps on its scores."""
        return str(self._model.version)

    def score(self, texts: list[str]) -> list[UtteranceScore]:
        return list(self._model.score(texts))

    def explain(self, text: str, target: str) -> Explanation:
        explanation: Explanation = self._model.explain(text, target=target)
        return explanation
