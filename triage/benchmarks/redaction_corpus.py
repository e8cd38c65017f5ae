"""The generated corpora ``clearline bench redaction`` and the redaction tests measure the redactor on,
the measurements, and the benchmark itself (a product command must not import tests)."""

from __future__ import annotations

import random
import re
import statistics
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from triage.redaction import Redactor

SEED = 22  # issue #22

# --- corpora ------------------------------------------------------------------------------------------

# sentences with no cue either way (no "call", no "card", no "order", no currency): what a number alone says
NEUTRAL_TEMPLATES = (
    "Hi, {} here, is anyone there?",
    "Details: {}. Thanks!",
    "{} - can someone get back to me today?",
    "Please update my details to {} asap",
    "it's {}, I've been locked out since Monday",
    "I tried again with {} but the app froze",
    "Hello. {}",
    "Still waiting... {}!!",
    "for the record: {}",
    "Can you check {} for me please?",
)
CUE_TEMPLATES = {
    "PHONE_NUMBER": (
        "Please call me on {}",
        "my mobile is {} if you need me",
        "You can reach me at {} after 5pm",
        "Tel: {}",
        "ring me on {} asap",
        "WhatsApp me at {}",
        "my number is {}",
        "text me on {} when it's sorted",
        "{} is my phone number",
        "Contact number: {}",
    ),
    "CREDIT_CARD": (
        "my card {} was declined",
        "Card number: {}",
        "someone used {} without my permission",
        "I want to block card {}",
        "visa {} expired",
    ),
    "IBAN_CODE": (
        "Please send the refund to IBAN {}",
        "my account is {}",
        "transfer to {} failed",
        "IBAN: {}",
    ),
    "EMAIL_ADDRESS": (
        "email me at {}",
        "my address is {}",
        "send the statement to {} please",
        "{} is my new email",
    ),
    "UK_POSTCODE": (
        "I live at {}",
        "my postcode is {}",
        "new address, postcode {}",
        "I moved to {} last month",
    ),
}

# (scheme, IIN prefixes as ranges, lengths)
CARD_SCHEMES: tuple[tuple[str, tuple[tuple[int, int], ...], tuple[int, ...]], ...] = (
    ("visa", ((4, 4),), (13, 16, 19)),
    ("mastercard", ((51, 55), (2221, 2720)), (16,)),
    ("amex", ((34, 34), (37, 37)), (15,)),
    ("discover", ((6011, 6011), (644, 649), (65, 65)), (16, 19)),
    ("jcb", ((3528, 3589),), (16, 19)),
    ("diners", ((300, 305), (36, 36), (38, 39)), (14,)),
    ("maestro", ((5018, 5018), (5020, 5020), (5038, 5038), (6304, 6304), (6759, 6759)), (16, 19)),
    ("unionpay", ((62, 62),), (16, 19)),
    ("mir", ((2200, 2204),), (16,)),
)
CARD_GROUPS = {13: (4, 4, 4, 1), 14: (4, 6, 4), 15: (4, 6, 5), 16: (4, 4, 4, 4), 19: (4, 4, 4, 4, 3)}

# the 121 postcode areas
_UK_POSTCODE_AREAS = (
    "AB AL B BA BB BD BH BL BN BR BS BT CA CB CF CH CM CO CR CT CV CW DA DD DE DG DH DL DN DT DY E EC "
    "EH EN EX FK FY G GL GU HA HD HG HP HR HS HU HX IG IP IV KA KT KW KY L LA LD LE LL LN LS LU M ME "
    "MK ML N NE NG NN NP NR NW OL OX PA PE PH PL PO PR RG RH RM S SA SE SG SK SL SM SN SO SP SR SS ST "
    "SW SY TA TD TF TN TQ TR TS TW UB W WA WC WD WF WN WR WS WV YO ZE"
)
UK_POSTCODE_AREAS = _UK_POSTCODE_AREAS.split(" ")
UK_INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

EMAIL_DOMAINS = (
    "example.com",
    "example.co.uk",
    "mail.example.org",
    "example.io",
    "example-bank.de",
    "sub.example.fr",
    "example.com.au",
    "example.nl",
    "uni.example.ac.uk",
    "example.ie",
)


@dataclass(frozen=True)
class Sample:
    """A generated message: ``text[start:end]`` is the value of ``kind`` (or the non-PII item)."""

    text: str
    kind: str
    start: int
    end: int
    detail: str  # the region and format, the card scheme, the non-PII category...
    cued: bool  # the sentence carries a cue for the kind


def _embed(template: str, value: str, kind: str, detail: str, cued: bool) -> Sample:
    start = template.index("{}")
    return Sample(template.replace("{}", value, 1), kind, start, start + len(value), detail, cued)


def _sentences(rng: random.Random, kind: str, value: str, detail: str) -> list[Sample]:
    """The value twice: in a sentence with a cue for its kind, and in a neutral one."""
    return [
        _embed(rng.choice(CUE_TEMPLATES[kind]), value, kind, detail, True),
        _embed(rng.choice(NEUTRAL_TEMPLATES), value, kind, detail, False),
    ]


def luhn_complete(body: str) -> str:
    """``body`` plus the Luhn check digit."""
    total = 0
    for position, char in enumerate(reversed(body)):
        digit = int(char)
        if position % 2 == 0:
            digit = digit * 2 - 9 if digit > 4 else digit * 2
        total += digit
    return body + str((10 - total % 10) % 10)


def _grouped(digits: str, groups: Iterable[int], separator: str) -> str:
    parts, cursor = [], 0
    for size in groups:
        parts.append(digits[cursor : cursor + size])
        cursor += size
    return separator.join(parts)


def card_values(rng: random.Random, per_scheme: int = 40) -> Iterator[tuple[str, str]]:
    """(value, detail): Luhn-valid numbers of each scheme, compact, spaced and dashed."""
    for scheme, ranges, lengths in CARD_SCHEMES:
        for n in range(per_scheme):
            low, high = ranges[n % len(ranges)]
            length = lengths[n % len(lengths)]
            prefix = str(rng.randint(low, high))
            body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
            number = luhn_complete(body)
            yield number, f"{scheme} {length} compact"
            yield _grouped(number, CARD_GROUPS[length], " "), f"{scheme} {length} spaced"
            yield _grouped(number, CARD_GROUPS[length], "-"), f"{scheme} {length} dashed"


def iban_check_digits(country: str, bban: str) -> str:
    rearranged = bban + country + "00"
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return f"{98 - int(numeric) % 97:02d}"


def _bban_layout(country_regex: str) -> list[str]:
    """Character classes of a BBAN from presidio's per-country IBAN regex (the formats it validates)."""
    body = re.sub(r"^\([A-Z]{2}\)\[0-9\]\{2\}\[ \]\?", "", country_regex)
    layout: list[str] = []
    for group_class, count, single_class in re.findall(
        r"\((\[[^\]]+\])\[ \]\?\)\{(\d+)\}|(\[[^\]]+\])(?:\[ \]\?)?", body
    ):
        layout += [group_class] * int(count) if group_class else [single_class]
    return layout


def iban_values(rng: random.Random, per_country: int = 6) -> Iterator[tuple[str, str]]:
    """(value, detail): checksum-valid IBANs of every country presidio knows, compact, spaced, dashed and
    in lower case."""
    from presidio_analyzer.predefined_recognizers.generic.iban_patterns import regex_per_country

    alphabet = {"[0-9]": "0123456789", "[A-Z]": "ABCDEFGHIJKLMNOPQRSTUVWXYZ", "[0]": "0"}
    alphanumeric = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    for country, country_regex in sorted(regex_per_country.items()):
        layout = _bban_layout(country_regex)
        for n in range(per_country):
            bban = "".join(rng.choice(alphabet.get(cls, alphanumeric)) for cls in layout)
            iban = country + iban_check_digits(country, bban) + bban
            spaced = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
            form = ("compact", "spaced", "dashed", "spaced lower case")[n % 4]
            value = {
                "compact": iban,
                "spaced": spaced,
                "dashed": spaced.replace(" ", "-"),
                "spaced lower case": spaced.lower(),
            }[form]
            yield value, f"{country} {form}"


def email_values(rng: random.Random, count: int = 400) -> Iterator[tuple[str, str]]:
    first = ("jane", "john", "a", "mo", "li", "sam", "anne-marie", "o'neil", "zoe", "jb")
    last = ("doe", "smith", "o", "nguyen", "kowalski", "x", "van.der.berg", "ali")
    shapes = ("{f}.{l}", "{f}{n}", "{f}_{l}", "{f}+{l}", "{f}.{l}{n}", "{F}.{L}", "{f}")
    for _ in range(count):
        local = rng.choice(shapes).format(
            f=rng.choice(first),
            l=rng.choice(last),
            n=rng.randint(1, 999),
            F=rng.choice(first).title(),
            L=rng.choice(last).title(),
        )
        domain = rng.choice(EMAIL_DOMAINS)
        yield f"{local}@{domain}", domain


def postcode_values(rng: random.Random, count: int = 400) -> Iterator[tuple[str, str]]:
    """(value, detail): UK postcodes in every outward-code layout; spaced, unspaced and lower case."""
    for n in range(count):
        area = rng.choice(UK_POSTCODE_AREAS)
        district = str(rng.randint(1, 9 if n % 3 else 99))
        if n % 5 == 0:  # A9A / AA9A (central London)
            district = str(rng.randint(1, 9)) + rng.choice("ABCEHMNPRVWXY")
        inward = str(rng.randint(0, 9)) + rng.choice(UK_INWARD_LETTERS) + rng.choice(UK_INWARD_LETTERS)
        form = ("spaced", "unspaced", "lower case")[n % 3]
        value = f"{area}{district} {inward}"
        value = {"spaced": value, "unspaced": value.replace(" ", ""), "lower case": value.lower()}[form]
        yield value, form


def phone_values() -> Iterator[tuple[str, str]]:
    """(value, detail): libphonenumber's example number of every type of every region, in E.164,
    international and national format, and unspaced national digits in the home regions."""
    import phonenumbers
    from phonenumbers import PhoneNumberFormat, PhoneNumberType

    from triage.redaction import HOME_REGIONS as home_regions

    types = [
        value
        for name, value in vars(PhoneNumberType).items()
        if name.isupper() and name not in ("UNKNOWN", "FIXED_LINE_OR_MOBILE")
    ]
    formats = {
        "E164": PhoneNumberFormat.E164,
        "international": PhoneNumberFormat.INTERNATIONAL,
        "national": PhoneNumberFormat.NATIONAL,
    }
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for number_type in types:
            number = phonenumbers.example_number_for_type(region, number_type)
            if number is None:
                continue
            for name, number_format in formats.items():
                yield phonenumbers.format_number(number, number_format), f"{region} {name}"
            if region in home_regions:  # how people there type it: the national digits, no spaces
                national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
                yield re.sub(r"\D", "", national), f"{region} unspaced"


def pii_corpus(seed: int = SEED) -> list[Sample]:
    """Valid values of every kind, each in two support-message sentences: one with a cue, one without."""
    rng = random.Random(seed)  # noqa: S311 (a corpus, not a secret)
    sources: list[tuple[str, Iterable[tuple[str, str]]]] = [
        ("CREDIT_CARD", card_values(rng)),
        ("IBAN_CODE", iban_values(rng)),
        ("EMAIL_ADDRESS", email_values(rng)),
        ("PHONE_NUMBER", phone_values()),
        ("UK_POSTCODE", postcode_values(rng)),
    ]
    return [
        sample
        for kind, values in sources
        for value, detail in values
        for sample in _sentences(rng, kind, value, detail)
    ]


def phone_context_corpus(seed: int = SEED) -> list[Sample]:
    """Phone-shaped runs libphonenumber rejects (a typo, a reserved range) next to a phone cue."""
    import phonenumbers

    rng = random.Random(seed)  # noqa: S311 (a corpus, not a secret)
    values: list[tuple[str, str]] = [
        (f"07700 900{n:03d}", "GB Ofcom drama range") for n in rng.sample(range(1000), 60)
    ] + [(f"(555) 01{n:02d}-{rng.randint(0, 9999):04d}", "US 555 range") for n in rng.sample(range(100), 20)]
    examples = [(value, detail) for value, detail in phone_values() if not value.startswith("+")]
    rng.shuffle(examples)
    for value, detail in examples:
        region = detail.split()[0]
        positions = [i for i, char in enumerate(value) if char.isdigit()]
        if len(positions) < 7:
            continue
        typo = rng.choice(("changed", "dropped", "doubled"))
        at = rng.choice(positions[1:])
        replacement = {"changed": str((int(value[at]) + rng.randint(1, 9)) % 10), "dropped": ""}.get(
            typo, value[at] * 2
        )
        wrong = value[:at] + replacement + value[at + 1 :]
        try:
            valid = phonenumbers.is_valid_number(phonenumbers.parse(wrong, region))
        except phonenumbers.NumberParseException:
            valid = False
        if not valid:
            values.append((wrong, f"{region} typo ({typo} digit)"))
        if len(values) >= 600:
            break
    templates = CUE_TEMPLATES["PHONE_NUMBER"]
    return [_embed(rng.choice(templates), value, "PHONE_NUMBER", detail, True) for value, detail in values]


def _amount(rng: random.Random) -> str:
    whole = rng.choice((rng.randint(1, 99), rng.randint(100, 9999), rng.randint(10_000, 9_999_999)))
    style = rng.choice(("plain", "decimal", "comma", "euro", "spaced"))
    if style == "plain":
        return str(whole)
    cents = f"{rng.randint(0, 99):02d}"
    if style == "decimal":
        return f"{whole}.{cents}"
    if style == "comma":
        return f"{whole:,}.{cents}"
    if style == "euro":
        return f"{whole:,}".replace(",", ".") + f",{cents}"
    return f"{whole:,}".replace(",", " ") + f",{cents}"


def _date(rng: random.Random, layout: str | None = None) -> str:
    year, month, day = rng.randint(2015, 2026), rng.randint(1, 12), rng.randint(1, 28)
    layouts = (
        "{day:02d}/{month:02d}/{year}",
        "{year}-{month:02d}-{day:02d}",
        "{day}.{month}.{year}",
        "{day:02d}-{month:02d}-{year}",
        "{day:02d}.{month:02d}.{short:02d}",
        "{day:02d} {month:02d} {year}",
        "{year}/{month:02d}/{day:02d}",
        "{day} March {year}",
    )
    return (layout or rng.choice(layouts)).format(year=year, month=month, day=day, short=year % 100)


def _digits(rng: random.Random, count: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(count))


def _order_number(rng: random.Random) -> str:
    return rng.choice(
        (
            _digits(rng, rng.randint(6, 12)),
            _digits(rng, 16),
            f"{_digits(rng, 3)}-{_digits(rng, 7)}-{_digits(rng, 7)}",
            f"{_digits(rng, 4)} {_digits(rng, 4)}",
        )
    )


# non-PII items people write in support messages: (category, templates, value maker)
NON_PII: tuple[tuple[str, tuple[str, ...], Callable[[random.Random], str]], ...] = (
    (
        "amount",
        (
            "I was charged £{} twice",
            "refund of €{} please",
            "{} EUR is missing from my balance",
            "it cost ${} and never arrived",
            "I paid {} pounds yesterday",
            "transfer of {} GBP is pending",
            "why is there a fee of {}?",
            "I sent {} to my sister",
        ),
        _amount,
    ),
    (
        "date",
        (
            "the payment on {} is not mine",
            "since {} my card does not work",
            "I ordered it on {}",
            "statement from {} please",
            "it happened {} in the evening",
        ),
        _date,
    ),
    (
        "order number",
        (
            "order {} never arrived",
            "my order #{} is late",
            "order no. {} was cancelled",
            "the parcel {} is stuck",
            "tracking number {} shows nothing",
        ),
        _order_number,
    ),
    (
        "bare number, no cue",  # an id with nothing said about it: it may as well be a phone number
        (
            "I returned {} last week",
            "where is {}?",
            "still nothing about {}",
        ),
        _order_number,
    ),
    (
        "phone cue, no phone number: date",
        ("I phoned on {} and nobody answered", "my mobile broke on {}"),
        _date,
    ),
    (
        "phone cue, no phone number: amount",
        ("my phone bill was £{} this month", "my new phone cost {} EUR"),
        _amount,
    ),
    (
        "phone cue, no phone number: id",
        ("I called 3 times about order {}", "the text message code was {}", "phone ref {} please"),
        _order_number,
    ),
    (
        "phone cue, no phone number: time or year",
        ("I called at {} today", "I have had this mobile since {}"),
        lambda rng: rng.choice(
            (f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}", str(rng.randint(1990, 2026)))
        ),
    ),
    (
        "transaction id",
        (
            "transaction {} failed",
            "txn {} shows twice",
            "payment id {} was refused",
            "I don't recognise {} on my statement",
        ),
        lambda rng: rng.choice(
            (
                "".join(rng.choice("0123456789ABCDEF") for _ in range(10)),
                f"TXN-{_digits(rng, 6)}",
                _digits(rng, 12),
                f"PAY-{rng.randint(2015, 2026)}-{_digits(rng, 6)}",
            )
        ),
    ),
    (
        "time",
        (
            "it happened at {}",
            "I tried between {} and nothing",
            "you said by {} today",
            "the branch closed at {}",
        ),
        lambda rng: rng.choice(
            (
                f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}",
                f"{rng.randint(1, 12)}.{rng.randint(0, 59):02d}",
                f"{rng.randint(1, 12)}am",
                f"{rng.randint(8, 11)}.{rng.randint(0, 5)}0-{rng.randint(12, 17)}.{rng.randint(0, 5)}0",
                f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}",
            )
        ),
    ),
    (
        "card last four",
        (
            "my card ending {} was blocked",
            "the card ending in {} is lost",
            "**** **** **** {} was charged",
            "last four digits {}",
            "xxxx-xxxx-xxxx-{} please cancel",
        ),
        lambda rng: _digits(rng, 4),
    ),
    (
        "reference",
        (
            "reference {} is still open",
            "ref: {}",
            "my complaint {} has no answer",
            "{} was the reference you gave me",
        ),
        lambda rng: rng.choice(
            (
                f"TR-{_date(rng, '{year}{month:02d}{day:02d}')}-{_digits(rng, 4)}",
                f"CASE-{_digits(rng, 8)}",
                "".join(rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(8)),
                f"#{_digits(rng, 5)}",
            )
        ),
    ),
    (
        "year",
        (
            "I have been a customer since {}",
            "my card from {} expired",
            "statements for {} please",
            "between {} and now",
        ),
        lambda rng: rng.choice(
            (str(rng.randint(1990, 2026)), f"{rng.randint(2015, 2020)}-{rng.randint(2021, 2026)}")
        ),
    ),
    (
        "count or model",
        (
            "I tried {} and it still fails",
            "on my {} it crashes",
            "the app (version {}) logs me out",
        ),
        lambda rng: rng.choice(
            (
                f"{rng.randint(2, 9)} times",
                f"iPhone {rng.randint(8, 16)}",
                f"{rng.randint(1, 3)}.{rng.randint(0, 20)}.{rng.randint(0, 9)}",
                "2FA",
                "4G",
            )
        ),
    ),
)


def non_pii_corpus(seed: int = SEED, per_category: int = 250) -> list[Sample]:
    """Messages with amounts, dates, order numbers, transaction ids, times, card last four digits,
    references and years, none of them PII: all of it must survive."""
    rng = random.Random(seed)  # noqa: S311 (a corpus, not a secret)
    return [
        _embed(rng.choice(templates), make(rng), "NONE", category, False)
        for category, templates, make in NON_PII
        for _ in range(per_category)
    ]


PLAIN_MESSAGES = (
    "where is my new card?",
    "how long does a transfer to another bank take",
    "can I top up with apple pay",
    "what is the exchange rate for euros",
    "I would like to change my pin please",
    "thanks, that helps",
    "is there a fee for topping up by card",
    "how do I verify my identity",
    "someone took money from my account, I am scared and furious",
    "this is unacceptable, my card was stolen and nobody helps me",
    "the transfer never arrived and rent is due today",
    "there are payments I never made",
    "my card got declined at the supermarket again",
    "can I speak to a human please",
    "why was my account frozen?",
    "I forgot my passcode",
)


MIX = "85% support messages without numbers, 10% with non-PII numbers, 5% with PII"


def realistic_mix(seed: int = SEED, size: int = 4000) -> list[str]:
    """What the worker sees (``MIX``), each message with a number at most once."""
    rng = random.Random(seed + 1)  # noqa: S311 (a corpus, not a secret)
    # each message with a number once: the phone recognizer's cache must not meet a number twice
    with_pii = [s.text for s in pii_corpus(seed)]
    with_numbers = [s.text for s in non_pii_corpus(seed)]
    rng.shuffle(with_pii)
    rng.shuffle(with_numbers)
    mix = []
    for _ in range(size):
        draw = rng.random()
        if draw < 0.85 or not with_pii or not with_numbers:
            mix.append(rng.choice(PLAIN_MESSAGES))
        else:
            mix.append((with_numbers if draw < 0.95 else with_pii).pop())
    return mix


# --- measuring ----------------------------------------------------------------------------------------


def found(redactor: Redactor, sample: Sample) -> bool:
    """Whether the sample's value is wholly inside one span of its kind."""
    return any(
        span.entity == sample.kind and span.start <= sample.start and sample.end <= span.end
        for span in redactor.find(sample.text)
    )


@dataclass(frozen=True)
class Outcome:
    sample: Sample
    hit: bool  # PII: found whole, with its kind; non-PII: something was redacted


def outcomes(redactor: Redactor, samples: Iterable[Sample]) -> list[Outcome]:
    return [
        Outcome(s, found(redactor, s) if s.kind != "NONE" else bool(redactor.find(s.text))) for s in samples
    ]


def rates(results: Iterable[Outcome], key: Callable[[Sample], str]) -> dict[str, float]:
    """Share of hits per key, 4 decimals."""
    hits: Counter[str] = Counter()
    totals: Counter[str] = Counter()
    for outcome in results:
        totals[key(outcome.sample)] += 1
        hits[key(outcome.sample)] += outcome.hit
    return {name: round(hits[name] / totals[name], 4) for name in sorted(totals)}


def misses(results: Iterable[Outcome], most: int = 20) -> list[str]:
    """Texts of the PII samples not found (or the non-PII samples redacted), at most ``most``."""
    wrong = [o.sample.text for o in results if o.hit == (o.sample.kind == "NONE")]
    return wrong[:most]


def timings_ms(redactor: Redactor, messages: list[str]) -> list[float]:
    """Milliseconds of ``redact_with_spans`` per message, one call each."""
    samples = []
    for text in messages:
        started = time.perf_counter()
        redactor.redact_with_spans(text)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def latency(samples: list[float]) -> dict[str, float]:
    quantiles = statistics.quantiles(samples, n=100, method="inclusive")
    return {
        "p50": round(quantiles[49], 3),
        "p95": round(quantiles[94], 3),
        "mean": round(statistics.fmean(samples), 3),
    }


def measure(redactor: Redactor, seed: int = SEED) -> dict[str, Any]:
    """Recall on the three generated corpora and the false-positive rate on the non-PII one."""
    pii = outcomes(redactor, pii_corpus(seed))
    phones = [o for o in pii if o.sample.kind == "PHONE_NUMBER"]
    non_pii = outcomes(redactor, non_pii_corpus(seed))
    return {
        "recall": rates(pii, lambda s: s.kind),
        "recall_with_cue": rates((o for o in pii if o.sample.cued), lambda s: s.kind),
        "recall_without_cue": rates((o for o in pii if not o.sample.cued), lambda s: s.kind),
        "phone_recall_by_format": rates(phones, lambda s: s.detail.split()[1]),
        "phone_context_recall": rates(outcomes(redactor, phone_context_corpus(seed)), lambda s: s.kind)[
            "PHONE_NUMBER"
        ],
        "false_positive_rate": rates(non_pii, lambda s: s.kind)["NONE"],
        "false_positive_rate_by_category": rates(non_pii, lambda s: s.detail),
    }


def run_bench(seed: int = SEED, messages: int = 4000) -> dict[str, Any]:
    from triage.redaction import Redactor

    mix = realistic_mix(seed, messages)
    numeric = [any(c.isdigit() for c in text) or "@" in text for text in mix]
    warm_up = realistic_mix(seed + 100, 200)
    figures: dict[str, Any] = {
        "seed": seed,
        "mix": {"messages": len(mix), "with_digits_or_at_sign": sum(numeric), "composition": MIX},
    }
    for name, build in (("before", Redactor.presidio_baseline), ("after", Redactor)):
        redactor = build()
        for text in warm_up:  # first calls load metadata and compile patterns
            redactor.redact(text)
        # one pass, before the corpora fill the phone recognizer's cache: each number is met once
        samples = timings_ms(redactor, mix)
        timed = {
            "ms_per_message": latency(samples),
            "ms_per_message_with_digits_or_at_sign": latency(
                [ms for ms, n in zip(samples, numeric, strict=True) if n]
            ),
        }
        figures[name] = {**measure(redactor, seed), **timed}
    return figures
