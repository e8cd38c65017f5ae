"""Action-server settings, read from the environment at call time (so tests and deployments can set them)."""

import os
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PROVIDER_DB_URL = f"sqlite:///{REPO_ROOT / 'data' / 'runtime' / 'provider.db'}"
DEMO_TOKEN = "demo-only-secret-change-me"  # noqa: S105 - the same demo default as Clearline's settings


@dataclass(frozen=True)
class ActionSettings:
    provider_db_url: str
    api_url: str
    triage_token: str
    handoff_timeout_s: float


def get_settings() -> ActionSettings:
    return ActionSettings(
        provider_db_url=os.environ.get("CLEARLINE_PROVIDER_DB_URL", DEFAULT_PROVIDER_DB_URL),
        api_url=os.environ.get("CLEARLINE_API_URL", "http://127.0.0.1:8000").rstrip("/"),
        triage_token=os.environ.get("CLEARLINE_TRIAGE_TOKEN", DEMO_TOKEN),
        handoff_timeout_s=float(os.environ.get("CLEARLINE_HANDOFF_TIMEOUT_S", "5")),
    )
