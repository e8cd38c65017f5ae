"""Sealed slot values: personal values the bot needs again in a later turn (the e-mail address the identity
check matches), kept in Rasa's stores only encrypted.

Rasa rebuilds a conversation from its tracker store on every message, so a value the next turn needs must be
stored; bot/privacy_store.py seals it on its way into the store and the event broker, and the action server
opens it here when it reads the slot. The key comes from CLEARLINE_PII_KEY (demo mode alone falls back to
the demo secret), so a copy of Rasa's database alone does not reveal the address. Fernet (the cryptography
package, already in Rasa's environment) authenticates as well as encrypts: a tampered value opens to nothing.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from cryptography.fernet import Fernet, InvalidToken

PREFIX = "sealed:v1:"
DEMO_SECRET = "demo-only-secret-change-me"  # noqa: S105 - the same demo default as Clearline's settings
# Slots whose value is personal and needed across turns: sealed, never redacted (the bot still needs them).
SEALED_SLOTS = frozenset({"customer_email"})


class SealingKeyMissing(RuntimeError):
    """CLEARLINE_PII_KEY is unset outside demo mode."""


def pii_secret(environ: Mapping[str, str]) -> str:
    secret = environ.get("CLEARLINE_PII_KEY", "").strip()
    demo = environ.get("CLEARLINE_DEMO", "true").lower() not in ("0", "false", "no")
    if not secret:
        if not demo:
            raise SealingKeyMissing("set CLEARLINE_PII_KEY: sealed slot values need a key outside demo mode")
        secret = DEMO_SECRET
    return secret


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    # Fernet wants 32 random-looking bytes: derive them from any secret string
    digest = hashlib.sha256(b"clearline-sealed-slots-v1:" + secret.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def is_sealed(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def seal(value: Any, environ: Mapping[str, str] = os.environ) -> Any:
    """The value encrypted, as a string; None and values already sealed as they are."""
    if value is None or is_sealed(value):
        return value
    token = _fernet(pii_secret(environ)).encrypt(str(value).encode("utf-8"))
    return PREFIX + token.decode("ascii")


def unseal(value: Any, environ: Mapping[str, str] = os.environ) -> Any:
    """The plain value of a sealed one; a value that is not sealed as it is; a sealed value that does not
    open (another key, tampered) as None, so the bot asks again instead of matching garbage."""
    if not is_sealed(value):
        return value
    try:
        return _fernet(pii_secret(environ)).decrypt(value[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError, UnicodeError):
        return None


def slot(tracker: Any, name: str) -> Any:
    """``tracker.get_slot(name)``, opened when it is sealed."""
    return unseal(tracker.get_slot(name))
