"""Forms that listen: what a message inside a provider form is, when it is not the detail the form asked for.

A form asks for one detail at a time (the e-mail address, a card's last four digits, a reference). Before
this, anything else the customer wrote was answered as a wrong detail ("That doesn't look like an email
address"), an angry complaint included. Now the validation action (``actions.validation``) asks
:func:`read_turn` what the message is when it holds no valid detail:

- ``upset``: the customer shows stress the NLU does not read (capitals, ``!!``, angry emoji, profanity,
  threats to leave or to complain, a request for a person in other words: ``triage/domain/signals.py``,
  the same detectors as the triage policy). The bot says it is sorry and offers a person right away.
- ``request``: another question or complaint the NLU placed with confidence (a BANKING77 intent, a
  greeting...). The form's execution is rejected, so Rasa's rules answer that intent
  (``data/rules/banking77.yml``; a flow intent switches to its own form, ``data/rules/forms_listen.yml``),
  and the form asks its question again afterwards.
- ``accept`` / ``decline``: a yes or no to that offer. A yes rejects the form and the rules hand off.
- ``attempt``: a try at the detail that failed. The second failed attempt in a form (and every one after
  it) offers another way: a person.

The bot's messages in a form carry a structural marker in their metadata, ``{"clearline": {"form_help":
{...}}}`` (see :func:`marker`), from which both the bot (how many attempts failed so far, whether an offer
is open) and Clearline's worker (the triage policy's ``form_failures`` factor) read; nobody reads the words.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from clearline_files import ROOT, load

signals = load("triage/domain/signals.py")

MARKER = "clearline"  # the key Clearline's bot messages carry their marks under (triage/rasa/events.py)
FORM_HELP = "form_help"
# the customer's failed attempts at a form's details after which the bot offers a person
OFFER_AFTER_FAILURES = 2
# what an answer to a form's question is read as by the NLU: never a different request
ANSWER_INTENTS = frozenset({"inform", "affirm", "deny", "nlu_fallback"})
# below this confidence an intent is not taken as a different request (a garbled detail often lands on a
# BANKING77 intent with a low score)
REQUEST_CONFIDENCE = 0.5
# the signals that show an upset customer (the request for a person is read as one too: the offer follows)
UPSET_SIGNALS = frozenset(
    {
        signals.SHOUTING,
        signals.PUNCTUATION,
        signals.ANGRY_EMOJI,
        signals.PROFANITY,
        signals.LEAVING,
        signals.REGULATOR,
        signals.PERSON_REQUEST,
    }
)

REQUEST, UPSET, ACCEPT, DECLINE, ATTEMPT = "request", "upset", "accept", "decline", "attempt"


@lru_cache(maxsize=1)
def _profanity() -> Any:
    """The triage policy's profanity list (the bot and the policy count the same words)."""
    path = Path(os.environ.get("CLEARLINE_POLICY_PATH") or ROOT / "triage" / "policy.yaml")
    try:
        words = yaml.safe_load(path.read_text(encoding="utf-8"))["factors"]["signals"]["profanity"]["words"]
    except (OSError, yaml.YAMLError, KeyError, TypeError):
        words = []  # without the policy file the other signals still count
    return signals.WordList.of(words if isinstance(words, list) else [])


def upset_signals(text: str) -> list[str]:
    """The names of the stress signals found in ``text``."""
    return [f.signal for f in signals.detect(text or "", _profanity()) if f.signal in UPSET_SIGNALS]


def _intent(tracker: Any) -> tuple[str | None, float]:
    intent = tracker.latest_message.get("intent") or {}
    confidence = intent.get("confidence")
    return intent.get("name"), float(confidence) if isinstance(confidence, int | float) else 0.0


def read_turn(tracker: Any, form: str) -> str:
    """What the latest message is, given that it holds no valid detail (see the module docstring)."""
    name, confidence = _intent(tracker)
    if offer_open(tracker, form):
        if name == "affirm":
            return ACCEPT
        if name == "deny":
            return DECLINE
    # upset first: an angry message is often placed on some intent, and a person is what helps then
    if upset_signals(tracker.latest_message.get("text") or ""):
        return UPSET
    if name and name not in ANSWER_INTENTS and confidence >= REQUEST_CONFIDENCE:
        return REQUEST
    return ATTEMPT


def marker(form: str, slot: str, failed_attempts: int, *, reason: str, offer: bool) -> dict[str, Any]:
    """The metadata of a bot message in a form: ``dispatcher.utter_message(..., **marker(...))``.

    ``failed_attempts``: the customer's failed attempts in this form so far; ``reason``: why the bot
    speaks (``invalid``, ``mismatch``, ``upset``); ``offer``: whether it offers a person."""
    return {
        MARKER: {
            FORM_HELP: {
                "form": form,
                "slot": slot,
                "failed_attempts": failed_attempts,
                "reason": reason,
                "offer": offer,
            }
        }
    }


def _help_of(event: dict[str, Any], form: str) -> dict[str, Any] | None:
    if event.get("event") != "bot":
        return None
    metadata = event.get("metadata")
    mark = metadata.get(MARKER) if isinstance(metadata, dict) else None
    help_ = mark.get(FORM_HELP) if isinstance(mark, dict) else None
    return help_ if isinstance(help_, dict) and help_.get("form") == form else None


def _this_form(tracker: Any, form: str) -> list[dict[str, Any]]:
    """The events since ``form`` was last activated (or the session began), newest first."""
    out = []
    for event in reversed(tracker.events):
        if event.get("event") == "session_started":
            break
        if event.get("event") == "active_loop" and event.get("name") == form:
            break
        out.append(event)
    return out


def failed_attempts(tracker: Any, form: str) -> int:
    """The customer's failed attempts since the form began, as the bot's own marked messages count them."""
    for event in _this_form(tracker, form):
        help_ = _help_of(event, form)
        if help_ is not None and isinstance(help_.get("failed_attempts"), int):
            return int(help_["failed_attempts"])
    return 0


def offer_open(tracker: Any, form: str) -> bool:
    """Whether the bot offered a person in its answer to the customer's previous message (in this form)."""
    seen_latest_user = False
    for event in _this_form(tracker, form):
        if event.get("event") == "user":
            if seen_latest_user:
                return False
            seen_latest_user = True
            continue
        help_ = _help_of(event, form)
        if seen_latest_user and help_ is not None and help_.get("offer"):
            return True
    return False
