"""Noise neutralised before the model reads a text (sentiment/noise.py), with offsets back to the original."""

from __future__ import annotations

import re

import pytest

from sentiment.noise import as_written, for_model, neutralise


def words_back(text: str) -> list[tuple[str, str]]:
    """Each word the model reads, and what it stands for in the original text."""
    read = neutralise(text)
    out = []
    for match in re.finditer(r"\S+", read.text):
        start, end = read.original_span(match.start(), match.end())
        out.append((match.group(), text[start:end]))
    return out


def test_markup_becomes_space_and_offsets_point_into_the_original() -> None:
    text = '<div class="msg"><p><b>I am furious</b></p></div><!-- sent from widget -->'
    read = neutralise(text)
    assert read.text.split() == ["I", "am", "furious"]
    assert words_back(text) == [("I", "I"), ("am", "am"), ("furious", "furious")]


def test_placeholders_and_other_angle_brackets_are_not_markup() -> None:
    text = "my <EMAIL> and <CARD_NUMBER>, a <3 and 2 < 3 > 1"
    assert neutralise(text).text == text
    assert not neutralise(text).changed


def test_urls_go_and_trailing_punctuation_stays() -> None:
    text = "see https://example.com/help?id=1&x=2. Or www.example.org/x, thanks"
    assert neutralise(text).text == "see  . Or  , thanks"


def test_character_references_are_read_as_the_character() -> None:
    assert neutralise("Tom &amp; Jerry &#39;hi&#39;").text == "Tom & Jerry 'hi'"
    assert words_back("it&#39;s late") == [("it's", "it&#39;s"), ("late", "late")]


def test_long_repeats_are_cut_and_the_word_stands_for_all_of_it() -> None:
    text = "nooooooooo my card!!!!!!!!!!!!"
    assert neutralise(text).text == "noo my card!!!"
    assert words_back(text) == [("noo", "nooooooooo"), ("my", "my"), ("card!!!", "card!!!!!!!!!!!!")]


def test_a_word_or_phrase_typed_many_times_is_kept_three_times() -> None:
    text = "please " * 30 + "help"
    assert neutralise(text).text == "please please please help"
    assert neutralise("help me help me help me help me now").text == "help me help me help me now"
    assert neutralise("Why why WHY why?").text == "Why why WHY?"


def test_ordinary_text_digits_and_double_letters_are_left_alone() -> None:
    for text in ("cool, too good", "I paid 1000000 on 2024-01-01", "ref TRF-100245", "ok ok ok"):
        assert neutralise(text).text == text


def test_a_text_that_is_only_noise_is_read_as_written() -> None:
    assert for_model("<br><br>").text == "<br><br>"
    assert for_model("https://example.com").text == "https://example.com"
    assert for_model("<p>hi</p>").text == " hi "


@pytest.mark.parametrize("text", ["", "x", "<b>", "ab&amp;", "!!!!", "<p>" * 50 + "yes"])
def test_every_span_maps_inside_the_original(text: str) -> None:
    read = for_model(text) if text else as_written(text)
    for start in range(len(read.text)):
        for end in range(start + 1, len(read.text) + 1):
            first, last = read.original_span(start, end)
            assert 0 <= first < last <= len(text)
