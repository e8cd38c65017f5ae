"""The triage policy's ``form_failures`` factor: a customer the bot's form keeps failing.

Inside a provider form (the identity check: e-mail, then a card's last four digits; a transfer or refund
reference) the bot offers a person after the customer's second failed attempt (bot/actions/
form_listening.py). It marks its messages there structurally, ``{"clearline": {"form_help":
{"failed_attempts": N, ...}}}`` in the bot event's metadata (``triage.rasa.events.form_help``); the worker
weighs N at that moment, with the customer's latest message: a stuck customer who is also stressed reaches
the escalation bar sooner, a calm one who mistyped twice does not (the bot's offer is there for them).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

FACTOR = "form_failures"


class FormFailuresFactor(BaseModel):
    """``points`` once the customer has failed ``min_count`` attempts in a form (a fixed amount: the bot
    offered a person at that point; more failures do not make the customer more urgent on their own)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_count: int = Field(ge=1)
    points: float = Field(ge=0)

    def applies(self, failed_attempts: int) -> bool:
        return failed_attempts >= self.min_count
