"""Action-server settings, read from the environment at call time (so tests and deployments can set them)."""

import os
from dataclasses import dataclass
from pathlib import Path

from actions.sealing import demo_mode

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PROVIDER_DB_URL = f"sqlite:///{REPO_ROOT / 'data' / 'runtime' / 'provider.db'}"
DEMO_TOKEN = "demo-only-secret-change-me"  # noqa: S105 - the same demo default as Clearline's settings
# Channels whose sender id the platform vouches for (Slack signs its requests, Telegram's webhook is secret).
# The web widget's socket.io session id and the REST sender are chosen by the client: anyone could claim
# another customer's id there, so they identify nobody outside demo mode.
DEFAULT_IDENTITY_CHANNELS = frozenset({"telegram", "slack"})


@dataclass(frozen=True)
class ActionSettings:
    provider_db_url: str
    api_url: str
    triage_token: str
    handoff_timeout_s: float
    identity_channels: frozenset[str] | None  # None: every channel, also an unknown one (demo mode)


def _identity_channels() -> frozenset[str] | None:
    configured = os.environ.get("CLEARLINE_IDENTITY_CHANNELS")
    if configured is not None:
        return frozenset(name.strip() for name in configured.split(",") if name.strip())
    demo = demo_mode(os.environ)
    return None if demo else DEFAULT_IDENTITY_CHANNELS


def get_settings() -> ActionSettings:
    return ActionSettings(
        provider_db_url=os.environ.get("CLEARLINE_PROVIDER_DB_URL", DEFAULT_PROVIDER_DB_URL),
        api_url=os.environ.get("CLEARLINE_API_URL", "http://127.0.0.1:8000").rstrip("/"),
        triage_token=os.environ.get("CLEARLINE_TRIAGE_TOKEN", DEMO_TOKEN),
        handoff_timeout_s=float(os.environ.get("CLEARLINE_HANDOFF_TIMEOUT_S", "5")),
        identity_channels=_identity_channels(),
    )
