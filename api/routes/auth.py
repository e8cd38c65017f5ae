"""Login and logout: a session cookie for the pages, bearer tokens for REST clients."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request, Response, status
from sqlalchemy import select

from api.deps import ApiSettingsDep, CoreSettingsDep, CurrentUser, SessionDep
from api.ratelimit import limiter, login_limit
from api.schemas import LoginIn, SessionOut, TokenOut, UserOut
from api.security import SESSION_COOKIE, Signer, verify_password
from api.sessions import open_session, revoke
from triage.storage.db import User

router = APIRouter(prefix="/auth", tags=["auth"])


def _check_credentials(session: SessionDep, body: LoginIn) -> User:
    user = session.scalars(select(User).where(User.username == body.username)).first()
    ok = verify_password(body.password, user.password_hash if user else None)
    if user is None or not ok or not user.is_active:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    return user


@router.post("/login", response_model=SessionOut)
@limiter.limit(login_limit)
def login(
    request: Request,
    response: Response,
    body: LoginIn,
    session: SessionDep,
    core: CoreSettingsDep,
    settings: ApiSettingsDep,
) -> SessionOut:
    """Log in with username and password; sets the HttpOnly session cookie and returns the CSRF token."""
    user = _check_credentials(session, body)
    signer: Signer = request.app.state.signer
    signed_in = open_session(session, user, "cookie", settings.session_max_age_s)
    value, csrf = signer.session_cookie(signed_in.id, user.id, user.password_hash)
    session.commit()
    secure = settings.secure_cookies(core.demo)
    response.set_cookie(
        SESSION_COOKIE,
        value,
        max_age=settings.session_max_age_s,
        httponly=True,
        secure=secure,
        samesite="strict",
        path="/",
    )
    return SessionOut(user=UserOut.model_validate(user), csrf_token=csrf)


@router.post("/token", response_model=TokenOut)
@limiter.limit(login_limit)
def issue_token(request: Request, body: LoginIn, session: SessionDep, settings: ApiSettingsDep) -> TokenOut:
    """Exchange username and password for a bearer token (for REST clients; no CSRF token needed)."""
    user = _check_credentials(session, body)
    signer: Signer = request.app.state.signer
    signed_in = open_session(session, user, "bearer", settings.token_max_age_s)
    token = signer.api_token(signed_in.id, user.id, user.password_hash)
    session.commit()
    return TokenOut(access_token=token, expires_in=settings.token_max_age_s)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(_user: CurrentUser, request: Request, response: Response, session: SessionDep) -> None:
    """End this session on the server: the cookie, or the bearer token sent, no longer signs anyone in."""
    revoke(session, request.state.auth_session_id)
    session.commit()
    response.delete_cookie(SESSION_COOKIE, path="/")


@router.get("/me", response_model=SessionOut)
def me(user: CurrentUser, request: Request) -> SessionOut:
    """The logged-in user and, for cookie sessions, the CSRF token to send on changes."""
    return SessionOut(user=UserOut.model_validate(user), csrf_token=getattr(request.state, "csrf_token", ""))
