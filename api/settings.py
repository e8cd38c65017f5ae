"""Settings of the api process only (cookie flags, limits); shared ones live in ``triage.settings``."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict


class ApiSettings(BaseSettings):
    """Every variable is ``CLEARLINE_<NAME>``, like the core settings."""

    model_config = SettingsConfigDict(env_prefix="CLEARLINE_", env_file=".env", extra="ignore")

    # None: Secure cookies unless demo mode (the demo runs on plain http://127.0.0.1).
    cookie_secure: bool | None = None
    session_max_age_s: int = 12 * 3600
    token_max_age_s: int = 8 * 3600
    login_rate_limit: str = "10/minute"
    # Where login attempts are counted: memory:// counts per api process; redis://host:port/db shares the
    # count between processes. If that storage is down, each process counts in memory meanwhile.
    rate_limit_storage: str = "memory://"
    live_poll_interval_s: float = 0.5
    # Where the customer page's socket.io client connects (Rasa's socketio channel); default: rasa_url.
    rasa_public_url: str | None = None

    def secure_cookies(self, demo: bool) -> bool:
        """Whether cookies carry the Secure flag: as configured, else everywhere but the demo."""
        return self.cookie_secure if self.cookie_secure is not None else not demo


@lru_cache
def get_api_settings() -> ApiSettings:
    return ApiSettings()
