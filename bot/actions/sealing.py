"""Sealed slots: personal values the bot needs again in a later turn (the e-mail address the identity check
matches), kept in Rasa's stores only encrypted.

Rasa rebuilds a conversation from its tracker store on every message, so a value the next turn needs must be
stored; bot/privacy_store.py seals it on its way into the store and the event broker, and the actions open
it here when they read the slot. Sealing itself is Clearline's triage/sealing.py (key CLEARLINE_PII_KEY).
"""

from __future__ import annotations

import os
from typing import Any

from clearline_files import load

sealing = load("triage/sealing.py")
PREFIX: str = sealing.PREFIX
SealingKeyMissing: type[Exception] = sealing.SealingKeyMissing
pii_secret = sealing.pii_secret
demo_mode = sealing.demo_mode  # CLEARLINE_DEMO read the way Clearline's settings read it
CUSTOMER_REF_SLOT = "customer_ref"
# Slots whose value is personal and needed across turns: sealed, never redacted (the bot still needs them).
SEALED_SLOTS = frozenset({"customer_email"})


def seal(value: Any) -> Any:
    """The value encrypted, as a string; None and values already sealed (a slot carried over into a new
    session, re-saved) as they are."""
    if value is None or sealing.is_sealed(value):
        return value
    return sealing.seal(str(value), pii_secret(os.environ))


def unseal(value: Any) -> Any:
    """The plain value of a sealed one; a value that is not sealed as it is; a sealed value that does not
    open (another key, tampered) as None, so the bot asks again instead of matching garbage."""
    if not isinstance(value, str):
        return value
    try:
        return sealing.unseal(value, pii_secret(os.environ))
    except sealing.SealedValueUnreadable:
        return None


def slot(tracker: Any, name: str) -> Any:
    """``tracker.get_slot(name)``, opened when it is sealed."""
    return unseal(tracker.get_slot(name))


def customer_ref(provider_customer_id: int) -> str | None:
    """The ``customer_ref`` slot's value for a provider customer (a keyed hash: triage/sealing.py); None
    without a key (outside demo mode CLEARLINE_PII_KEY must be set: the conversations are then not linked)."""
    try:
        return sealing.customer_ref(provider_customer_id, pii_secret(os.environ))
    except SealingKeyMissing:
        return None
