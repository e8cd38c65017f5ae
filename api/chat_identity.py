"""Which conversation a customer's browser holds: a signed, HttpOnly cookie naming the chat's session id.

The web chat used to keep its Rasa session id in localStorage, where the page could lose track of the
hand-off (a reload said "chatting with our team" while the customer still waited). Now the api issues
the id with the page, signed with the app's key under a salt of its own, and the same cookie lets the
page read back that one conversation's transcript and state (api/routes/chat.py): a customer reads only
the conversation their browser holds, and a forged or foreign id reads nothing.
"""

from __future__ import annotations

import re
import uuid

from fastapi import Request, Response
from itsdangerous import BadSignature, URLSafeTimedSerializer

CHAT_COOKIE = "clearline_chat"
CHAT_MAX_AGE_S = 7 * 24 * 3600  # a week: a customer who comes back the next day finds the conversation
_ID = re.compile(r"[0-9a-f]{32}")  # what new_chat_id makes (Rasa's own session ids look the same)


def new_chat_id() -> str:
    return uuid.uuid4().hex


def _serializer(secret_key: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret_key, salt="clearline-chat")


def signed_chat_id(secret_key: str, chat_id: str) -> str:
    """The cookie's value for ``chat_id``."""
    return _serializer(secret_key).dumps(chat_id)


def read_chat_id(request: Request) -> str | None:
    """The chat id this browser holds, or None (no cookie, a bad signature, expired, not an id of ours)."""
    value = request.cookies.get(CHAT_COOKIE)
    if not value:
        return None
    try:
        chat_id = _serializer(request.app.state.core_settings.secret_key).loads(value, max_age=CHAT_MAX_AGE_S)
    except BadSignature:  # also an expired one
        return None
    return chat_id if isinstance(chat_id, str) and _ID.fullmatch(chat_id) else None


def hold_chat_id(request: Request, response: Response, chat_id: str) -> None:
    """Give this browser ``chat_id`` (again: each page view renews the week)."""
    settings, core = request.app.state.api_settings, request.app.state.core_settings
    secure = settings.secure_cookies(core.demo)
    response.set_cookie(
        CHAT_COOKIE,
        signed_chat_id(core.secret_key, chat_id),
        max_age=CHAT_MAX_AGE_S,
        httponly=True,
        secure=secure,
        # lax: a customer who follows a link to /chat from the bank's site or an e-mail brings the cookie
        # (strict would drop it and start them a new chat); /chat/new needs a header no other site can set
        samesite="lax",
        path="/",
    )
