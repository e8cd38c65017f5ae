"""The rules of feedback worth learning from, without a database: words checked against the stored text
(offsets in code points), and when a conversation may be marked as a missed flag."""

from __future__ import annotations

from typing import Any

import pytest

from triage.domain.feedback import (
    MAX_WORDS,
    FlagView,
    MessageText,
    WordSpan,
    check_message,
    check_missed_flag,
    check_word,
    check_words,
)
from triage.errors import InvalidTransition, ValidationError

ANGRY = "I am furious 😡 nobody answers"  # the emoji is one code point, two UTF-16 units
MAIL = "write to <EMAIL> now"
MESSAGES = {
    1: MessageText(1, "c1", "customer", "my card was stolen"),
    2: MessageText(2, "c1", "bot", "Sorry to hear that."),
    3: MessageText(3, "c1", "customer", ANGRY),
    4: MessageText(4, "c2", "customer", "another conversation"),
    5: MessageText(5, "c1", "customer", MAIL, redactions=((9, 16),)),
}


def word(message_id: int, start: int, end: int, text: str) -> dict[str, Any]:
    return {"message_id": message_id, "start": start, "end": end, "word": text}


def test_a_word_inside_the_text_is_kept_as_sent() -> None:
    assert check_word(word(1, 12, 18, "stolen"), MESSAGES, "c1") == WordSpan(1, 12, 18, "stolen")
    assert check_word(word(1, 0, 2, "my"), MESSAGES, "c1").as_dict() == word(1, 0, 2, "my")


def test_offsets_count_code_points_so_a_word_after_an_emoji_is_where_python_says() -> None:
    start = ANGRY.index("nobody")
    assert (start, len(ANGRY[:start].encode("utf-16-le")) // 2) == (15, 16)  # they differ after the emoji
    assert check_word(word(3, 15, 21, "nobody"), MESSAGES, "c1").start == 15
    assert check_word(word(3, 13, 14, "😡"), MESSAGES, "c1").word == "😡"
    # the same word by JavaScript's UTF-16 offsets lands one character off: refused, saying why
    with pytest.raises(ValidationError, match="code points") as error:
        check_word(word(3, 16, 22, "nobody"), MESSAGES, "c1")
    assert "'obody '" in str(error.value)


@pytest.mark.parametrize(
    ("item", "says"),
    [
        (word(1, 12, 40, "stolen"), "outside its text (18 characters"),
        (word(1, 18, 19, "x"), "outside its text"),
        (word(1, 12, 18, "Stolen"), "is not the text at [12, 18) of message 1, which reads 'stolen'"),
        (word(1, 11, 18, "stolen"), "which reads ' stolen'"),
        (word(1, 5, 5, ""), "is empty"),
        (word(1, 6, 5, "x"), "is empty"),
        (word(1, -1, 2, "my"), "offsets start at 0"),
        (word(1, 2, 3, " "), "only white space"),
        (word(5, 9, 16, "<EMAIL>"), "redacted placeholder"),
        (word(5, 12, 14, "AI"), "redacted placeholder"),
        ({"message_id": 1, "start": 0, "end": 2}, "needs message_id, start and end"),
        ({"message_id": 1, "start": "0", "end": 2, "word": "my"}, "integers"),
        ({"message_id": 1, "start": True, "end": 2, "word": "my"}, "integers"),
    ],
)
def test_a_bad_word_is_refused_with_what_is_wrong(item: dict[str, Any], says: str) -> None:
    with pytest.raises(ValidationError) as error:
        check_word(item, MESSAGES, "c1")
    assert says in str(error.value)


def test_the_words_around_a_redaction_are_the_customers() -> None:
    assert check_word(word(5, 0, 5, "write"), MESSAGES, "c1").word == "write"
    assert check_word(word(5, 17, 20, "now"), MESSAGES, "c1").word == "now"


@pytest.mark.parametrize(
    ("message_id", "says"),
    [
        (4, "message 4 is not a message of conversation 'c1'"),  # another conversation's
        (99, "message 99 is not a message of conversation 'c1'"),  # unknown reads the same
        (2, "message 2 is the bot's: only the customer's messages are scored"),
    ],
)
def test_only_the_customers_messages_of_this_conversation(message_id: int, says: str) -> None:
    with pytest.raises(ValidationError) as error:
        check_message(message_id, MESSAGES, "c1")
    assert str(error.value) == says
    with pytest.raises(ValidationError) as error:
        check_word(word(message_id, 0, 2, "xx"), MESSAGES, "c1")
    assert str(error.value) == says


def test_a_list_keeps_its_order_and_each_span_once() -> None:
    words = [word(3, 15, 21, "nobody"), word(1, 12, 18, "stolen"), word(3, 15, 21, "nobody")]
    assert [w.word for w in check_words(words, MESSAGES, "c1")] == ["nobody", "stolen"]
    assert check_words([], MESSAGES, "c1") == []


def test_a_list_is_refused_whole_for_one_bad_word_or_too_many() -> None:
    with pytest.raises(ValidationError, match="is not the text"):
        check_words([word(1, 12, 18, "stolen"), word(1, 0, 2, "no")], MESSAGES, "c1")
    with pytest.raises(ValidationError, match="an object"):
        check_words(["stolen"], MESSAGES, "c1")  # type: ignore[list-item]
    with pytest.raises(ValidationError, match=f"at most {MAX_WORDS}"):
        check_words([word(1, 0, 2, "my")] * (MAX_WORDS + 1), MESSAGES, "c1")


def test_a_missed_flag_is_refused_while_the_policys_flag_stands() -> None:
    check_missed_flag([])  # never escalated
    check_missed_flag([FlagView(1, "bot_request", False)])  # the customer asked: the policy missed it
    check_missed_flag([FlagView(1, "policy", True)])  # withdrawn by a supervisor
    with pytest.raises(InvalidTransition) as error:
        check_missed_flag([FlagView(1, "policy", True), FlagView(4, "policy", False)])
    assert str(error.value) == "already flagged: give a verdict on the escalation instead (escalation 4)"
