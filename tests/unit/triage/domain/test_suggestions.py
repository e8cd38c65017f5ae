"""The suggested next action's rules: each rule, asking twice, the policy's factor, ties, nothing fitting,
and bad or missing data. Pure: dataclasses in, suggestions out."""

from __future__ import annotations

from datetime import date

import pytest

from triage.domain import suggestions as s
from triage.domain.suggestions import Card, Factor, Records, Refund, Situation, Transfer, suggest

TODAY = date(2026, 12, 6)
ANNA = Records(
    cards=(Card("4242", "active"), Card("1881", "shipped", date(2026, 12, 9))),
    transfers=(
        Transfer("TRF-100245", "pending", "J. Carter", "£250.00", TODAY, date(2026, 12, 7)),
        Transfer("TRF-100378", "failed", "M. Rossi", "€120.00", date(2026, 12, 3), None, "account rejected"),
    ),
    refunds=(Refund("RFD-200311", "processing", "Skyline Air", "£189.99", date(2026, 12, 10)),),
)


def advise(*intents: object, records: Records | None = ANNA, factors: tuple[Factor, ...] = ()) -> s.Advice:
    return suggest(Situation(intents=list(intents), records=records, today=TODAY, factors=factors))


def keys(advice: s.Advice) -> list[str]:
    return [x.key for x in advice.suggestions]


def test_a_stolen_card_that_is_still_active_is_frozen_first() -> None:
    advice = advise("greet", "lost_or_stolen_card")
    best = advice.best
    assert best is not None and best.key == "freeze_card:4242" and best.action == "freeze_card"
    assert best.title == "Freeze the card ending 4242"
    assert best.reasons == (
        "the customer reports the card lost or stolen",
        "card ending 4242 is active: anyone holding its details can still use it",
    )
    assert best.evidence["intents"] == {"lost_or_stolen_card": 1}
    assert best.evidence["record"] == {"card": "4242", "status": "active"}
    assert advice.none_because is None


def test_several_active_cards_each_get_a_suggestion_and_the_reason_says_ask_which() -> None:
    records = Records(cards=(Card("5521", "active"), Card("7310", "frozen"), Card("0005", "active")))
    advice = advise("compromised_card", records=records)
    assert keys(advice) == ["freeze_card:5521", "freeze_card:0005"]  # equal scores: the provider's order
    assert "the customer has 2 active cards: ask which one before freezing" in advice.suggestions[0].reasons


def test_a_failed_transfer_is_explained_with_its_reason() -> None:
    best = advise("failed_transfer").best
    assert best is not None and best.key == "explain_transfer:TRF-100378"
    assert best.title == "Explain why transfer TRF-100378 failed and offer to send it again"
    assert "transfer TRF-100378 of €120.00 to M. Rossi failed (account rejected)" in best.reasons


def test_a_pending_transfer_gets_its_date_and_a_late_one_is_chased() -> None:
    advice = advise("pending_transfer")
    assert keys(advice) == ["explain_transfer:TRF-100378", "give_transfer_date:TRF-100245"]
    assert advice.suggestions[1].title == "Tell the customer transfer TRF-100245 is expected by 7 Dec"
    late = Records(transfers=(Transfer("TRF-1", "pending", expected_by=date(2026, 12, 1)),))
    best = advise("transfer_not_received_by_recipient", records=late).best
    assert best is not None and best.key == "chase_transfer:TRF-1"
    assert "transfer TRF-1 is still pending, expected by 1 Dec: it is late" in best.reasons


def test_a_processing_refund_gets_its_date() -> None:
    best = advise("Refund_not_showing_up").best
    assert best is not None and best.key == "give_refund_date:RFD-200311"
    assert best.title == "Tell the customer refund RFD-200311 is expected by 10 Dec"
    assert "refund RFD-200311 from Skyline Air is processing, expected by 10 Dec" in best.reasons


def test_a_late_refund_is_chased_and_a_rejected_one_explained() -> None:
    records = Records(
        refunds=(
            Refund("RFD-2", "rejected", rejection_reason="outside the return window"),
            Refund("RFD-1", "processing", expected_by=date(2026, 11, 30)),
        )
    )
    advice = advise("Refund_not_showing_up", records=records)
    assert keys(advice) == ["chase_refund:RFD-1", "explain_refund:RFD-2"]
    assert "refund RFD-2 was rejected (outside the return window)" in advice.suggestions[1].reasons


def test_a_double_charge_asked_twice_opens_a_refund_when_none_is_under_way() -> None:
    records = Records(cards=(Card("1881", "active"),))
    advice = advise("transaction_charged_twice", "nlu_fallback", "request_refund", records=records)
    best = advice.best
    assert best is not None and best.key == "open_refund:charge" and best.action == "open_refund"
    assert best.reasons == (
        "the customer asks for a refund (asked twice)",
        "no refund is processing for this customer: the refund flow has not started",
    )
    assert best.evidence["intents"] == {"transaction_charged_twice": 1, "request_refund": 1}
    assert best.score == s.WEIGHTS["open_refund"] + s.ASK_POINTS + s.LATEST_POINTS


def test_asking_more_often_ranks_higher_up_to_a_cap() -> None:
    once = advise("request_refund", records=Records()).best
    twice = advise("request_refund", "request_refund", records=Records()).best
    often = advise(*["transaction_charged_twice"] * 6, records=Records()).best
    assert once is not None and twice is not None and often is not None
    assert twice.score - once.score == s.ASK_POINTS
    assert often.score - once.score == s.MAX_ASK_POINTS
    assert "(asked 6 times)" in often.reasons[0]


def test_no_refund_is_opened_while_one_is_processing() -> None:
    assert "open_refund:charge" not in keys(advise("transaction_charged_twice", "Refund_not_showing_up"))


def test_card_on_its_way_gets_its_date_and_a_late_card_a_replacement() -> None:
    best = advise("card_arrival").best
    assert best is not None and best.key == "give_card_date:1881"
    assert best.reasons[1] == "card ending 1881 is shipped, expected by 9 Dec"
    late = Records(cards=(Card("9034", "ordered", date(2026, 11, 20)),))
    best = advise("card_delivery_estimate", records=late).best
    assert best is not None and best.key == "replace_card:9034"


def test_a_frozen_card_explains_a_declined_payment() -> None:
    records = Records(cards=(Card("5521", "active"), Card("7310", "frozen")))
    assert keys(advise("declined_card_payment", records=records)) == ["explain_frozen_card:7310"]


def test_the_latest_topic_and_the_policys_factor_rank_a_rule_up() -> None:
    # the refund was asked first, the transfer last: the transfer is the topic
    advice = advise("Refund_not_showing_up", "pending_transfer")
    assert keys(advice)[:2] == ["explain_transfer:TRF-100378", "give_transfer_date:TRF-100245"]
    factor = Factor("intent", "Refund_not_showing_up", 10, "intent Refund_not_showing_up -> +10")
    refund = advise("Refund_not_showing_up", "greet", factors=(factor,)).best
    assert refund is not None and refund.key == "give_refund_date:RFD-200311"
    assert refund.reasons[-1] == (
        "the triage policy weighed it on the latest escalation (intent Refund_not_showing_up -> +10)"
    )
    assert refund.evidence["policy_factor"] == "intent Refund_not_showing_up -> +10"


def test_a_stolen_card_outranks_everything_else_asked() -> None:
    advice = advise("failed_transfer", "request_refund", "lost_or_stolen_card", "card_arrival")
    assert keys(advice)[0] == "freeze_card:4242"
    assert len(advice.suggestions) == s.MAX_SUGGESTIONS  # the best and two alternatives, no more


def test_ties_keep_the_rules_order_then_the_newest_record() -> None:
    records = Records(
        transfers=(Transfer("TRF-NEW", "pending", expected_by=date(2026, 12, 8)),),
        refunds=(
            Refund("RFD-NEW", "processing", expected_by=date(2026, 12, 8)),
            Refund("RFD-OLD", "processing", expected_by=date(2026, 12, 9)),
        ),
    )
    advice = advise("transfer_timing", "request_refund", records=records)
    scores = {x.key: x.score for x in advice.suggestions}
    assert scores["give_refund_date:RFD-NEW"] == scores["give_refund_date:RFD-OLD"]
    # the refund is the latest topic; between the two refunds, the newest first; the transfer last
    assert keys(advice) == [
        "give_refund_date:RFD-NEW",
        "give_refund_date:RFD-OLD",
        "give_transfer_date:TRF-NEW",
    ]


@pytest.mark.parametrize(
    "intents",
    [[], [None, None], ["greet", "goodbye"], ["no_such_intent", 42, {"x": 1}], ["nlu_fallback"]],
)
def test_nothing_the_rules_know_is_no_suggestion(intents: list[object]) -> None:
    advice = advise(*intents)
    assert advice.suggestions == () and advice.best is None
    assert advice.none_because == s.NO_INTENTS


def test_no_provider_record_is_no_suggestion_and_says_why() -> None:
    advice = advise("lost_or_stolen_card", records=None)
    assert advice.suggestions == () and advice.none_because == s.NO_RECORDS


@pytest.mark.parametrize(
    ("intent", "records"),
    [
        ("lost_or_stolen_card", Records(cards=(Card("7310", "frozen"),))),  # already frozen
        ("lost_or_stolen_card", Records()),  # no cards at all
        ("card_arrival", Records(cards=(Card("1881", "shipped", None),))),  # no date to tell
        ("pending_transfer", Records(transfers=(Transfer("TRF-9", "completed"),))),
        ("Refund_not_showing_up", Records(refunds=(Refund("RFD-9", "completed"),))),
        ("card_not_working", Records(cards=(Card("5521", "active"),))),
    ],
)
def test_records_that_do_not_fit_are_no_suggestion(intent: str, records: Records) -> None:
    advice = advise(intent, records=records)
    assert advice.suggestions == () and advice.none_because == s.NOTHING_FITS


def test_bad_records_are_skipped_not_guessed() -> None:
    records = Records(
        cards=(Card("", "active"), Card("4242", "weird-status")),
        transfers=(Transfer("TRF-X", "failed"),),  # no amount, no payee, no reason
    )
    assert keys(advise("lost_or_stolen_card", records=records)) == []
    best = advise("failed_transfer", records=records).best
    assert best is not None and "transfer TRF-X failed (the records give no reason)" in best.reasons


def test_keys_are_stable_across_reads_and_findable() -> None:
    first, again = advise("Refund_not_showing_up"), advise("Refund_not_showing_up")
    assert keys(first) == keys(again)
    assert first.find("give_refund_date:RFD-200311") is not None and first.find("freeze_card:4242") is None


def test_a_date_in_another_year_names_the_year() -> None:
    assert s.day(date(2027, 1, 4), TODAY) == "4 Jan 2027" and s.day(date(2026, 12, 9), TODAY) == "9 Dec"
