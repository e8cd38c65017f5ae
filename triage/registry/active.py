"""The active pair as the api and the worker read it: one small query, the parsed policy cached by its
digest. Before anything is registered (a database from before the registry, or tests that build the
tables without it) the policy file and no model version are what applies, as before the registry."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.domain.policy import Policy, current_policy, parse_policy
from triage.registry.tables import ModelVersion, PolicyVersion


@dataclass(frozen=True)
class ModelRef:
    """The active model as registered."""

    version: str
    path: str
    weights_digest: str


@lru_cache(maxsize=8)
def _parsed(digest: str, text: str) -> Policy:
    import yaml

    return parse_policy(yaml.safe_load(text), source=f"registered policy {digest[:12]}")


def active_policy(session: Session) -> Policy:
    """The active policy (the file at ``CLEARLINE_POLICY_PATH`` while none is registered)."""
    row = session.execute(
        select(PolicyVersion.digest, PolicyVersion.yaml).where(PolicyVersion.active.is_(True))
    ).first()
    if row is None:
        return current_policy()
    return _parsed(row.digest, row.yaml)


def active_model(session: Session) -> ModelRef | None:
    row = session.execute(
        select(ModelVersion.version, ModelVersion.path, ModelVersion.weights_digest).where(
            ModelVersion.active.is_(True)
        )
    ).first()
    return None if row is None else ModelRef(row.version, row.path, row.weights_digest)


def active_model_version(session: Session) -> str | None:
    """What a decision made without a score of its own (the bot's hand-off) records as its model."""
    ref = active_model(session)
    return None if ref is None else ref.version
