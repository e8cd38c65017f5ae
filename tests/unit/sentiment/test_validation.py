from __future__ import annotations

import pytest

from sentiment.errors import InvalidText
from sentiment.model import EmotionModel, validate_text


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "empty"),
        ("  \n\t ", "empty"),
        (None, "must be a string, got NoneType"),
        (42, "must be a string, got int"),
        (["a"], "must be a string, got list"),
        (b"\xff\xfe broken", "not valid UTF-8"),
        ("bad \udcff surrogate", "invalid Unicode"),
    ],
)
def test_bad_text_is_refused_with_a_clear_message(value: object, message: str) -> None:
    with pytest.raises(InvalidText, match=message):
        validate_text(value)


def test_utf8_bytes_are_decoded() -> None:
    assert validate_text("card déclinée".encode()) == "card déclinée"


def test_a_bad_item_names_its_position_and_nothing_is_scored(plain_model: EmotionModel) -> None:
    with pytest.raises(InvalidText, match=r"item 2"):
        plain_model.score(["fine", "ok", "   "])


def test_a_single_string_is_not_taken_for_a_sequence(plain_model: EmotionModel) -> None:
    with pytest.raises(InvalidText, match="sequence of strings"):
        plain_model.score("my card")  # type: ignore[arg-type]


def test_empty_batch_gives_no_scores(plain_model: EmotionModel) -> None:
    assert plain_model.score([]) == []


def test_emoji_only_text_gets_a_defined_score(plain_model: EmotionModel) -> None:
    [result] = plain_model.score(["😡😡😡"])
    assert 0.0 <= result.stress <= 1.0
    assert len(result.emotions) == 28
    explanation = plain_model.explain("😡😡😡")
    assert [w.word for w in explanation.words] == ["😡😡😡"]


def test_over_long_text_is_truncated_and_reported(configured_model: EmotionModel) -> None:
    long_text = " ".join(["my card is not working"] * 20)
    short, cut = configured_model.score(["my card", long_text])
    assert (short.truncated, cut.truncated) == (False, True)
    explanation = configured_model.explain(long_text)
    assert explanation.truncated
    assert explanation.words[-1].end < len(long_text)  # only the words the model saw are explained
