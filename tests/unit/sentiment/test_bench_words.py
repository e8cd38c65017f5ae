"""``clearline bench explanations`` (sentiment/bench_words.py) on the tiny random model."""

from __future__ import annotations

from sentiment.bench_words import noisy, run, top_word_noise
from sentiment.explain import explain
from sentiment.model import EmotionModel
from sentiment.noise import neutralise


def test_the_bench_reports_clean_and_noisy_figures(plain_model: EmotionModel) -> None:
    figures = run(plain_model, lambda text: explain(plain_model, text), n=5)
    assert figures["n"] == 5
    for part in ("clean", "noisy"):
        assert {"comprehensiveness", "sufficiency", "random_comprehensiveness"} <= figures[part].keys()
        for key in ("top_words_function_share", "top_words_punctuation_share"):
            assert 0.0 <= figures[part][key] <= 1.0
    assert figures["noisy"]["stress_moved_max"] >= figures["noisy"]["stress_moved_mean"] >= 0.0


def test_each_kind_of_noise_is_neutralised_back_to_the_words() -> None:
    text = "where is my card?"
    for index in range(4):
        assert noisy(text, index) != text
        assert "where is my card" in neutralise(noisy(text, index)).text.lower()


def test_top_word_noise_counts_function_words_and_bare_punctuation(plain_model: EmotionModel) -> None:
    explanation = explain(plain_model, "This is ridiculous , me !!")
    shares = top_word_noise([explanation])
    assert shares["top_words"] == len(explanation.top_words)
