"""Canned replies: the ``{{variable}}`` placeholders a supervisor may use, checked when a reply is saved,
and filled for one conversation when an agent inserts it. Pure: no database, no clock.

A variable whose value is not known (Clearline does not store the customer's name; a conversation may
never have named a card) is left in the text as ``{{name}}``, so the agent sees it and fills it in: a
reply is never sent with a hole where a name should be (``unfilled`` finds what is left).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from triage.errors import ValidationError

# name -> what it is filled with (shown to supervisors in the error for an unknown one and in the docs)
VARIABLES: dict[str, str] = {
    "customer_name": "the customer's name, when Clearline knows it (it stores none today: left to fill)",
    "card_ending": "the last four digits of the card the bot last named in this conversation",
    "agent_name": "the display name of the agent who inserts the reply",
}
MAX_TITLE_CHARS = 80
MAX_BODY_CHARS = 2000  # what one reply may hold (triage.services.handoff.MAX_REPLY_CHARS)

# {{ name }} with optional spaces; a name is lower-case letters, digits and underscores
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
OPENING = re.compile(r"\{\{")
# the bot's words when it names a card (bot/actions/cards.py): "Your card ending 1881 ..."
CARD_ENDING = re.compile(r"\bcard ending (\d{4})\b")


@dataclass(frozen=True)
class Filled:
    """A canned reply's text for one conversation and the variables left in it for the agent."""

    text: str
    unfilled: tuple[str, ...]


def placeholders(body: str) -> list[str]:
    """The variable names used in ``body``, in order of first use."""
    seen: dict[str, None] = {}
    for match in PLACEHOLDER.finditer(body):
        seen.setdefault(match.group(1), None)
    return list(seen)


def check_body(body: str) -> list[str]:
    """The variables of a canned reply's body; a ``ValidationError`` naming what is wrong: an unknown
    variable (with the known ones), or ``{{`` that does not open a placeholder."""
    names = placeholders(body)
    unknown = [name for name in names if name not in VARIABLES]
    if unknown:
        listed = ", ".join("{{" + name + "}}" for name in unknown)
        known = ", ".join("{{" + name + "}}" for name in VARIABLES)
        raise ValidationError(f"unknown variable(s) {listed}; known: {known}")
    stripped = PLACEHOLDER.sub("", body)
    if OPENING.search(stripped) or "}}" in stripped:
        raise ValidationError("'{{' or '}}' outside a placeholder: write variables as {{name}}")
    return names


def fill(body: str, values: Mapping[str, str | None]) -> Filled:
    """The body with each known variable replaced by its value; variables with no value (None, empty or
    blank) stay as ``{{name}}``, listed in ``unfilled``."""
    left: dict[str, None] = {}

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        value = values.get(name)
        if name in VARIABLES and value is not None and value.strip():
            return value.strip()
        left.setdefault(name, None)
        return "{{" + name + "}}"

    return Filled(PLACEHOLDER.sub(replace, body), tuple(left))


def unfilled(text: str) -> list[str]:
    """Known variables still in a text about to be sent (an agent inserted a reply and did not fill it)."""
    return [name for name in placeholders(text) if name in VARIABLES]


def card_ending(bot_texts: list[str]) -> str | None:
    """The last four digits of the card the bot named last (its own words, never the customer's)."""
    for text in reversed(bot_texts):
        found = CARD_ENDING.findall(text)
        if found:
            return str(found[-1])
    return None
