"""The bot's responses as Clearline sends them itself (the hand-off's notices, the CSAT question): read once
from Rasa's domain, with the variant of the customer's language.

Rasa picks a conditional variant by slot when it utters a response itself; Clearline appends the bot event
through the HTTP API instead (so no action enters the conversation), and picks here the variant whose
condition is ``customer_language == <the conversation's language>`` (bot/domain/handoff.yml), else the one
without a condition (English).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

LANGUAGE_SLOT = "customer_language"


@dataclass(frozen=True)
class Variant:
    text: str
    language: str | None  # None: the variant without a condition
    buttons: tuple[dict[str, str], ...] = ()


def _language_of(condition: Any) -> str | None | bool:
    """The language a variant's condition asks for; None without a condition; False for a condition
    on something else (never picked here)."""
    if not condition:
        return None
    if (
        isinstance(condition, list)
        and len(condition) == 1
        and isinstance(condition[0], dict)
        and condition[0].get("type") == "slot"
        and condition[0].get("name") == LANGUAGE_SLOT
        and isinstance(condition[0].get("value"), str)
    ):
        return str(condition[0]["value"])
    return False


def _buttons(raw: Any) -> tuple[dict[str, str], ...]:
    if not isinstance(raw, list):
        return ()
    return tuple(
        {"title": str(b["title"]), "payload": str(b["payload"])}
        for b in raw
        if isinstance(b, dict) and b.get("title") is not None and b.get("payload") is not None
    )


def parse_responses(domain: dict[str, Any]) -> dict[str, list[Variant]]:
    """The text variants of each response of a domain (as Rasa's ``GET /domain`` gives it in JSON)."""
    parsed: dict[str, list[Variant]] = {}
    for name, variants in (domain.get("responses") or {}).items():
        kept = []
        for variant in variants if isinstance(variants, list) else []:
            if not isinstance(variant, dict) or not variant.get("text"):
                continue
            language = _language_of(variant.get("condition"))
            if language is False:
                continue
            picked = language if isinstance(language, str) else None
            kept.append(Variant(str(variant["text"]), picked, _buttons(variant.get("buttons"))))
        if any(v.language is None for v in kept):
            parsed[str(name)] = kept
    return parsed


def pick(variants: list[Variant], language: str | None) -> Variant:
    """The variant for this language, else the one without a condition (``parse_responses`` keeps only
    responses that have one)."""
    if language:
        for variant in variants:
            if variant.language == language:
                return variant
    return next(v for v in variants if v.language is None)
