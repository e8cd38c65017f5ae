"""What a customer's words show besides what the emotion model reads: pure functions, no I/O.

The emotion model is uncased and scores words, so "WHERE IS MY CARD???" reads as calm to it, and the NLU
gives a message one intent, so a demand for a manager inside a complaint is read as the complaint. These
detectors look for what a good agent notices: capitals, repeated ``!``/``?``, angry emoji, profanity,
threats to leave or to go to a regulator, and a request for a person anywhere in the message. Each returns
a :class:`Finding` with the character spans of the words it points at (offsets into the text it was
given: the redacted text the worker stores), or ``None``. How much each counts is the policy's business
(``triage.domain.policy``); the word list for profanity comes from the policy's YAML.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterable
from dataclasses import dataclass

SHOUTING = "shouting"
PUNCTUATION = "punctuation"
ANGRY_EMOJI = "angry_emoji"
PROFANITY = "profanity"
LEAVING = "leaving"
REGULATOR = "regulator"
PERSON_REQUEST = "person_request"


@dataclass(frozen=True)
class Span:
    """Words a detector points at: ``text[start:end] == word`` (Python string offsets)."""

    word: str
    start: int
    end: int


@dataclass(frozen=True)
class Finding:
    """One signal in one text and the words that show it."""

    signal: str
    spans: tuple[Span, ...]

    @property
    def count(self) -> int:
        return len(self.spans)


def _spans(matches: Iterable[re.Match[str]]) -> tuple[Span, ...]:
    return tuple(Span(m.group(), m.start(), m.end()) for m in matches)


def _finding(signal: str, spans: tuple[Span, ...]) -> Finding | None:
    return Finding(signal, spans) if spans else None


# -- capitals -----------------------------------------------------------------------------------------
# Words that are written in capitals when nobody shouts: banking and card terms, card brands, currencies,
# places and regulators a customer names. Compared after removing a plural "s" ("ATMs" is not in capitals).
NOT_SHOUTING = frozenset(
    {
        *("ATM", "PIN", "IBAN", "BIC", "SWIFT", "SEPA", "BACS", "CHAPS", "CVV", "CVC", "OTP", "SMS"),
        *("NFC", "ID", "OK", "ASAP", "FAQ", "PDF", "APP", "API", "URL", "VAT", "TV", "PC"),
        *("VISA", "MASTERCARD", "AMEX", "MAESTRO", "JCB", "DINERS", "UNIONPAY", "PAYPAL"),
        *("GBP", "EUR", "USD", "CHF", "JPY", "AUD", "CAD", "PLN", "SEK", "NOK", "DKK"),
        *("UK", "US", "USA", "EU", "EEA", "GB", "NI", "UAE"),
        *("FCA", "FOS", "PRA", "HMRC", "DVLA", "NHS", "BBC", "CEO"),
    }
)
_WORD = re.compile(r"[^\W\d_]+(?:['’][^\W\d_]+)*")
# redaction placeholders (<EMAIL>, <CARD_NUMBER>) are capitals the customer never typed
_PLACEHOLDER = re.compile(r"<[A-Z][A-Z_]*>")


def shouting(text: str) -> Finding | None:
    """Words of two or more letters written all in capitals, except acronyms and placeholders."""
    placeholders = [(m.start(), m.end()) for m in _PLACEHOLDER.finditer(text)]

    def shouted(match: re.Match[str]) -> bool:
        word = match.group()
        letters = sum(1 for c in word if c.isalpha())
        if letters < 2 or not word.isupper():
            return False
        if word in NOT_SHOUTING or (word.endswith("S") and word[:-1] in NOT_SHOUTING):
            return False
        return not any(start <= match.start() < end for start, end in placeholders)

    return _finding(SHOUTING, _spans(m for m in _WORD.finditer(text) if shouted(m)))


# -- repeated punctuation -----------------------------------------------------------------------------
# two or more ! or ? in a row ("!!", "??", "?!"), full-width forms, or one of the doubled marks
_PUNCTUATION_RUN = re.compile(r"[!?！？‼⁉⁈⁇]{2,}|[‼⁉⁈⁇]")


def punctuation(text: str) -> Finding | None:
    """Runs of repeated ``!``/``?``; a single ``!`` or ``?`` is not one."""
    return _finding(PUNCTUATION, _spans(_PUNCTUATION_RUN.finditer(text)))


# -- angry emoji and emoticons ------------------------------------------------------------------------
ANGRY_EMOJI_CHARS = "😠😡🤬👿💢😤🖕😾"
_ANGRY_EMOJI = re.compile(
    "(?:[" + ANGRY_EMOJI_CHARS + "][\U0001f3fb-\U0001f3ff]?\ufe0f?)"  # skin tones, presentation selector
    r"|(?<!\S)(?:>:-?[(\[]|:-?@)"  # >:( >:-[ :@ typed as text
)


def angry_emoji(text: str) -> Finding | None:
    """Angry faces, the symbol of anger, a middle finger, and the typed ``>:(`` and ``:@``."""
    return _finding(ANGRY_EMOJI, _spans(_ANGRY_EMOJI.finditer(text)))


# -- profanity ----------------------------------------------------------------------------------------
# letters, with the asterisks of a self-censored word ("f**k", "sh*t")
_PROFANE_TOKEN = re.compile(r"[^\W\d_](?:[^\W\d_]|\*)*")


@dataclass(frozen=True)
class WordList:
    """Whole words, compared lower-case; an entry ending in ``*`` also matches every word it begins."""

    exact: frozenset[str]
    prefixes: tuple[str, ...]

    @classmethod
    def of(cls, entries: Iterable[str]) -> WordList:
        words = [entry.strip().lower() for entry in entries if entry.strip()]
        return cls(
            exact=frozenset(w for w in words if not w.endswith("*")),
            prefixes=tuple(sorted(w[:-1] for w in words if w.endswith("*") and len(w) > 1)),
        )

    def __contains__(self, word: object) -> bool:
        if not isinstance(word, str):
            return False
        word = word.lower()
        return word in self.exact or word.startswith(self.prefixes)


def profanity(text: str, words: WordList) -> Finding | None:
    """Words of the list, matched as whole words: "class" or "Scunthorpe" are not "ass" or "cunt"."""
    return _finding(PROFANITY, _spans(m for m in _PROFANE_TOKEN.finditer(text) if m.group() in words))


# -- threats to leave, to go to a regulator -----------------------------------------------------------
_I_WILL = (
    r"(?:i\s*['’]?\s*ll|i\s+will|i\s*['’]?m\s+(?:going\s+to|gonna)|i\s+am\s+going\s+to|i\s*['’]?m|i\s+am)"
)
_US = r"(?:you(?:\s+guys|\s+people)?|northwind(?:\s+pay)?|this\s+(?:bank|company|app))"
_OTHER_BANK = r"(?:another|a\s+different|a\s+better|a\s+proper|a\s+real|a\s+new)\s+(?:bank|provider)"
_LEAVING = re.compile(
    rf"\b(?:take|taking|move|moving)\s+my\s+(?:money|business|custom|account|savings)\s+"
    rf"(?:elsewhere|somewhere\s+else|to\s+{_OTHER_BANK})\b"
    rf"|\bswitch(?:ing)?\s+banks\b"
    rf"|\b(?:find|finding|go\s+to|going\s+to|move\s+to|moving\s+to|switch\s+to|switching\s+to)\s+{_OTHER_BANK}\b"
    rf"|\b{_I_WILL}\s+(?:be\s+)?(?:clos(?:e|ing)|cancel(?:l?ing)?)\s+my\s+account\b"
    rf"|\b{_I_WILL}\s+(?:be\s+)?(?:leav(?:e|ing)|quit(?:ting)?|ditch(?:ing)?)\s+{_US}\b(?!\s+(?:a|an|my|the)\b)"
    rf"|\bnever\s+(?:use|using|bank\s+with|banking\s+with)\s+{_US}\b(?:\s+(?:ever\s+)?again\b)?"
    rf"|\b(?:done|finished)\s+with\s+{_US}\b",
    re.IGNORECASE,
)
_AUTHORITY = (
    r"(?:FCA|financial\s+conduct\s+authority|(?:financial\s+)?ombudsman|FOS|regulators?|trading\s+standards"
    r"|watchdog|(?:my\s+)?(?:lawyers?|solicitors?)|(?:small\s+claims\s+)?court)"
)
_REGULATOR = re.compile(
    r"\b(?:report(?:ing)?|complain(?:ing)?|escalat(?:e|ing)|go(?:ing)?|take|taking|writ(?:e|ing)|"
    rf"contact(?:ing)?|rais(?:e|ing))\b[^.!?,;\n]{{0,30}}?\b{_AUTHORITY}\b"
    r"|\blegal\s+action\b|\b(?:sue|suing)\s+(?:you|northwind)\b|\bsee\s+you\s+in\s+court\b",
    re.IGNORECASE,
)


def leaving(text: str) -> Finding | None:
    """A threat to take the custom elsewhere: "I'm closing my account", "switching banks"."""
    return _finding(LEAVING, _spans(_LEAVING.finditer(text)))


def regulator(text: str) -> Finding | None:
    """A threat to complain to a regulator, an ombudsman or a court: "I'll report you to the FCA"."""
    return _finding(REGULATOR, _spans(_REGULATOR.finditer(text)))


# -- a request for a person ---------------------------------------------------------------------------
# people a customer asks for; "someone" and its kin only after a verb that asks for them (speak to,
# put me through to, get me), since "I need someone to explain this" asks for an explanation
_STAFF = (
    r"(?:(?:(?:real|actual|live|proper)\s+(?:person|human(?:\s+being)?|agent)|human(?:\s+being)?|"
    r"manager|supervisor|team\s+leader|person|agent|advis[eo]r|representative|operator|staff\s+member)s?|"
    r"(?:real|actual|live|proper)\s+people|member\s+of\s+(?:staff|your\s+team))"
)
_ANYONE = r"(?:someone|somebody|anyone|anybody)(?:\s+(?:real|human))?"
# "my manager", "his agent": someone of the customer's own, not one of ours
_DETERMINER = r"(?:(?:a|an|the|your|some|one\s+of\s+your|a\s+member\s+of\s+your)\s+)?"
_ASK_ANYONE = (
    r"(?:speak|talk|chat)\s+(?:to|with)|put\s+me\s+through\s+to|connect\s+me\s+(?:to|with)|transfer\s+me\s+to|"
    r"pass\s+me\s+(?:on\s+)?to|escalate\s+(?:this|me|it)\s+to|get\s+me|give\s+me|bring\s+me|send\s+me"
)
_ASK_STAFF = (
    r"i\s+(?:want|need|demand)|i\s*['’]?d\s+like|i\s+would\s+like|can\s+i\s+(?:have|get)|let\s+me\s+have"
)
_PERSON_REQUEST = re.compile(
    rf"\b(?:(?:{_ASK_ANYONE})\s+(?:{_DETERMINER}{_STAFF}|{_ANYONE})|(?:{_ASK_STAFF})\s+{_DETERMINER}{_STAFF})\b"
    r"(?!\s*['’]s\b)",  # "the manager's name" asks for a name
    re.IGNORECASE,
)
# a whole message that is only the ask: "human", "AGENT!!", "real person please"
_BARE_REQUEST = re.compile(
    r"^\W*((?:(?:a|an)\s+)?(?:(?:real|live)\s+)?(?:human|agent|person|operator|representative|manager|"
    r"supervisor))(?:\s+(?:please|pls|now))?\W*$",
    re.IGNORECASE,
)
_NEGATION = re.compile(
    r"\b(?:don\s*['’]?\s*t|do\s+not|doesn\s*['’]?\s*t|does\s+not|no\s+need|not|never|won\s*['’]?\s*t|without)\b",
    re.IGNORECASE,
)
# where a clause ends: "I'm not happy and I want a human" asks; "I don't want a human" does not
_CLAUSE_END = re.compile(r"[.!?,;:\n]|\b(?:and|but|so|because|then)\b", re.IGNORECASE)


def _negated(text: str, clause_ends: list[int], start: int) -> bool:
    """Whether the clause before ``start`` says no ("I don't need to speak to a manager");
    ``clause_ends``: where the text's clauses end, in order (found once per text, not once per match)."""
    before = bisect.bisect_right(clause_ends, start)
    return _NEGATION.search(text, clause_ends[before - 1] if before else 0, start) is not None


def person_request(text: str) -> Finding | None:
    """A request to be handed to a person, anywhere in the message ("... I want to speak to a manager
    NOW"); a person only mentioned ("my manager said", "the agent at the branch told me", "someone used
    my card") or refused ("I don't need a human") is not one."""
    bare = _BARE_REQUEST.match(text)
    if bare:
        return Finding(PERSON_REQUEST, (Span(bare.group(1), bare.start(1), bare.end(1)),))
    ends = [m.end() for m in _CLAUSE_END.finditer(text)]
    asks = (m for m in _PERSON_REQUEST.finditer(text) if not _negated(text, ends, m.start()))
    return _finding(PERSON_REQUEST, _spans(asks))


def detect(text: str, profane: WordList) -> tuple[Finding, ...]:
    """Every signal found in ``text``, in a fixed order (the policy's order of factors)."""
    found = (
        shouting(text),
        punctuation(text),
        angry_emoji(text),
        profanity(text, profane),
        leaving(text),
        regulator(text),
        person_request(text),
    )
    return tuple(f for f in found if f is not None)
