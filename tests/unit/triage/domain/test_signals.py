"""The intensity detectors and the request for a person: what each finds, where, and what it leaves alone.
Pure functions: no database, no model."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from triage.domain import signals
from triage.domain.signals import Finding, Span, WordList

PROFANE = WordList.of(["fuck*", "f**k*", "shit*", "bullshit", "crap", "bloody", "arse", "wtf"])


def words(finding: Finding | None) -> list[str]:
    return [span.word for span in finding.spans] if finding else []


def check_spans(text: str, finding: Finding | None) -> None:
    for span in finding.spans if finding else ():
        assert text[span.start : span.end] == span.word


# -- capitals ------------------------------------------------------------------------------------------
def test_capitals_are_shouting_with_each_word_and_its_offsets():
    text = "WHERE IS MY CARD"
    found = signals.shouting(text)
    assert found == Finding(
        "shouting",
        (Span("WHERE", 0, 5), Span("IS", 6, 8), Span("MY", 9, 11), Span("CARD", 12, 16)),
    )
    assert found.count == 4


@pytest.mark.parametrize(
    ("text", "shouted"),
    [
        ("I was charged twice, I want my money back NOW", ["NOW"]),  # one word: the policy's min_count
        ("WHY DON'T YOU ANSWER", ["WHY", "DON'T", "YOU", "ANSWER"]),
        ("my CARD is BLOCKED again", ["CARD", "BLOCKED"]),
        ("ÜBERWEISUNG FEHLT", ["ÜBERWEISUNG", "FEHLT"]),
    ],
)
def test_shouted_words(text, shouted):
    found = signals.shouting(text)
    assert words(found) == shouted
    check_spans(text, found)


@pytest.mark.parametrize(
    "text",
    [
        "The ATM kept my card and my PIN is blocked",
        "my IBAN is wrong, I live in the UK and the EU",
        "is it VISA or MASTERCARD? AMEX? ATMs",
        "I moved money to my GBP account via SWIFT, SEPA and BACS",
        "Please call <PHONE> or write to <EMAIL> about <CARD_NUMBER>",  # redaction placeholders
        "I need my card, A is for apple",  # one-letter words
        "Where is my card",
        "",
    ],
)
def test_acronyms_card_brands_placeholders_and_normal_case_are_not_shouting(text):
    assert signals.shouting(text) is None


# -- repeated punctuation ------------------------------------------------------------------------------
def test_runs_of_repeated_exclamation_and_question_marks():
    text = "Where is it?? Hello!!! Seriously?!"
    found = signals.punctuation(text)
    assert words(found) == ["??", "!!!", "?!"]
    check_spans(text, found)
    assert words(signals.punctuation("what‼ why⁉")) == ["‼", "⁉"]


@pytest.mark.parametrize("text", ["Thanks!", "Where is my card?", "Hi! Is it sent? Great!", "a ! b ? c"])
def test_a_single_mark_is_not_repeated_punctuation(text):
    assert signals.punctuation(text) is None


# -- angry emoji ---------------------------------------------------------------------------------------
def test_angry_emoji_and_typed_emoticons():
    text = "still nothing 😡😡 🤬 >:( :@ 🖕🏽"
    found = signals.angry_emoji(text)
    assert words(found) == ["😡", "😡", "🤬", ">:(", ":@", "🖕🏽"]
    check_spans(text, found)


@pytest.mark.parametrize("text", ["thanks 😊👍", "ok :) :(", "mail me at x:@y", "cost>:(3)"])
def test_friendly_emoji_and_look_alikes_are_not_angry(text):
    assert signals.angry_emoji(text) is None


# -- profanity -----------------------------------------------------------------------------------------
def test_profanity_whole_words_prefixes_and_self_censored_forms():
    text = "This is FUCKING bullshit, f**k this crap. WTF"
    found = signals.profanity(text, PROFANE)
    assert words(found) == ["FUCKING", "bullshit", "f**k", "crap", "WTF"]
    check_spans(text, found)


@pytest.mark.parametrize(
    "text",
    ["I passed the class assessment", "Scunthorpe branch", "my shitake recipe? no, shiitake", "arsenal fan"],
)
def test_profanity_does_not_match_inside_other_words(text):
    assert signals.profanity(text, WordList.of(["ass", "cunt", "shit", "arse"])) is None


def test_word_list_entries():
    listed = WordList.of(["Fuck*", "crap", " ", "*"])
    assert "fucking" in listed and "crap" in listed and "CRAP" in listed
    assert "crappy" not in listed and "" not in listed and 3 not in listed


# -- threats -------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("detector", "text", "phrase"),
    [
        (signals.leaving, "Fix it or I'm closing my account", "I'm closing my account"),
        (signals.leaving, "I will take my money elsewhere", "take my money elsewhere"),
        (signals.leaving, "honestly thinking of switching banks", "switching banks"),
        (signals.leaving, "I'll find another bank", "find another bank"),
        (signals.leaving, "I'm leaving Northwind", "I'm leaving Northwind"),
        (signals.leaving, "never using you again", "never using you again"),
        (signals.leaving, "I'm done with you people", "done with you people"),
        (signals.regulator, "I'll report you to the FCA", "report you to the FCA"),
        (
            signals.regulator,
            "I am complaining to the financial ombudsman",
            "complaining to the financial ombudsman",
        ),
        (signals.regulator, "I will be contacting my solicitor", "contacting my solicitor"),
        (signals.regulator, "see you in court", "see you in court"),
        (signals.regulator, "I'm considering legal action", "legal action"),
    ],
)
def test_threats_to_leave_or_to_go_to_a_regulator(detector, text, phrase):
    found = detector(text)
    assert words(found) == [phrase]
    check_spans(text, found)


@pytest.mark.parametrize(
    ("detector", "text"),
    [
        (signals.leaving, "how do I close my account"),
        (signals.leaving, "I'm leaving you a message"),
        (signals.leaving, "I'm leaving for Spain, will my card work?"),
        (signals.leaving, "I'm done with the form"),
        (signals.leaving, "can I switch to a virtual card"),
        (signals.regulator, "Are you regulated by the FCA?"),
        (signals.regulator, "I want to complain about the fee"),
        (signals.regulator, "Who is your regulator"),
        (signals.regulator, "I went to the branch, then to the court house"),
    ],
)
def test_questions_and_mentions_are_not_threats(detector, text):
    assert detector(text) is None


# -- a request for a person ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("can I speak to a manager", "speak to a manager"),
        ("get me a real person NOW", "get me a real person"),
        ("I want a human", "I want a human"),
        (
            "I was charged twice for the same coffee and I want to speak to a manager NOW",
            "speak to a manager",
        ),
        ("Put me through to someone please", "Put me through to someone"),
        ("i'd like a supervisor", "i'd like a supervisor"),
        ("let me talk with one of your agents", "talk with one of your agents"),
        ("I'm not happy and I want a human", "I want a human"),
        ("I don't want to wait, let me speak to an agent", "speak to an agent"),
        ("HUMAN!!", "HUMAN"),
        ("real person please", "real person"),
        ("agent", "agent"),
    ],
)
def test_requests_for_a_person_anywhere_in_a_message(text, phrase):
    found = signals.person_request(text)
    assert words(found) == [phrase]
    check_spans(text, found)


@pytest.mark.parametrize(
    "text",
    [
        "my manager said I could get a refund",
        "the agent at the branch told me to wait",
        "someone used my card",
        "I spoke to an agent yesterday",
        "I was talking to someone at the shop",
        "I need someone to explain this fee",
        "I want my manager to see this statement",
        "I want the manager's name",
        "I don't want to speak to a manager",
        "no need to talk to a human, thanks",
        "is a person allowed to hold two accounts",
        "",
    ],
)
def test_a_person_only_mentioned_or_refused_is_not_a_request(text):
    assert signals.person_request(text) is None


# -- all together --------------------------------------------------------------------------------------
def test_detect_returns_every_signal_in_a_fixed_order():
    text = "WHERE IS MY REFUND?? this is bullshit 😡 I'll report you to the FCA, get me a manager"
    found = signals.detect(text, PROFANE)
    assert [f.signal for f in found] == [
        "shouting",
        "punctuation",
        "angry_emoji",
        "profanity",
        "regulator",
        "person_request",
    ]
    for finding in found:
        check_spans(text, finding)
    assert signals.detect("where is my card?", PROFANE) == ()


def test_the_detectors_are_pure_domain_code():
    """No I/O and no infrastructure: the module imports only the standard library."""
    source = (Path(signals.__file__)).read_text()
    imported = {
        (node.module if isinstance(node, ast.ImportFrom) else alias.name).split(".")[0]
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    }
    assert imported <= {"__future__", "bisect", "re", "collections", "dataclasses"}
