"""The worker's model probe: scores a fixed text, is False when the model fails, asks again later."""

from __future__ import annotations

import math

from sentiment.types import UtteranceScore
from tests.unit.triage.fakes import FakeScorer
from triage.worker.observability import ModelProbe, with_model_probe


class Switchable(FakeScorer):
    """Scores like the fake until ``broken`` is set, then raises or answers NaN."""

    def __init__(self) -> None:
        super().__init__()
        self.broken: str | None = None

    def score(self, texts: list[str]) -> list[UtteranceScore]:
        if self.broken == "raise":
            raise RuntimeError("model file truncated")
        scores = super().score(texts)
        if self.broken == "nan":
            return [UtteranceScore(s.text, s.emotions, s.labels, math.nan, False, s.model) for s in scores]
        return scores


def test_a_model_that_did_not_load_is_never_ready() -> None:
    assert ModelProbe(None)() is False


def test_the_probe_scores_one_text_and_keeps_its_answer_for_the_ttl() -> None:
    scorer, now = Switchable(), [100.0]
    probe = ModelProbe(scorer.score, ttl_s=5.0, clock=lambda: now[0])
    assert probe() is True and len(scorer.score_calls) == 1 and len(scorer.score_calls[0]) == 1
    scorer.broken = "raise"
    now[0] += 4.9
    assert probe() is True and len(scorer.score_calls) == 1  # within the ttl: no second model call
    now[0] += 0.1
    assert probe() is False
    scorer.broken = "nan"
    now[0] += 5
    assert probe() is False
    scorer.broken = None
    now[0] += 5
    assert probe() is True


def test_the_probe_answers_the_model_check_of_the_workers_readiness() -> None:
    def ready() -> tuple[bool, dict[str, bool]]:
        return True, {"database": True, "model": True}

    assert with_model_probe(ready, lambda: False)() == (False, {"database": True, "model": False})
    assert with_model_probe(ready, lambda: True)() == (True, {"database": True, "model": True})
