"""Pull the details a form asks for out of free text (forms fill slots from the whole message)."""

import re

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# A number as people type it: digits, possibly grouped by spaces, dashes, dots or brackets, maybe after a +.
_NUMBER = re.compile(r"\+?\(?\d(?:[\d().-]| (?=[\d(]))*\d|\d")
# 12+ digits, possibly grouped by spaces or dashes: looks like a full card number.
_CARD_NUMBER = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_REFERENCE = {
    "TRF": re.compile(r"\bTRF[- ]?(\d{6})\b", re.IGNORECASE),
    "RFD": re.compile(r"\bRFD[- ]?(\d{6})\b", re.IGNORECASE),
}


def extract_email(text: str) -> str | None:
    match = _EMAIL.search(text or "")
    return match.group(0).lower() if match else None


def _numbers(text: str) -> list[tuple[str, str]]:
    """Each number in the text as typed and as its digits alone."""
    return [(m.group(), re.sub(r"\D", "", m.group())) for m in _NUMBER.finditer(text or "")]


def looks_like_phone_number(text: str) -> bool:
    """A number written like a phone number: after a +, or 7 to 12 digits (fewer than a card's 13)."""
    return any(
        (typed.startswith("+") and len(digits) >= 7) or 7 <= len(digits) <= 12
        for typed, digits in _numbers(text)
    )


def looks_like_full_card_number(text: str) -> bool:
    return bool(_CARD_NUMBER.search(text or "")) and not any(t.startswith("+") for t, _ in _numbers(text))


def extract_last_four(text: str) -> str | None:
    """The one number of exactly four digits in the text; None when there is none, more than one
    (ambiguous), or when the four digits are part of a longer number ("+44 7700 900123" is a phone
    number, not a card ending in 7700)."""
    groups = [digits for _, digits in _numbers(text) if len(digits) == 4]
    longer = [digits for _, digits in _numbers(text) if len(digits) > 4]
    return groups[0] if len(groups) == 1 and not longer else None


def extract_reference(text: str, prefix: str) -> str | None:
    """A reference such as TRF-100245 (prefix "TRF") in canonical form, tolerating case and a missing dash."""
    match = _REFERENCE[prefix].search(text or "")
    return f"{prefix}-{match.group(1)}" if match else None
