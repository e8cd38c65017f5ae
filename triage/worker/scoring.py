"""Scoring a batch's customer utterances with the emotion model, in one call across conversations."""

from __future__ import annotations

import time
from typing import Protocol

import structlog

from sentiment.types import Explanation, UtteranceScore

log = structlog.get_logger("triage.worker.scoring")


class Scorer(Protocol):
    """What the worker needs of the emotion model."""

    def score(self, texts: list[str]) -> list[UtteranceScore]: ...

    def explain(self, text: str, target: str) -> Explanation: ...


class PipelineMetrics(Protocol):
    def observe_scoring(self, seconds: float, count: int) -> None: ...

    def observe_explanation(self, seconds: float) -> None: ...

    def escalated(self, queue: str) -> None: ...


def score_batch(
    scorer: Scorer, texts: list[str], metrics: PipelineMetrics | None = None
) -> list[UtteranceScore | None]:
    """One scoring call for the whole batch, across conversations.

    A text the model refuses (``ValueError``, e.g. sentiment's ``InvalidText``) must not block the
    stream forever: the batch is then scored text by text and the refused ones stay unscored. Any
    other error (model broken) propagates, the batch rolls back and is retried.
    """
    if not texts:
        return []
    started = time.perf_counter()
    try:
        scores: list[UtteranceScore | None] = list(scorer.score(texts))
    except ValueError:
        scores = [_score_one(scorer, text) for text in texts]
    if len(scores) != len(texts):
        raise RuntimeError(f"scorer returned {len(scores)} scores for {len(texts)} texts")
    if metrics is not None:
        metrics.observe_scoring(time.perf_counter() - started, len(texts))
    return scores


def _score_one(scorer: Scorer, text: str) -> UtteranceScore | None:
    try:
        return scorer.score([text])[0]
    except ValueError as exc:
        log.warning("utterance_refused_by_model", error=str(exc))
        return None
