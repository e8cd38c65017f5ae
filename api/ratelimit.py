"""The rate limiter (slowapi; storage from CLEARLINE_RATE_LIMIT_STORAGE, read when the api starts): login
keyed by client address, typing signals by credential."""

from __future__ import annotations

import hashlib

from slowapi import Limiter
from slowapi.util import get_remote_address
from starlette.requests import Request

from api.chat_identity import CHAT_COOKIE
from api.security import SESSION_COOKIE
from api.settings import get_api_settings

limiter = Limiter(
    key_func=get_remote_address,
    storage_uri=get_api_settings().rate_limit_storage,
    in_memory_fallback_enabled=True,  # a storage outage must not switch the limit off
    key_prefix="clearline",
)


def login_limit() -> str:
    return get_api_settings().login_rate_limit


def typing_limit() -> str:
    return get_api_settings().typing_rate_limit


def credential_key(request: Request) -> str:
    """Who sends a typing signal: the chat cookie, the staff session cookie or bearer token, else the
    address. Per credential rather than per address: customers behind one NAT or proxy share an address,
    and a forged credential is refused before anything is written."""
    for value in (
        request.headers.get("authorization"),
        request.cookies.get(SESSION_COOKIE),
        request.cookies.get(CHAT_COOKIE),
    ):
        if value:
            return "credential:" + hashlib.sha256(value.encode()).hexdigest()
    return get_remote_address(request)
