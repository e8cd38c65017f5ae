"""Settings of the api process only (cookie flags, limits); shared ones live in ``triage.settings``."""

from __future__ import annotations

from functools import lru_cache

from pydantic_settings import BaseSettings, SettingsConfigDict

from triage.settings import RUNTIME_DIR

# Channels whose sender id the platform vouches for: the action server's default (bot/actions/settings.py)
DEFAULT_IDENTITY_CHANNELS = frozenset({"telegram", "slack"})


class ApiSettings(BaseSettings):
    """Every variable is ``CLEARLINE_<NAME>``, like the core settings."""

    model_config = SettingsConfigDict(env_prefix="CLEARLINE_", env_file=".env", extra="ignore")

    # None: Secure cookies unless demo mode (the demo runs on plain http://127.0.0.1).
    cookie_secure: bool | None = None
    session_max_age_s: int = 12 * 3600
    token_max_age_s: int = 8 * 3600
    login_rate_limit: str = "10/minute"
    # typing signals per minute, per route, per browser chat or staff sign-in (the pages send at most one
    # every 2.5 s while someone types: 24 a minute)
    typing_rate_limit: str = "40/minute"
    # Where login attempts are counted: memory:// counts per api process; redis://host:port/db shares the
    # count between processes. If that storage is down, each process counts in memory meanwhile.
    rate_limit_storage: str = "memory://"
    live_poll_interval_s: float = 0.5
    # Where the customer page's socket.io client connects (Rasa's socketio channel); default: rasa_url.
    rasa_public_url: str | None = None
    # The card provider's records, read for the agent's customer panel (api/provider.py): the same variable
    # and default as the action server's; empty: not configured (the panel says the provider is unavailable)
    provider_db_url: str = f"sqlite:///{RUNTIME_DIR / 'provider.db'}"
    # The channels whose sender id identifies a customer, as the action server reads the same variable
    # (comma-separated); unset: Telegram and Slack, or every channel in demo mode
    identity_channels: str | None = None

    def secure_cookies(self, demo: bool) -> bool:
        """Whether cookies carry the Secure flag: as configured, else everywhere but the demo."""
        return self.cookie_secure if self.cookie_secure is not None else not demo

    def vouched_channels(self, demo: bool) -> frozenset[str] | None:
        """The channels whose sender id the bot trusts to name a customer; None: every channel (demo)."""
        if self.identity_channels is not None:
            return frozenset(name.strip() for name in self.identity_channels.split(",") if name.strip())
        return None if demo else DEFAULT_IDENTITY_CHANNELS


@lru_cache
def get_api_settings() -> ApiSettings:
    return ApiSettings()
