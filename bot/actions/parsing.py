"""Pull the details a form asks for out of free text (forms fill slots from the whole message)."""

import re

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
_FOUR_DIGITS = re.compile(r"(?<!\d)\d{4}(?!\d)")
# 12+ digits, possibly grouped by spaces or dashes: looks like a full card number.
_CARD_NUMBER = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_REFERENCE = {
    "TRF": re.compile(r"\bTRF[- ]?(\d{6})\b", re.IGNORECASE),
    "RFD": re.compile(r"\bRFD[- ]?(\d{6})\b", re.IGNORECASE),
}


def extract_email(text: str) -> str | None:
    match = _EMAIL.search(text or "")
    return match.group(0).lower() if match else None


def looks_like_full_card_number(text: str) -> bool:
    return bool(_CARD_NUMBER.search(text or ""))


def extract_last_four(text: str) -> str | None:
    """The single 4-digit group in the text; None when there is none or more than one (ambiguous)."""
    groups = _FOUR_DIGITS.findall(text or "")
    return groups[0] if len(groups) == 1 else None


def extract_reference(text: str, prefix: str) -> str | None:
    """A reference such as TRF-100245 (prefix "TRF") in canonical form, tolerating case and a missing dash."""
    match = _REFERENCE[prefix].search(text or "")
    return f"{prefix}-{match.group(1)}" if match else None
