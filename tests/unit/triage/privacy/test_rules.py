"""The privacy rules without a database: ids, reasons, pseudonyms, what the audit keeps, retention."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from triage.domain.lifecycle import ConversationState
from triage.errors import ValidationError
from triage.privacy import rules
from triage.privacy.rasa import clearline_url
from triage.privacy.rules import SenderFacts, Verdict, purge_verdict

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
CUT = NOW - timedelta(days=30)


def test_ids_keep_their_order_once_each() -> None:
    assert rules.customer_ids(["tg-2", "web-1", "tg-2"]) == ("tg-2", "web-1")


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([], "at least one"),
        ([""], "empty"),
        (["  "], "empty"),
        (["x" * 256], "at most 255"),
        ([f"c{i}" for i in range(51)], "at most 50"),
        (["pseudonym:0123"], "erased conversation"),
    ],
)
def test_bad_ids_are_refused_with_the_reason(ids: list[str], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        rules.customer_ids(ids)


def test_an_erasure_needs_a_short_reason() -> None:
    assert rules.erase_reason("  ticket 88 ") == "ticket 88"
    for bad in (None, "", "   "):
        with pytest.raises(ValidationError, match="needs a reason"):
            rules.erase_reason(bad)
    with pytest.raises(ValidationError, match="at most 500"):
        rules.erase_reason("x" * 501)


def test_a_pseudonym_is_stable_per_key_and_hides_the_id() -> None:
    name = rules.pseudonym("key-1", "tg-7316042")
    assert name == rules.pseudonym("key-1", "tg-7316042")
    assert name.startswith("pseudonym:") and "7316042" not in name and len(name) <= rules.MAX_ID_CHARS
    assert name != rules.pseudonym("key-2", "tg-7316042") != rules.pseudonym("key-1", "tg-7316043")


def test_the_audit_keeps_decisions_and_loses_free_text() -> None:
    inputs = {
        "reason": "customer Jane Roe called twice",
        "comment": "she said her PIN is 1234",
        "unmarked_words": [{"word": "Roe"}],
        "over_capacity": {"reason": "Jane again", "open": 3, "capacity": 3},
        "before": {"queue": "cards", "priority": 40},
        "to_queue": "general",
    }
    stripped, removed = rules.strip_text(inputs)
    assert stripped == {
        "over_capacity": {"open": 3, "capacity": 3},
        "before": {"queue": "cards", "priority": 40},
        "to_queue": "general",
        "text_removed": ["comment", "over_capacity.reason", "reason", "unmarked_words"],
    }
    assert removed == ["comment", "over_capacity.reason", "reason", "unmarked_words"]
    assert inputs["reason"] == "customer Jane Roe called twice"  # a copy: the caller's dict is untouched
    assert rules.strip_text(stripped) == (stripped, [])  # stripping twice changes nothing


def test_the_words_a_signal_factor_points_at_go_and_their_offsets_stay() -> None:
    # the policy's decision (audit "policy" outcome, "escalate" inputs) lists factors with the words
    outcome = {
        "escalate": True,
        "factors": [
            {"factor": "stress", "value": 0.9, "contribution": 45, "text": "stress 0.90 -> +45"},
            {
                "factor": "profanity",
                "value": 1,
                "contribution": 10,
                "text": "profanity (1 word) -> +10",
                "words": [{"word": "Kestrelheads", "start": 4, "end": 16}],
                "message_id": 7,
            },
        ],
    }
    stripped, removed = rules.strip_text(outcome)
    assert removed == ["factors[].words[].word"] and "Kestrelheads" not in repr(stripped)
    assert stripped["factors"][1]["words"] == [{"start": 4, "end": 16}]
    assert stripped["factors"][0] == outcome["factors"][0] and stripped["escalate"] is True
    assert rules.WORD_MARK in json.dumps(outcome) and rules.WORD_MARK not in json.dumps(stripped)


def test_reasons_the_system_writes_and_empty_values_are_not_text() -> None:
    for inputs in ({"reason": "tier", "tier": "vip"}, {"reason": "agent offline"}, {"reason": None}, {}):
        assert rules.strip_text(inputs) == (inputs, [])


def test_lists_of_conversations_in_other_records_are_renamed() -> None:
    outcome = {"status": "offline", "requeued": ["tg-1", "web-2"]}
    renamed, count = rules.replace_references(outcome, {"tg-1": "pseudonym:ab"})
    assert renamed == {"status": "offline", "requeued": ["pseudonym:ab", "web-2"]} and count == 1
    assert rules.replace_references({"status": "away"}, {"tg-1": "p"}) == ({"status": "away"}, 0)


def test_the_cutoff_is_days_before_now_and_at_least_one_day() -> None:
    assert rules.cutoff(NOW, 30) == CUT
    with pytest.raises(ValidationError, match="at least one day"):
        rules.cutoff(NOW, 0)


@pytest.mark.parametrize(
    ("facts", "verdict"),
    [
        (SenderFacts("a", ConversationState.RESOLVED, CUT - timedelta(days=1)), Verdict.PURGE),
        (
            SenderFacts("a", ConversationState.BOT, CUT - timedelta(seconds=1), CUT - timedelta(days=9)),
            Verdict.PURGE,
        ),
        (SenderFacts("a", None, None, CUT - timedelta(days=1)), Verdict.PURGE),  # only Rasa knew it
        (SenderFacts("a", ConversationState.BOT, CUT), Verdict.RECENT),  # exactly at the cutoff: kept
        (SenderFacts("a", ConversationState.BOT, CUT - timedelta(days=1), NOW), Verdict.RECENT),
        (SenderFacts("a", None, None, None), Verdict.RECENT),  # no time known: never purged
        (SenderFacts("a", ConversationState.QUEUED, CUT - timedelta(days=99)), Verdict.OPEN),
        (SenderFacts("a", ConversationState.ASSIGNED, CUT - timedelta(days=99)), Verdict.OPEN),
        (SenderFacts("a", ConversationState.RESOLVED, CUT - timedelta(days=9), None, True), Verdict.UNREAD),
    ],
)
def test_purged_only_when_every_store_is_past_the_cutoff_and_nobody_is_on_it(
    facts: SenderFacts, verdict: Verdict
) -> None:
    assert purge_verdict(facts, CUT) == verdict


def test_last_activity_is_the_newest_known_time() -> None:
    assert rules.last_activity(None, CUT, NOW, None) == NOW
    assert rules.last_activity(None, None) is None


@pytest.mark.parametrize(
    ("url", "opened"),
    [
        ("postgresql://rasa@db:5432/rasa", "postgresql+psycopg://rasa@db:5432/rasa"),
        ("postgresql+psycopg2://rasa@db/rasa", "postgresql+psycopg://rasa@db/rasa"),
        ("postgresql+psycopg://rasa@db/rasa", "postgresql+psycopg://rasa@db/rasa"),
        ("sqlite:////data/rasa_tracker.db", "sqlite:////data/rasa_tracker.db"),
    ],
)
def test_rasas_urls_open_with_this_environments_driver(url: str, opened: str) -> None:
    assert clearline_url(url) == opened


def test_every_store_says_what_it_holds_and_the_providers_records_are_out_of_scope() -> None:
    assert set(rules.HOLDINGS) == {
        "clearline.conversations",
        "clearline.messages",
        "clearline.escalations",
        "clearline.feedback",
        "clearline.missed_flags",
        "clearline.csat_ratings",
        "clearline.suggestion_verdicts",
        "clearline.typing_signals",
        "clearline.outbox",
        "clearline.audit_log",
        "rasa_tracker.events",
        "rasa_broker.events",
    }
    assert "system of record" in rules.OUT_OF_SCOPE
