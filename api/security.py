"""Password hashing, signed session cookies and bearer tokens, CSRF tokens.

Session cookies and API tokens are signed payloads (itsdangerous) carrying the id of a server-side
session (``api.sessions``), the user id and a fingerprint of the password hash: logging out revokes the
session, and changing a password or deactivating a user ends all of theirs at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

SESSION_COOKIE = "clearline_session"
CSRF_HEADER = "X-CSRF-Token"

_password_hash = PasswordHash((Argon2Hasher(),))
# Verified against when the username is unknown, so both cases cost the same time.
_DUMMY_HASH = _password_hash.hash("clearline-timing-equaliser")


def hash_password(password: str) -> str:
    return _password_hash.hash(password)


def verify_password(password: str, password_hash: str | None) -> bool:
    if password_hash is None:
        _password_hash.verify(password, _DUMMY_HASH)
        return False
    return _password_hash.verify(password, password_hash)


def password_fingerprint(password_hash: str) -> str:
    return hashlib.sha256(password_hash.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class SessionClaims:
    user_id: int
    fingerprint: str
    csrf: str = ""
    session_id: str = ""  # the auth_sessions row; empty in payloads signed before there were any


class Signer:
    """Signs and checks session cookies and bearer tokens with the app's secret key."""

    def __init__(self, secret_key: str) -> None:
        self._session = URLSafeTimedSerializer(secret_key, salt="clearline-session")
        self._token = URLSafeTimedSerializer(secret_key, salt="clearline-api-token")

    def session_cookie(self, session_id: str, user_id: int, password_hash: str) -> tuple[str, str]:
        """Return (cookie value, CSRF token) for the new session ``session_id``."""
        csrf = secrets.token_urlsafe(32)
        fingerprint = password_fingerprint(password_hash)
        value = self._session.dumps({"sid": session_id, "uid": user_id, "fp": fingerprint, "csrf": csrf})
        return value, csrf

    def read_session(self, value: str, max_age_s: int) -> SessionClaims | None:
        return _claims(self._session, value, max_age_s)

    def api_token(self, session_id: str, user_id: int, password_hash: str) -> str:
        fingerprint = password_fingerprint(password_hash)
        return self._token.dumps({"sid": session_id, "uid": user_id, "fp": fingerprint})

    def read_token(self, value: str, max_age_s: int) -> SessionClaims | None:
        return _claims(self._token, value, max_age_s)


def _claims(serializer: URLSafeTimedSerializer, value: str, max_age_s: int) -> SessionClaims | None:
    try:
        data: Any = serializer.loads(value, max_age=max_age_s)
    except BadSignature:  # also covers expired signatures
        return None
    if not isinstance(data, dict) or not isinstance(data.get("uid"), int):
        return None
    return SessionClaims(
        user_id=data["uid"],
        fingerprint=str(data.get("fp", "")),
        csrf=str(data.get("csrf", "")),
        session_id=str(data.get("sid", "")),
    )


def tokens_match(expected: str, given: str | None) -> bool:
    return bool(expected) and given is not None and hmac.compare_digest(expected.encode(), given.encode())
