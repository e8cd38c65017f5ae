"""The registry's tables: every emotion model and triage policy version, one of each active.

"One of each active" is the database's rule too (a unique index over the active rows), so two
promotions at once cannot leave two active versions: the second one fails and is retried or refused.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Index, String, Text, false
from sqlalchemy import text as sql
from sqlalchemy.orm import Mapped, mapped_column

from triage.storage.db import Base, utcnow


class _Registered:
    """What every registered version has: who added it and why, and whether and since when it is active."""

    added_by: Mapped[str] = mapped_column(String(128))  # a username, or a system actor ("registry")
    reason: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    activated_at: Mapped[datetime | None] = mapped_column()


def _version_indexes(table: str) -> tuple[Index, Index]:
    """Each version once, and at most one active row (a partial unique index), per registry table."""
    return (
        Index(f"ux_{table}_version", "version", unique=True),
        Index(
            f"ux_{table}_active",
            "active",
            unique=True,
            sqlite_where=sql("active"),
            postgresql_where=sql("active"),
        ),
    )


class ModelVersion(_Registered, Base):
    """An emotion model directory as registered: what scores are stamped with (``version``)."""

    __tablename__ = "model_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(128))  # Message.model_version / Escalation.model_version
    path: Mapped[str] = mapped_column(Text)  # the checkpoint directory, absolute
    weights_digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the weight files
    calibration: Mapped[dict[str, Any]] = mapped_column(default=dict)  # clearline.json's "stress"
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)  # clearline.json's "dev_metrics"
    training_data: Mapped[str] = mapped_column(Text, default="")
    previous_version: Mapped[str | None] = mapped_column(String(128))  # what it replaced when activated
    # a candidate scoring live traffic beside the active model, acting on nothing (triage/monitoring/shadow)
    shadow: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    shadow_since: Mapped[datetime | None] = mapped_column()

    __table_args__ = (
        *_version_indexes("model_versions"),
        Index(
            "ux_model_versions_shadow",
            "shadow",
            unique=True,
            sqlite_where=sql("shadow"),
            postgresql_where=sql("shadow"),
        ),
    )


class PolicyVersion(_Registered, Base):
    """A triage policy YAML as registered: its ``version`` field names it."""

    __tablename__ = "policy_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[str] = mapped_column(String(64))  # Escalation.policy_version
    yaml: Mapped[str] = mapped_column(Text)
    digest: Mapped[str] = mapped_column(String(64))  # SHA-256 of the text
    previous_version: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = _version_indexes("policy_versions")


VersionRow = ModelVersion | PolicyVersion
