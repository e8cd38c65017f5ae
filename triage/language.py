"""The language of a customer's message, with lingua-language-detector (offline: its n-gram models are
inside the wheel, nothing is downloaded).

Shared by the worker (which stores the language with every customer message) and the bot's NLU component
(bot/components/language.py, which answers a message in another language in that language): the bot loads
this file through bot/clearline_files.py, so it is written for Python 3.10 and imports nothing of
Clearline's.

Choices (measured figures in docs/languages.md):
- Only the languages in ``LANGUAGES`` are candidates: English and the languages of the EU customers a
  bank's support most often hears. Fewer candidates is faster (lingua compares each text against every
  candidate's models and loads each candidate's models on first use) and far less often wrong on short
  texts: with all 75 languages, "ok thanks" or a card question reads as Tagalog or Latin now and then.
- Short texts are ambiguous ("no", "ok", "Hola", "sí" belong to several of them), so a text with fewer
  than ``MIN_LETTERS`` letters or ``MIN_WORDS`` words is not judged: the caller keeps the conversation's
  language instead of flipping it on one word.
- A text is given a language only when lingua's confidence in it reaches ``MIN_CONFIDENCE``. English
  support questions are short and share many n-grams with Dutch, so English needs less
  (``MIN_CONFIDENCE_ENGLISH``): on BANKING77's English queries a single bar of 0.5 left a third of them
  unknown, while the other languages stay at the higher bar because calling English "Spanish" costs more
  (the bot then answers in Spanish and the stress model's score is set aside).
- Redaction placeholders (``<PERSON>``), URLs, e-mail addresses, digits and emoji are removed first: they
  are not words of any language, and the placeholders' English names would pull every text to English.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# ISO 639-1 codes of the candidate languages; English first (the emotion model's and the bot's language)
LANGUAGES = ("en", "es", "fr", "de", "it", "pt", "nl", "pl")
ENGLISH = "en"
MIN_LETTERS = 10
MIN_WORDS = 2
MIN_CONFIDENCE = 0.6
MIN_CONFIDENCE_ENGLISH = 0.3
# lingua reads at most this much; a long message says its language in its first few sentences
MAX_CHARS = 2000

_NOT_WORDS = re.compile(
    r"<[A-Z_]{1,32}>"  # redaction placeholders
    r"|\b(?:https?://|www\.)\S+"  # URLs
    r"|\S+@\S+"  # e-mail addresses
    r"|[^\W_]*\d[^\W_]*"  # numbers and codes with digits in them
)
_WORD = re.compile(r"[^\W\d_]+")


@dataclass(frozen=True)
class Detection:
    """What the detector made of a text.

    Attributes:
        language: ISO 639-1 code of one of ``LANGUAGES``, or None when the text was too short or no
            language was clear enough.
        confidence: lingua's confidence in the top language (0..1); 0.0 when the text was not judged.
    """

    language: str | None
    confidence: float


UNKNOWN = Detection(None, 0.0)


def words_of(text: str) -> list[str]:
    """The words lingua is shown: letters only, without placeholders, URLs, addresses and numbers."""
    return _WORD.findall(_NOT_WORDS.sub(" ", text[:MAX_CHARS]))


def detect(text: Any) -> Detection:
    """The language of ``text``; :data:`UNKNOWN` for a short, ambiguous or non-text input (never raises
    on bad input: a message that cannot be read has no language, it is not an error)."""
    if not isinstance(text, str):
        return UNKNOWN
    words = words_of(text)
    if len(words) < MIN_WORDS or sum(len(word) for word in words) < MIN_LETTERS:
        return UNKNOWN
    values = _detector().compute_language_confidence_values(" ".join(words))
    if not values:
        return UNKNOWN
    top = values[0]
    code = top.language.iso_code_639_1.name.lower()
    confidence = round(float(top.value), 4)
    bar = MIN_CONFIDENCE_ENGLISH if code == ENGLISH else MIN_CONFIDENCE
    return Detection(code if confidence >= bar else None, confidence)


@lru_cache(maxsize=1)
def _detector() -> Any:
    """One detector per process (thread-safe in lingua); its models load lazily, per language."""
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in LANGUAGES]
    return LanguageDetectorBuilder.from_languages(*languages).build()
