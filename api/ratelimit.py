"""The login rate limiter (slowapi, keyed by client address; storage from CLEARLINE_RATE_LIMIT_STORAGE, read
when the api starts)."""

from __future__ import annotations

from slowapi import Limiter
from slowapi.util import get_remote_address

from api.settings import get_api_settings

limiter = Limiter(
    key_func=get_remote_address,
    storage_uri=get_api_settings().rate_limit_storage,
    in_memory_fallback_enabled=True,  # a storage outage must not switch the limit off
    key_prefix="clearline",
)


def login_limit() -> str:
    return get_api_settings().login_rate_limit
