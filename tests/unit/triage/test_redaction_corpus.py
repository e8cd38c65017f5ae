"""The redactor measured on generated corpora (seeded, so every run sees the same messages).

The corpora live in ``triage.benchmarks.redaction_corpus`` because ``clearline bench redaction`` prints
the same figures:
- valid values of every kind, each in a sentence with a cue for its kind and in a neutral one: Luhn-valid
  cards of nine schemes (compact, spaced, dashed), checksum-valid IBANs of the 70 countries presidio knows
  (compact, spaced, dashed, lower case), e-mail addresses, UK postcodes in every outward-code layout, and
  libphonenumber's example number of every type of every region in E.164, international and national format
  (plus unspaced national digits in the home regions);
- phone-shaped runs libphonenumber rejects (typos, Ofcom's drama range, 555-01xx) next to a phone cue;
- non-PII numbers: amounts, dates, order numbers, transaction ids, times, card last four digits, references
  such as TR-20231203-5531, years, and phone cues next to numbers that are not phone numbers.
"""

from __future__ import annotations

import json

import pytest

from triage.benchmarks.redaction_corpus import (
    Outcome,
    misses,
    non_pii_corpus,
    outcomes,
    phone_context_corpus,
    pii_corpus,
    rates,
)
from triage.redaction import PLACEHOLDERS, Redactor


@pytest.fixture(scope="module")
def redactor() -> Redactor:
    return Redactor()


@pytest.fixture(scope="module")
def pii(redactor: Redactor) -> list[Outcome]:
    return outcomes(redactor, pii_corpus())


@pytest.fixture(scope="module")
def non_pii(redactor: Redactor) -> list[Outcome]:
    return outcomes(redactor, non_pii_corpus())


def test_the_corpus_covers_every_kind_and_every_phone_region(pii: list[Outcome]) -> None:
    import phonenumbers

    assert {o.sample.kind for o in pii} == set(PLACEHOLDERS)
    regions = {o.sample.detail.split()[0] for o in pii if o.sample.kind == "PHONE_NUMBER"}
    assert regions == set(phonenumbers.SUPPORTED_REGIONS)


def test_recall_on_valid_values_with_a_cue_is_at_least_99_5_percent_per_kind(pii: list[Outcome]) -> None:
    with_cue = [o for o in pii if o.sample.cued]
    recall = rates(with_cue, lambda s: s.kind)
    print("recall with a cue:", json.dumps(recall))
    assert all(value >= 0.995 for value in recall.values()), (recall, misses(with_cue))


def test_recall_without_a_cue(pii: list[Outcome]) -> None:
    """Cards, IBANs, e-mails and postcodes need no cue: >= 99.5%. Phones >= 98.5% (measured 99.1%): the
    misses are national numbers libphonenumber writes as a bare run of 4 to 8 digits (32 of its 1,129
    examples: Ascension's "62889", Bolivia's "71234567"...) or as "20.12.34" (New Caledonia, also a date);
    with no cue nothing tells them from an amount or an id. Their E.164 and international forms are found.
    """
    without_cue = [o for o in pii if not o.sample.cued]
    recall = rates(without_cue, lambda s: s.kind)
    pooled = rates(pii, lambda s: s.kind)
    print("recall without a cue:", json.dumps(recall), "pooled:", json.dumps(pooled))
    phones = recall.pop("PHONE_NUMBER")
    assert all(value >= 0.995 for value in recall.values()), (recall, misses(without_cue))
    assert phones >= 0.985, misses(without_cue)


def test_every_phone_written_internationally_is_found(pii: list[Outcome]) -> None:
    phones = [o for o in pii if o.sample.kind == "PHONE_NUMBER"]
    by_format = rates(phones, lambda s: s.detail.split()[1])
    print("phone recall by format:", json.dumps(by_format))
    assert by_format["E164"] == by_format["international"] == 1.0
    assert by_format["national"] >= 0.98


def test_phone_shaped_runs_next_to_a_phone_cue_are_redacted_even_when_invalid(redactor: Redactor) -> None:
    results = outcomes(redactor, phone_context_corpus())
    recall = rates(results, lambda s: s.kind)["PHONE_NUMBER"]
    print(f"phone-context recall: {recall} on {len(results)} invalid numbers")
    assert len(results) >= 500
    assert recall >= 0.995, misses(results)


def test_false_positives_on_numbers_that_are_not_pii(non_pii: list[Outcome]) -> None:
    """Bounds a little above what is measured (2.2% overall, seed 22), per what a category can be:

    - 0 to 2% where the number has a cue or a shape no phone, card or IBAN has: amounts, dates, times, years,
      card last four digits, references, ids after "order", "transaction"...; what remains there are
      Luhn-valid ids with a card issuer's prefix and length (redacted as cards on purpose: a card number
      typed as an "order number" must not be stored) and long ids valid as a home region's phone number;
    - a bare id with nothing said about it ("where is 5962 2984?") is as likely a phone number: 8 digits
      grouped 4-4 are how Singapore, Hong Kong and a dozen others write theirs. Up to 35% (measured 29%).
    """
    by_category = rates(non_pii, lambda s: s.detail)
    overall = rates(non_pii, lambda s: s.kind)["NONE"]
    print(f"false-positive rate: {overall} on {len(non_pii)} messages;", json.dumps(by_category))
    bare = by_category.pop("bare number, no cue")
    assert overall <= 0.03, misses(non_pii)
    assert bare <= 0.35
    assert all(rate <= 0.02 for rate in by_category.values()), (by_category, misses(non_pii))
