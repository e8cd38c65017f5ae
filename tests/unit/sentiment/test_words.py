"""What a word of an explanation is, and which words may head the ranking (sentiment/words.py)."""

from __future__ import annotations

from sentiment.words import WORD, is_content, ranked_for_top


def test_punctuation_joins_the_word_it_is_typed_against() -> None:
    text = "This, me... (again) I'm SO angry!!! 😡 e-mail can't ?!"
    assert WORD.findall(text) == [
        "This,",
        "me...",
        "(again)",
        "I'm",
        "SO",
        "angry!!!",
        "😡",
        "e-mail",
        "can't",
        "?!",
    ]


def test_function_words_and_bare_punctuation_are_not_content() -> None:
    for word in ("This", "me", "I", ",", "I'm", "is", "the", "?!", "it’s"):
        assert not is_content(word), word
    for word in ("furious,", "not", "never", "again", "don't", "😡", "refund", "<EMAIL>", "why"):
        assert is_content(word), word


def test_content_words_lead_the_ranking_whatever_the_attributions() -> None:
    words = ["This", "is", "ridiculous.", "me", "refund"]
    attributions = [0.5, 0.4, 0.3, 0.2, -0.1]
    assert ranked_for_top(words, attributions) == [2, 4, 0, 1, 3]
    assert ranked_for_top(["I", "me"], [0.1, 0.2]) == [1, 0]  # only function words: by attribution
