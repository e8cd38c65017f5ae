"""First start: the configured model (``CLEARLINE_MODEL_DIR``) and policy (``CLEARLINE_POLICY_PATH``) are
registered and made active when no version of their kind is active yet, so an install from before the
registry keeps scoring and deciding as it did. Idempotent, and safe when the api and the worker start
at once (the one that commits second finds the rows and does nothing). Afterwards the registry decides:
a configured model or policy that differs from the active one is only reported (logged)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from triage import audit
from triage.registry.artifacts import ModelCandidate, model_candidate
from triage.registry.rules import InvalidCandidate, Kind, VersionConflict, policy_candidate
from triage.registry.store import activate_first, active_row, add_model, add_policy
from triage.storage.db import session_scope

log = structlog.get_logger("triage.registry")
ATTEMPTS = 3
REASON = "the configured {what}, registered on first start"


@functools.lru_cache(maxsize=4)
def _model_at(path: str, _mtime_ns: int) -> ModelCandidate:
    return model_candidate(path)  # reads the weights once per process and file version


def _configured_model(model_dir: Path) -> ModelCandidate:
    weights = sorted(model_dir.glob("*.safetensors")) or sorted(model_dir.glob("*.bin"))
    stamp = max((w.stat().st_mtime_ns for w in weights), default=0)
    return _model_at(str(model_dir), stamp)


def register_configured(factory: sessionmaker[Session], model_dir: Path, policy_path: Path) -> list[str]:
    """Register and activate what is configured where nothing is active; returns what was activated."""
    with factory() as probe:
        if not inspect(probe.get_bind()).has_table("model_versions"):
            log.warning("registry_missing", hint="run `clearline db upgrade`")
            return []
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with session_scope(factory) as session:
                return _register_policy(session, policy_path) + _register_model(session, model_dir)
        except IntegrityError:  # another process registered the same rows first: look again
            if attempt == ATTEMPTS:
                raise
    return []


def _register_policy(session: Session, path: Path) -> list[str]:
    return _register(
        session,
        "policy",
        str(path),
        lambda: policy_candidate(path.read_text(encoding="utf-8"), str(path)),
        add_policy,
    )


def _register_model(session: Session, model_dir: Path) -> list[str]:
    load = functools.partial(_configured_model, model_dir.resolve())
    return _register(session, "model", str(model_dir), load, add_model)


def _register(
    session: Session,
    kind: Kind,
    where: str,
    load: Callable[[], Any],
    add: Callable[..., object],
) -> list[str]:
    active = active_row(session, kind)
    try:
        candidate = load()
    except (OSError, InvalidCandidate) as exc:
        log.error(f"configured_{kind}_unusable", path=where, error=str(exc))
        return []
    if active is not None:
        if active.version != candidate.version:
            log.warning(f"configured_{kind}_not_active", configured=candidate.version, active=active.version)
        return []
    reason = REASON.format(what=kind)
    try:
        add(session, candidate, actor=audit.REGISTRY, reason=reason)
    except VersionConflict as exc:
        log.error(f"configured_{kind}_conflicts", error=str(exc))
        return []
    activate_first(session, kind, candidate.version, actor=audit.REGISTRY, reason=reason)
    log.info("registered_on_first_start", kind=kind, version=candidate.version)
    return [f"{kind} {candidate.version}"]
