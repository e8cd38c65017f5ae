"""HTML pages: login, agent console, supervisor dashboard, customer chat (Jinja2, autoescaped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from api.app_csp import CSP_TEMPLATE
from api.chat_identity import hold_chat_id, new_chat_id, read_chat_id
from api.deps import SessionDep, authenticate
from api.schemas import UserOut
from triage.storage.db import SUPERVISING_ROLES, Role

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(
    env=jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,
    )
)


def _page(request: Request, name: str, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context)


def _signed_in(request: Request, session: SessionDep) -> tuple[UserOut, str] | None:
    found = authenticate(request, session)
    if found is None or found[2] != "cookie":
        return None
    user, claims, _ = found
    return UserOut.model_validate(user), claims.csrf


@router.get("/")
def home(request: Request, session: SessionDep) -> Response:
    found = _signed_in(request, session)
    if found is None:
        return RedirectResponse("/login", status_code=303)
    return RedirectResponse("/supervisor" if found[0].role != "agent" else "/console", status_code=303)


MAX_NEXT_CHARS = 2000
MAX_DECODINGS = 4


def local_path(target: str | None) -> str | None:
    """``target`` if it is a path on this site, else None: where the login page may send the browser.

    Judged after percent-decoding until nothing changes (a browser or a proxy may decode once more):
    one leading "/" and no "//" (a host), no backslash (browsers read it as "/"), printable ASCII only
    (browsers drop tabs and newlines from a URL, so "/%09/evil.com" is "//evil.com"), no scheme; these
    rules hold for the path, and the query after "?" may be any text without control characters.
    """
    if not target or len(target) > MAX_NEXT_CHARS:
        return None
    decoded = target
    for _ in range(MAX_DECODINGS):
        once = unquote(decoded)
        if once == decoded:
            break
        decoded = once
    else:
        return None  # still encoded after that many rounds: nobody's real page
    # the query may hold any text (a dashboard's search: spaces, other scripts, even "//"): only the path
    # decides where the browser goes; control characters are refused in both
    path, _, query = decoded.partition("?")
    if not path.startswith("/") or "//" in path or "\\" in path:
        return None
    if not all("!" <= char <= "~" for char in path) or any(char < " " or char == "\x7f" for char in query):
        return None
    parts = urlsplit(decoded)
    return target if not parts.scheme and not parts.netloc else None


@router.get("/login")
def login_page(request: Request) -> HTMLResponse:
    # login.js goes where data-next says after signing in: only a path on this site ever gets there
    next_path = local_path(request.query_params.get("next"))
    return _page(request, "login.html", title="Sign in", next_path=next_path)


@router.get("/console")
def console(request: Request, session: SessionDep) -> Response:
    found = _signed_in(request, session)
    if found is None:
        return RedirectResponse("/login?next=/console", status_code=303)
    user, csrf = found
    return _page(request, "console.html", title="Agent console", user=user, csrf=csrf)


def _staff_page(
    request: Request, session: SessionDep, template: str, title: str, *, admins: bool
) -> Response:
    """A page for supervisors and admins (``admins``: admins only); others go where they belong."""
    found = _signed_in(request, session)
    if found is None:
        # with its query: a shared view (the dashboard's filters are in the address) opens after signing in
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(here, safe='/')}", status_code=303)
    user, csrf = found
    if admins and user.role != Role.ADMIN:
        return RedirectResponse("/", status_code=303)
    if user.role not in SUPERVISING_ROLES:
        return RedirectResponse("/console", status_code=303)
    return _page(request, template, title=title, user=user, csrf=csrf)


@router.get("/supervisor")
def supervisor(request: Request, session: SessionDep) -> Response:
    return _staff_page(request, session, "supervisor.html", "Supervisor", admins=False)


@router.get("/supervisor/replay")
def replay(request: Request, session: SessionDep) -> Response:
    """Replay and promote: a registered candidate's what-if report; admins promote or roll back from it."""
    return _staff_page(request, session, "replay.html", "Replay and promote", admins=False)


@router.get("/admin/privacy")
def privacy(request: Request, session: SessionDep) -> Response:
    """A customer's data for admins: export it, or erase it with a reason (the customers routes)."""
    return _staff_page(request, session, "privacy.html", "Customer data", admins=True)


@router.get("/admin/users")
def users_admin(request: Request, session: SessionDep) -> Response:
    """Staff accounts for admins: add, edit, deactivate, reset a password (the users routes)."""
    return _staff_page(request, session, "users.html", "Users", admins=True)


@router.get("/chat")
def chat(request: Request) -> HTMLResponse:
    settings = request.app.state.api_settings
    rasa_url = (settings.rasa_public_url or request.app.state.core_settings.rasa_url).rstrip("/")
    chat_id = read_chat_id(request) or new_chat_id()  # the conversation this browser holds, or a new one
    response = _page(request, "chat.html", title="Chat with us", rasa_url=rasa_url, chat_id=chat_id)
    hold_chat_id(request, response, chat_id)
    parts = urlsplit(rasa_url)
    ws_scheme = "wss" if parts.scheme == "https" else "ws"
    rasa_origins = f"{parts.scheme}://{parts.netloc} {ws_scheme}://{parts.netloc}"
    response.headers["Content-Security-Policy"] = CSP_TEMPLATE.format(connect=f"'self' {rasa_origins}")
    return response
