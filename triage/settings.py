"""Settings shared by Clearline's Python 3.11 processes (api, worker, CLI), read from the environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from triage.rabbitmq_topology import DEFAULT_PARTITIONS

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_DIR = ROOT / "data" / "runtime"
DEMO_SECRET = "demo-only-secret-change-me"  # noqa: S105 - refused outside demo mode below


class CoreSettings(BaseSettings):
    """Every variable is ``CLEARLINE_<NAME>``; a ``.env`` file in the working directory is read too."""

    model_config = SettingsConfigDict(env_prefix="CLEARLINE_", env_file=".env", extra="ignore")

    # Clearline's own database (triage and api tables). SQLite by default, PostgreSQL by URL.
    database_url: str = f"sqlite:///{RUNTIME_DIR / 'clearline.db'}"
    # Rasa's SQL event broker database (table ``events``), read by the worker.
    events_url: str = f"sqlite:///{RUNTIME_DIR / 'rasa_events.db'}"
    # Rasa's SQL tracker store (table ``events``), the same default as bot/serve.py; Clearline reads it only
    # to export and erase a customer's data and to apply retention (triage/privacy)
    rasa_tracker_url: str = f"sqlite:///{RUNTIME_DIR / 'rasa_tracker.db'}"
    # conversations idle for longer are purged from every store (`clearline purge`, and the worker once
    # an hour); unset keeps everything: deleting by default on an upgrade would lose data nobody chose to
    retention_days: int | None = Field(default=None, ge=1)
    # an erasure sweeps the stores again after this many seconds: a turn Rasa was in the middle of when
    # the rows went saves its whole tracker again (see docs/privacy.md)
    erase_settle_s: float = Field(default=2.0, ge=0, le=60)
    # RabbitMQ, when Rasa publishes there (CLEARLINE_EVENT_BROKER=rabbitmq for bot/serve.py): the URL names
    # the vhost (%2F is "/"); the partitions are how many queues `clearline broker setup` declares
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/%2F"
    rabbitmq_partitions: int = Field(default=DEFAULT_PARTITIONS, ge=1)
    rasa_url: str = "http://127.0.0.1:5005"
    # where each alert is also posted (Slack-compatible incoming webhooks; JSON list:
    # CLEARLINE_ALERT_WEBHOOK_URLS='["https://hooks.slack.com/services/..."]'), through the outbox
    alert_webhook_urls: list[str] = Field(default_factory=list)
    # the dashboard's address as people open it, for the link in a webhook's message (none: no link)
    public_url: str | None = None
    rasa_token: str = DEMO_SECRET  # Rasa HTTP API token (rasa run --auth-token)
    triage_token: str = DEMO_SECRET  # bearer token the action server uses for the hand-off endpoint
    secret_key: str = DEMO_SECRET  # session cookies / CSRF
    # seals personal values kept for a while (an agent's reply in the outbox; the bot's e-mail slot in Rasa's
    # stores, where Rasa and the action server read the same variable): triage/sealing.py
    pii_key: str = DEMO_SECRET
    policy_path: Path = ROOT / "triage" / "policy.yaml"
    demo: bool = True  # demo users and demo data; default secrets are accepted only here
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    worker_port: int = 8001  # worker's /healthz, /readyz and /metrics
    # torch threads for the worker's model: 1 by default, because on a small shared machine two
    # spinning threads per process run several times slower than one (measured: scoring 8 texts
    # 1.8 s with 2 threads vs 0.08 s with 1 while other processes used the CPU)
    worker_threads: int = 1
    # where the worker reads Rasa's events: "sql", Rasa's SQL event broker table at events_url (the
    # embedded default), or "rabbitmq", the partition queues at rabbitmq_url (worker/rabbitmq_source.py)
    event_source: Literal["sql", "rabbitmq"] = "sql"
    # model monitoring (triage/domain/drift.py, triage/domain/bias.py; docs/model-monitoring.md): a day
    # alerts when its stress PSI reaches drift_stress_psi with a KS p-value under drift_ks_alpha, or its
    # label PSI reaches drift_label_psi, with at least drift_min_messages scored; the worker's leader
    # checks every drift_check_interval_s seconds
    drift_stress_psi: float = Field(default=0.25, gt=0)
    drift_label_psi: float = Field(default=0.25, gt=0)
    drift_ks_alpha: float = Field(default=0.01, gt=0, lt=1)
    drift_min_messages: int = Field(default=50, ge=1)
    drift_check_interval_s: float = Field(default=3600.0, ge=1)
    # bias audit: a segment is reported when its rate differs from the overall rate by more than this
    # ratio (either way) and it has at least bias_min_segment items
    bias_ratio: float = Field(default=1.25, gt=1)
    bias_min_segment: int = Field(default=30, ge=1)

    @model_validator(mode="after")
    def _refuse_default_secrets(self) -> CoreSettings:
        if not self.demo:
            for name in ("rasa_token", "triage_token", "secret_key", "pii_key"):
                if getattr(self, name) == DEMO_SECRET:
                    raise ValueError(f"CLEARLINE_{name.upper()} must be set when CLEARLINE_DEMO is false")
        return self


@lru_cache
def get_settings() -> CoreSettings:
    return CoreSettings()
