"""Sealed values: personal data that must be kept for a while in a form that can be opened again, stored
encrypted instead of raw.

Two stores need this: Rasa's tracker store (the e-mail slot the identity check reads again next turn,
bot/actions/sealing.py) and Clearline's outbox (an agent's reply, from the moment it is written until Rasa
has taken it to the customer). Both use the key CLEARLINE_PII_KEY; demo mode alone falls back to the demo
secret. Fernet (the cryptography package) authenticates as well as encrypts: a value sealed under another
key, or tampered with, does not open.

Python 3.10 and standard library + cryptography only: Rasa's environment loads this very file by path.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken

PREFIX = "sealed:v1:"
DEMO_SECRET = "demo-only-secret-change-me"  # noqa: S105 - the same demo default as Clearline's settings


class SealingKeyMissing(RuntimeError):
    """CLEARLINE_PII_KEY is unset outside demo mode."""


class SealedValueUnreadable(ValueError):
    """A sealed value that does not open with this key (another key, or tampered with)."""


# pydantic's true values (Clearline's settings read CLEARLINE_DEMO with pydantic): anything else is not demo
# mode here, so a process outside pydantic never takes "off" or a typo for demo mode and its demo secret
DEMO_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})


def demo_mode(environ: Mapping[str, str]) -> bool:
    return environ.get("CLEARLINE_DEMO", "true").strip().lower() in DEMO_TRUE


def pii_secret(environ: Mapping[str, str]) -> str:
    """The sealing secret from an environment: CLEARLINE_PII_KEY, or the demo secret in demo mode."""
    secret = environ.get("CLEARLINE_PII_KEY", "").strip()
    demo = demo_mode(environ)
    if not secret:
        if not demo:
            raise SealingKeyMissing("set CLEARLINE_PII_KEY: sealed values need a key outside demo mode")
        secret = DEMO_SECRET
    return secret


@lru_cache(maxsize=4)
def _fernet(secret: str) -> Fernet:
    # Fernet wants 32 random-looking bytes: derive them from any secret string
    digest = hashlib.sha256(b"clearline-sealed-v1:" + secret.encode("utf-8")).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def is_sealed(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def seal(value: str, secret: str) -> str:
    """The text encrypted (always: a text that happens to start with ``PREFIX`` is sealed too)."""
    return PREFIX + _fernet(secret).encrypt(value.encode("utf-8")).decode("ascii")


def unseal(value: str, secret: str) -> str:
    """The plain text of a sealed value; a value that is not sealed is returned as it is."""
    if not is_sealed(value):
        return value
    try:
        return _fernet(secret).decrypt(value[len(PREFIX) :].encode("ascii")).decode("utf-8")
    except (InvalidToken, ValueError, UnicodeError) as exc:
        raise SealedValueUnreadable("a sealed value does not open with this key") from exc


CUSTOMER_REF_PREFIX = "cref:v1:"


def customer_ref(provider_customer_id: int | str, secret: str) -> str:
    """A keyed hash of the provider's customer id: the same customer always gets the same reference, so
    Clearline can list their earlier conversations, but nobody without the key learns who it is or can
    test a guessed id. Another key gives other references (rotating it unlinks old conversations)."""
    mac = hmac.new(
        b"clearline-customer-ref-v1:" + secret.encode("utf-8"),
        str(provider_customer_id).encode("utf-8"),
        hashlib.sha256,
    )
    return CUSTOMER_REF_PREFIX + mac.hexdigest()[:40]
