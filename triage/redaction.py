"""PII redaction before anything is stored or shown, with presidio-analyzer's pattern recognizers.

The recognizers are used directly (no ``AnalyzerEngine``), so no spaCy model is loaded or downloaded.
Presidio's e-mail recognizer validates domains with ``tldextract``, whose default extractor fetches
the public suffix list from the internet; ours uses the list snapshot bundled with tldextract instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import tldextract
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    PhoneRecognizer,
)

PLACEHOLDERS = {
    "CREDIT_CARD": "<CARD_NUMBER>",
    "IBAN_CODE": "<IBAN>",
    "EMAIL_ADDRESS": "<EMAIL>",
    "PHONE_NUMBER": "<PHONE>",
    "UK_POSTCODE": "<POSTCODE>",
}
MIN_SCORE = 0.4  # presidio's phone recognizer reports 0.4 for numbers it parsed and validated
PHONE_REGIONS = ("GB", "IE", "US", "DE", "FR", "ES", "IT", "NL")

# no network: the suffix list snapshot shipped inside the tldextract package
_OFFLINE_TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recognizer, validating the domain against the bundled suffix list."""

    def validate_result(self, pattern_text: str) -> bool:
        return bool(_OFFLINE_TLD(pattern_text).fqdn)


def uk_postcode_recognizer() -> PatternRecognizer:
    pattern = r"\b(?:GIR ?0AA|[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][ABD-HJLNP-UW-Z]{2})\b"
    return PatternRecognizer(
        supported_entity="UK_POSTCODE",
        patterns=[Pattern("UK postcode", pattern, 0.6)],
        context=["postcode", "address", "live"],
        name="UkPostcodeRecognizer",
    )


@dataclass(frozen=True)
class PiiSpan:
    entity: str
    start: int
    end: int
    score: float


@dataclass(frozen=True)
class RedactedSpan:
    """A placeholder in a redacted text: what it replaced and where it is (offsets into the redacted text).

    Stored beside the text, so that a reader tells a placeholder from a customer who typed ``<EMAIL>``."""

    entity: str
    start: int
    end: int

    def as_dict(self) -> dict[str, str | int]:
        return {"entity": self.entity, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Redaction:
    text: str
    spans: tuple[RedactedSpan, ...]


class Redactor:
    """Finds PII spans and replaces them with placeholders such as ``<CARD_NUMBER>``."""

    def __init__(self, recognizers: list[EntityRecognizer] | None = None, min_score: float = MIN_SCORE):
        self.recognizers = recognizers or [
            CreditCardRecognizer(),  # Luhn-checked
            IbanRecognizer(),  # checksum-checked
            OfflineEmailRecognizer(),
            PhoneRecognizer(supported_regions=PHONE_REGIONS),
            uk_postcode_recognizer(),
        ]
        self.min_score = min_score

    def find(self, text: str) -> list[PiiSpan]:
        """Non-overlapping spans, the higher score (then the longer span) winning an overlap."""
        found: list[RecognizerResult] = []
        for recognizer in self.recognizers:
            # pattern recognizers need no NLP artifacts: that is what keeps spaCy models out
            artifacts = None
            found.extend(recognizer.analyze(text, recognizer.supported_entities, artifacts))  # type: ignore[arg-type]
        candidates = sorted(
            (r for r in found if r.score >= self.min_score and r.entity_type in PLACEHOLDERS),
            key=lambda r: (-r.score, -(r.end - r.start), r.start),
        )
        kept: list[PiiSpan] = []
        for r in candidates:
            if all(r.end <= k.start or r.start >= k.end for k in kept):
                kept.append(PiiSpan(r.entity_type, r.start, r.end, r.score))
        return sorted(kept, key=lambda s: s.start)

    def redact(self, text: str) -> str:
        return self.redact_with_spans(text).text

    def redact_with_spans(self, text: str) -> Redaction:
        """The redacted text and where each placeholder sits in it (offsets into the redacted text)."""
        pieces: list[str] = []
        spans: list[RedactedSpan] = []
        cursor = 0
        length = 0
        for span in self.find(text):
            before = text[cursor : span.start]
            placeholder = PLACEHOLDERS[span.entity]
            pieces += [before, placeholder]
            length += len(before)
            spans.append(RedactedSpan(span.entity, length, length + len(placeholder)))
            length += len(placeholder)
            cursor = span.end
        pieces.append(text[cursor:])
        return Redaction("".join(pieces), tuple(spans))


@lru_cache(maxsize=1)
def default_redactor() -> Redactor:
    return Redactor()


def redact(text: str) -> str:
    """Replace card numbers, IBANs, e-mail addresses, phone numbers and UK postcodes by placeholders."""
    return default_redactor().redact(text)


def redact_with_spans(text: str) -> Redaction:
    """``redact`` plus the placeholders' positions in the redacted text."""
    return default_redactor().redact_with_spans(text)
