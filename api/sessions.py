"""Server-side sign-in sessions: one ``auth_sessions`` row per session cookie or bearer token.

The row's id travels inside the signed cookie or token. Every request looks it up (one primary-key
lookup, joined to its user), so a revoked session is refused everywhere at once, whoever holds a copy.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Literal

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from api.security import SessionClaims, password_fingerprint
from triage.storage.conversations import as_utc
from triage.storage.db import AuthSession, User, utcnow

Via = Literal["cookie", "bearer"]


def open_session(session: Session, user: User, kind: Via, max_age_s: int) -> AuthSession:
    """A new session for ``user`` (the caller commits); sessions past their expiry are deleted."""
    now = utcnow()
    session.execute(delete(AuthSession).where(AuthSession.expires_at < now))
    row = AuthSession(
        id=secrets.token_urlsafe(32),
        user_id=user.id,
        kind=kind,
        created_at=now,
        expires_at=now + timedelta(seconds=max_age_s),
    )
    session.add(row)
    session.flush()
    return row


def signed_in_user(session: Session, claims: SessionClaims, kind: Via) -> User | None:
    """The user of a live session: not revoked or expired, the user active, the password unchanged."""
    if not claims.session_id:
        return None  # signed before sessions were stored
    found = session.execute(
        select(User, AuthSession)
        .join(AuthSession, AuthSession.user_id == User.id)
        .where(AuthSession.id == claims.session_id)
    ).first()
    if found is None:
        return None
    user, row = found
    live = row.revoked_at is None and as_utc(row.expires_at) > utcnow()
    if not live or row.kind != kind or user.id != claims.user_id or not user.is_active:
        return None
    return user if claims.fingerprint == password_fingerprint(user.password_hash) else None


def revoke(session: Session, session_id: str) -> None:
    """End one session (the caller commits)."""
    session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
