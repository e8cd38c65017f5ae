"""``clearline bench explanations``: what the explanations rank on top, and whether noise moves the score.

On the sentiment bench's explained texts (the same 60 short support utterances as ``bench sentiment``):
comprehensiveness, sufficiency and random comprehensiveness (the faithfulness check every explanation
carries), the share of top words that are function words or bare punctuation, and latency. On noisy
copies of the same texts (markup around them, a URL, long repeats, a word typed 30 times): how far the
stress moves from the clean text's, and the same faithfulness figures. Only ``sentiment.explain.explain``
and the model's ``score`` are called, so the same file measures any version of them.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from sentiment.bench_data import support_utterances

if TYPE_CHECKING:
    from sentiment.model import EmotionModel
    from sentiment.types import Explanation

EXPLAIN_MAX_TOKENS = 32  # as ``bench sentiment``
_PUNCTUATION_ONLY = re.compile(r"[^\w\s]+")


def bench_texts(model: EmotionModel, n: int = 60) -> list[str]:
    """The texts ``bench sentiment`` explains: distinct support utterances of at most 32 tokens."""
    texts = support_utterances(1000)
    short = [t for t in dict.fromkeys(texts) if len(model.tokenizer(t)["input_ids"]) <= EXPLAIN_MAX_TOKENS]
    return short[:n]


def noisy(text: str, index: int) -> str:
    """One of four kinds of noise a chat widget or an upset customer adds, chosen by ``index``."""
    kind = index % 4
    if kind == 0:
        return f'<div class="msg"><p><b>{text}</b></p></div>'
    if kind == 1:
        return f"{text} see https://example.com/help/account?id=123456&ref=abc www.example.org/x"
    if kind == 2:
        return f"nooooooooooo {text.rstrip('.!?')}!!!!!!!!!!!!"
    return f"{text} {' '.join(['please'] * 30)}"


def _function_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS)


def _faithfulness(results: Sequence[Explanation]) -> dict[str, float]:
    def mean(values: list[float]) -> float:
        return round(float(np.mean(values)), 4)

    return {
        "comprehensiveness": mean([r.faithfulness.comprehensiveness for r in results]),
        "sufficiency": mean([r.faithfulness.sufficiency for r in results]),
        "random_comprehensiveness": mean([r.faithfulness.random_comprehensiveness for r in results]),
    }


def top_word_noise(results: Sequence[Explanation]) -> dict[str, float]:
    """Shares of the top words (all explanations together) that are stop words (scikit-learn's English
    list, as a fixed yardstick) or punctuation alone, and of explanations whose first word is either."""
    stop = _function_words()
    words = [w for r in results for w in r.top_words]

    def is_noise(word: str) -> tuple[bool, bool]:
        bare = word.strip().lower().strip("!?.,;:'\"()")
        return bare in stop, bool(_PUNCTUATION_ONLY.fullmatch(word.strip()))

    flags = [is_noise(w) for w in words]
    first = [is_noise(r.top_words[0]) for r in results if r.top_words]
    return {
        "top_words": len(words),
        "top_words_function_share": round(sum(f for f, _ in flags) / max(1, len(words)), 4),
        "top_words_punctuation_share": round(sum(p for _, p in flags) / max(1, len(words)), 4),
        "first_word_function_or_punctuation_share": round(
            sum(f or p for f, p in first) / max(1, len(first)), 4
        ),
    }


def run(model: EmotionModel, explain: Callable[[str], Explanation], n: int = 60) -> dict[str, Any]:
    """Figures on the clean bench texts and on their noisy copies (see the module docstring)."""
    texts = bench_texts(model, n)
    explain(texts[0])  # warm-up
    timings, clean = [], []
    for text in texts:
        started = time.perf_counter()
        clean.append(explain(text))
        timings.append((time.perf_counter() - started) * 1000)
    dirty_texts = [noisy(t, i) for i, t in enumerate(texts)]
    dirty = [explain(t) for t in dirty_texts]
    clean_scores, dirty_scores = model.score(texts), model.score(dirty_texts)
    clean_stress = np.array([s.stress for s in clean_scores])
    dirty_stress = np.array([s.stress for s in dirty_scores])
    moved = np.abs(dirty_stress - clean_stress)
    flags_changed = sum(a.flag != b.flag for a, b in zip(clean_scores, dirty_scores, strict=True))
    return {
        "model": model.version,
        "n": len(texts),
        "clean": {
            **_faithfulness(clean),
            **top_word_noise(clean),
            "p50_ms": round(float(np.percentile(timings, 50)), 1),
            "p95_ms": round(float(np.percentile(timings, 95)), 1),
        },
        "noisy": {
            **_faithfulness(dirty),
            **top_word_noise(dirty),
            "stress_moved_mean": round(float(moved.mean()), 4),
            "stress_moved_max": round(float(moved.max()), 4),
            "flag_changed": flags_changed,
        },
    }
