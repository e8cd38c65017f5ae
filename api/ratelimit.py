"""The login rate limiter (slowapi, in-memory per api process; keyed by client address)."""

from __future__ import annotations

from slowapi import Limiter
from slowapi.util import get_remote_address

from api.settings import get_api_settings

limiter = Limiter(key_func=get_remote_address)


def login_limit() -> str:
    return get_api_settings().login_rate_limit
