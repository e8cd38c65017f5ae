"""Reading Rasa's broker events into what the worker acts on (no database, no model)."""

from __future__ import annotations

from datetime import UTC, datetime

from triage.benchmarks.rasa_events import action_event, bot_event, slot_event, user_event
from triage.rasa.events import AGENT_REPLY
from triage.redaction import RedactedSpan, Redaction, redact_with_spans
from triage.storage.db import Sender
from triage.worker.broker import BrokerEvent
from triage.worker.reading import UPSTREAM_REDACTIONS, TierSet, Utterance, read_events


def events(*datas: dict | None) -> list[BrokerEvent]:
    return [BrokerEvent(i + 1, "c1", data) for i, data in enumerate(datas)]


def unredacted(text: str) -> Redaction:
    return Redaction(text, ())


def test_utterances_and_tiers_in_event_order_everything_else_skipped() -> None:
    items, skipped = read_events(
        events(
            slot_event("customer_tier", "vip", timestamp=10.0),
            user_event("my card ann@example.com", intent="card_arrival", timestamp=11.0),
            action_event(),
            bot_event("It is on its way.", timestamp=12.0),
            slot_event("email", "ann@example.com"),
            None,  # a row that held no JSON object
        ),
        redact=lambda text: Redaction(text.replace("ann@example.com", "<EMAIL>"), ()),
    )
    assert skipped == 3  # the action, the other slot and the row without JSON
    tier, said, answered = items
    assert isinstance(tier, TierSet) and tier.value == "vip"
    assert isinstance(said, Utterance) and (said.sender, said.text, said.intent) == (
        Sender.CUSTOMER,
        "my card <EMAIL>",
        "card_arrival",
    )
    assert said.at == datetime.fromtimestamp(11.0, UTC)
    assert isinstance(answered, Utterance) and answered.sender == Sender.BOT


def test_clearlines_own_echoes_rasas_replays_and_empty_texts_are_not_utterances() -> None:
    echo = {**bot_event("Ann here"), "metadata": {AGENT_REPLY: True}}
    replay = {**user_event("where is my card"), "metadata": {"is_external": True}}
    blank = user_event("   ")
    items, skipped = read_events(events(echo, replay, blank), redact=unredacted)
    assert items == [] and skipped == 3


def test_text_that_is_not_valid_unicode_is_made_storable() -> None:
    items, _ = read_events(events(user_event("bad \ud800 surrogate")), redact=unredacted)
    assert isinstance(items[0], Utterance) and items[0].text == "bad ? surrogate"


def test_an_utterance_knows_where_its_placeholders_are_and_typed_look_alikes_are_not_among_them() -> None:
    typed = "I typed <EMAIL> and <SCRIPT>, write to ann@example.com"
    items, _ = read_events(events(user_event(typed), bot_event("Noted: ann@example.com")), redact_with_spans)
    said, answered = items
    assert isinstance(said, Utterance) and said.text == "I typed <EMAIL> and <SCRIPT>, write to <EMAIL>"
    assert said.redactions == ({"entity": "EMAIL_ADDRESS", "start": 39, "end": 46},)
    assert isinstance(answered, Utterance) and answered.text == "Noted: <EMAIL>"
    assert answered.redactions == ({"entity": "EMAIL_ADDRESS", "start": 7, "end": 14},)


def test_placeholders_rasas_store_listed_are_kept_where_the_worker_redacts_around_them() -> None:
    """Rasa's redacting tracker store publishes redacted text and, beside it, where its placeholders are."""
    text = "card <CARD_NUMBER>, typed <EMAIL>, then ann@example.com"
    listed = [{"entity": "CREDIT_CARD", "start": 5, "end": 18}]
    items, _ = read_events(events({**user_event(text), UPSTREAM_REDACTIONS: listed}), redact_with_spans)
    (said,) = items
    assert isinstance(said, Utterance) and said.text == "card <CARD_NUMBER>, typed <EMAIL>, then <EMAIL>"
    assert said.redactions == (
        {"entity": "CREDIT_CARD", "start": 5, "end": 18},
        {"entity": "EMAIL_ADDRESS", "start": 40, "end": 47},
    )
    # offsets move with what the worker's own redaction changes before them
    shifted = {
        **user_event("ann@example.com or <PHONE>"),
        UPSTREAM_REDACTIONS: [{"entity": "PHONE_NUMBER", "start": 19, "end": 26}],
    }
    (said,) = read_events(events(shifted), redact_with_spans)[0]
    assert isinstance(said, Utterance) and said.text == "<EMAIL> or <PHONE>"
    assert [r["start"] for r in said.redactions] == [0, 11]


def test_listed_placeholders_that_do_not_fit_the_text_are_ignored() -> None:
    text = "typed <EMAIL> and <SCRIPT>"
    for listed in (
        [{"entity": "EMAIL_ADDRESS", "start": 0, "end": 5}],  # not over a placeholder
        [{"entity": "EMAIL_ADDRESS", "start": 6, "end": 99}],  # past the end
        [{"entity": "EMAIL_ADDRESS", "start": "6", "end": 13}],  # not numbers
        [{"entity": "EMAIL_ADDRESS", "start": 6, "end": 13}, {"entity": "X", "start": 10, "end": 26}],
        "everything",
        ["not an object", None, {"entity": "X", "start": True, "end": 13}],
    ):
        (said,) = read_events(events({**user_event(text), UPSTREAM_REDACTIONS: listed}), unredacted)[0]
        assert isinstance(said, Utterance) and said.text == text
        kept = [(r["start"], r["end"]) for r in said.redactions]
        assert kept in ([], [(6, 13)]), listed  # a valid one survives an overlapping invalid one
    # the customer's client may send metadata: a list there is nobody's word
    sent = {**user_event(text), "metadata": {UPSTREAM_REDACTIONS: [{"entity": "X", "start": 6, "end": 13}]}}
    (said,) = read_events(events(sent), unredacted)[0]
    assert isinstance(said, Utterance) and said.redactions == ()


def test_spans_as_the_redactor_gives_them_are_what_is_stored() -> None:
    redaction = Redaction("hi <EMAIL>", (RedactedSpan("EMAIL_ADDRESS", 3, 10),))
    (said,) = read_events(events(user_event("hi ann@example.com")), lambda _text: redaction)[0]
    assert isinstance(said, Utterance) and said.redactions == (
        {"entity": "EMAIL_ADDRESS", "start": 3, "end": 10},
    )
