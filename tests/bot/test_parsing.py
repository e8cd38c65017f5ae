import pytest
from actions.parsing import extract_email, extract_last_four, extract_reference, looks_like_full_card_number


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my email is Anna.Smith@Example.com", "anna.smith@example.com"),
        ("anna at example dot com", None),
        ("", None),
    ],
)
def test_extract_email(text: str, expected: str | None) -> None:
    assert extract_email(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("it ends in 1881", "1881"),
        ("0005", "0005"),
        ("12345", None),
        ("4242 or 1881", None),
        ("four two", None),
    ],
)
def test_extract_last_four_needs_exactly_one_group_of_four(text: str, expected: str | None) -> None:
    assert extract_last_four(text) == expected


def test_full_card_numbers_are_recognised() -> None:
    assert looks_like_full_card_number("4111 1111 1111 1111")
    assert looks_like_full_card_number("4111-1111-1111-1111")
    assert not looks_like_full_card_number("it ends in 4242")


@pytest.mark.parametrize(
    ("text", "prefix", "expected"),
    [
        ("the reference is trf-100245", "TRF", "TRF-100245"),
        ("TRF100245", "TRF", "TRF-100245"),
        ("RFD 200311 please", "RFD", "RFD-200311"),
        ("TRF-1234", "TRF", None),
        ("RFD-200311", "TRF", None),
    ],
)
def test_extract_reference(text: str, prefix: str, expected: str | None) -> None:
    assert extract_reference(text, prefix) == expected
