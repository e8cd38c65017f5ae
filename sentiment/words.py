"""The words of an explanation: what a word is, and which words may head its ranking.

A word is a run of letters and digits (with inner apostrophes or hyphens: "can't", "e-mail") together with
the punctuation typed against it ("ridiculous!!!", "(again)"), so "!" or "," never stands apart from the
word it belongs to; only punctuation or emoji standing alone between spaces is a word of its own. The
ranking that names an explanation's top words (and that its faithfulness check removes) puts content words
first: function words ("this", "me", "I", "is") and bare punctuation follow them, so the agent reads the
reason, not the grammar, and they are named only when a text has too few other words.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from functools import lru_cache

WORD = re.compile(r"[^\w\s]*\w+(?:['’\-]\w+)*[^\w\s]*|[^\w\s]+")
# Words of scikit-learn's English stop list that say how a customer feels or what went wrong in a support
# message (negation, repetition, insistence), so they stay content words here.
_MEANINGFUL_TEXT = """
    no not nor never nothing nobody none noone cannot cant couldnt hasnt against again still enough too
    very serious sincere cry empty fire bill amount interest system please why ever always nowhere without
    only back full find found call move keep describe detail name done last whole top bottom"""
_MEANINGFUL = frozenset(_MEANINGFUL_TEXT.split())
# Contractions that are function words too (negated ones, "don't", "can't", are content words).
_FUNCTION_CONTRACTIONS_TEXT = """
    i'm i've i'd i'll im ive it's you're you've you'll we're we've they're they've that's there's
    he's she's let's what's"""
_FUNCTION_CONTRACTIONS = frozenset(_FUNCTION_CONTRACTIONS_TEXT.split())


@lru_cache(maxsize=1)
def function_words() -> frozenset[str]:
    """scikit-learn's English stop words (a well-kept list) less the meaningful ones, plus contractions."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    return frozenset(ENGLISH_STOP_WORDS - _MEANINGFUL) | _FUNCTION_CONTRACTIONS


def is_content(word: str) -> bool:
    """Whether ``word`` (as :data:`WORD` cuts it) says something: neither bare punctuation nor a
    function word."""
    bare = _strip_punctuation(word).lower().replace("’", "'")
    return bool(bare) and bare not in function_words()


def _strip_punctuation(word: str) -> str:
    """``word`` without the punctuation at its ends (Unicode category P*: an emoji is kept)."""
    start, end = 0, len(word)
    while start < end and unicodedata.category(word[start]).startswith("P"):
        start += 1
    while end > start and unicodedata.category(word[end - 1]).startswith("P"):
        end -= 1
    return word[start:end]


def ranked_for_top(words: Sequence[str], attributions: Sequence[float]) -> list[int]:
    """Indices of ``words``: content words by attribution (highest first), then the others the same way."""
    return sorted(range(len(words)), key=lambda i: (not is_content(words[i]), -attributions[i]))
