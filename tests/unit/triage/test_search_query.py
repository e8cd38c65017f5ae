"""The search text is split into words once; each engine's query is built from those words only."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from triage.storage.search import MAX_TERMS, Search, SearchError


def test_words_and_quoted_phrases_lower_cased_and_deduplicated() -> None:
    search = Search.parse('Card  "was STOLEN" card, überweisung')
    assert search.terms == (("card",), ("was", "stolen"), ("überweisung",))
    assert search.fts5() == '"card"* AND "was stolen"* AND "überweisung"*'
    assert search.tsquery() == "('card':*) & ('was' <-> 'stolen':*) & ('überweisung':*)"


def test_operators_quotes_and_sql_are_only_words() -> None:
    search = Search.parse("""x' OR 1=1; -- NEAR(a b) card* -refund "unclosed""")
    # punctuation inside a token joins its words into a phrase ("1=1", "NEAR(a"), as in "co-operate"
    assert search.terms == (
        ("x",),
        ("or",),
        ("1", "1"),
        ("near", "a"),
        ("b",),
        ("card",),
        ("refund",),
        ("unclosed",),
    )
    assert search.fts5().count('"') == 2 * len(search.terms)  # each term one quoted string, no other quote


@pytest.mark.parametrize("query", ["", "   ", "!!! ?? --", '""', "_ _", "\x00\x01"])
def test_a_search_without_a_word_is_refused(query: str) -> None:
    with pytest.raises(SearchError, match="at least one word"):
        Search.parse(query)


def test_too_long_or_too_many_terms_is_refused() -> None:
    with pytest.raises(SearchError, match="at most 200 characters"):
        Search.parse("a" * 201)
    with pytest.raises(SearchError, match=f"at most {MAX_TERMS} words"):
        Search.parse(" ".join(f"w{i}" for i in range(MAX_TERMS + 1)))


@given(st.text(max_size=200))
def test_any_text_gives_a_query_of_words_or_a_clear_refusal(query: str) -> None:
    try:
        search = Search.parse(query)
    except SearchError:
        return
    for words in search.terms:
        for word in words:
            # nothing an engine reads as syntax: no quote, operator, star, bracket or space
            assert word and all(ch.isalnum() for ch in word), word
