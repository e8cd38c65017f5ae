"""FastAPI dependencies: the database session, the authenticated user, role checks and CSRF.

A request is authenticated either by the session cookie (browser pages) or by
``Authorization: Bearer <token>`` (REST clients). Cookie-authenticated requests that change state must
carry the session's CSRF token in the ``X-CSRF-Token`` header; bearer requests need none because a
browser never attaches that header on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import HTTPConnection

from api.security import CSRF_HEADER, SESSION_COOKIE, SessionClaims, Signer, tokens_match
from api.sessions import Via, signed_in_user
from api.settings import ApiSettings
from triage.settings import CoreSettings
from triage.storage.db import SUPERVISING_ROLES, Role, User

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; routes that change state commit through ``api.unit_of_work``."""
    factory: sessionmaker[Session] = request.app.state.session_factory
    with factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def get_core_settings(request: Request) -> CoreSettings:
    settings: CoreSettings = request.app.state.core_settings
    return settings


def get_api_settings(request: Request) -> ApiSettings:
    settings: ApiSettings = request.app.state.api_settings
    return settings


CoreSettingsDep = Annotated[CoreSettings, Depends(get_core_settings)]
ApiSettingsDep = Annotated[ApiSettings, Depends(get_api_settings)]


def _bearer(request: HTTPConnection) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def authenticate(request: HTTPConnection, session: Session) -> tuple[User, SessionClaims, Via] | None:
    """Find the user behind a request's bearer token or session cookie (no CSRF check here)."""
    signer: Signer = request.app.state.signer
    settings: ApiSettings = request.app.state.api_settings
    token = _bearer(request)
    via: Via
    if token is not None:
        claims, via = signer.read_token(token, settings.token_max_age_s), "bearer"
    else:
        cookie = request.cookies.get(SESSION_COOKIE)
        claims = signer.read_session(cookie, settings.session_max_age_s) if cookie else None
        via = "cookie"
    if claims is None:
        return None
    user = signed_in_user(session, claims, via)
    return None if user is None else (user, claims, via)


def get_current_user(request: Request, session: SessionDep) -> User:
    found = authenticate(request, session)
    if found is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED, "not authenticated", headers={"WWW-Authenticate": "Bearer"}
        )
    user, claims, via = found
    unsafe = request.method not in SAFE_METHODS
    if via == "cookie" and unsafe and not tokens_match(claims.csrf, request.headers.get(CSRF_HEADER)):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "missing or wrong CSRF token")
    request.state.csrf_token = claims.csrf
    request.state.auth_session_id = claims.session_id  # what logout revokes
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    def check(user: CurrentUser) -> User:
        if user.role not in roles:
            raise HTTPException(status.HTTP_403_FORBIDDEN, f"this needs the role {' or '.join(roles)}")
        return user

    return check


AgentUser = Annotated[User, Depends(require_roles(Role.AGENT))]
SupervisorUser = Annotated[User, Depends(require_roles(*SUPERVISING_ROLES))]
AdminUser = Annotated[User, Depends(require_roles(Role.ADMIN))]
