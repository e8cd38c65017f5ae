"""Test doubles for the emotion model: deterministic stress from a few trigger words."""

from __future__ import annotations

import re

from sentiment.types import Explanation, Faithfulness, UtteranceScore, WordAttribution

STRESS_WORDS = {"furious": 0.97, "unacceptable": 0.93, "angry": 0.91, "worried": 0.75, "annoyed": 0.6}
MODEL = "fake-emotions@test"


def stress_of(text: str) -> float:
    words = re.findall(r"[a-z]+", text.lower())
    return max([STRESS_WORDS.get(w, 0.05) for w in words] or [0.05])


class FakeScorer:
    """Records its calls so tests can check batching; ``fail_explain`` makes explanations raise."""

    def __init__(self, fail_explain: bool = False) -> None:
        self.score_calls: list[list[str]] = []
        self.explain_calls: list[str] = []
        self.fail_explain = fail_explain

    def score(self, texts: list[str]) -> list[UtteranceScore]:
        self.score_calls.append(list(texts))
        out = []
        for text in texts:
            stress = stress_of(text)
            label = "anger" if stress > 0.5 else "neutral"
            out.append(UtteranceScore(text, {label: stress}, [label], stress, stress >= 0.5, MODEL))
        return out

    def explain(self, text: str, target: str) -> Explanation:
        self.explain_calls.append(text)
        if self.fail_explain:
            raise RuntimeError("explainer exploded")
        words = [
            WordAttribution(m.group(), m.start(), m.end(), STRESS_WORDS.get(m.group().lower(), 0.0))
            for m in re.finditer(r"\S+", text)
        ]
        top = [w.word for w in sorted(words, key=lambda w: -w.attribution)[:1]]
        faith = Faithfulness(1, stress_of(text), 0.5, 0.1, 0.05, 0.2)
        return Explanation(text, target, words, 0.01, faith, MODEL, 20, False, top)


class ScriptedLock:
    """Answers ``try_acquire`` and ``still_held`` from lists (an exception in a list is raised)."""

    def __init__(self, acquire: list[bool | Exception], held: list[bool | Exception] | None = None) -> None:
        self.acquire = list(acquire)
        self.held = list(held or [])
        self.releases = 0

    @staticmethod
    def _next(answers: list[bool | Exception]) -> bool:
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def try_acquire(self) -> bool:
        return self._next(self.acquire)

    def still_held(self) -> bool:
        return self._next(self.held)

    def release(self) -> None:
        self.releases += 1
