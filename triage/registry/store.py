"""Registering, promoting and rolling back model and policy versions in a session (never committed
here: the caller's unit of work commits the rows and their audit records together)."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage import audit
from triage.audit import Actor
from triage.registry.artifacts import ModelCandidate, content_digest
from triage.registry.rules import (
    ActiveCannotShadow,
    Kind,
    NotAnAdmin,
    PolicyCandidate,
    Switch,
    UnknownVersion,
    VersionState,
    check_reason,
    check_same_content,
    plan_promote,
    plan_rollback,
)
from triage.registry.tables import ModelVersion, PolicyVersion, VersionRow
from triage.services.locking import hold_write_lock
from triage.storage.db import Role, User, utcnow

TABLES: dict[Kind, type[ModelVersion] | type[PolicyVersion]] = {
    "model": ModelVersion,
    "policy": PolicyVersion,
}


def admin_actor(session: Session, username: str) -> Actor:
    """The actor for an active admin named ``username`` (the CLI's ``--by``)."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.is_active or user.role != Role.ADMIN:
        raise NotAnAdmin(
            f"{username!r} is not an active admin: only an admin registers, promotes or rolls back"
        )
    return Actor.of(user)


def list_versions(session: Session, kind: Kind) -> list[VersionRow]:
    table = TABLES[kind]
    return cast(list[VersionRow], list(session.scalars(select(table).order_by(table.id))))


def get_version(session: Session, kind: Kind, version: str) -> VersionRow:
    table = TABLES[kind]
    row = cast(VersionRow | None, session.scalars(select(table).where(table.version == version)).first())
    if row is None:
        raise UnknownVersion(f"no {kind} version {version!r} is registered")
    return row


def active_row(session: Session, kind: Kind) -> VersionRow | None:
    table = TABLES[kind]
    return cast(VersionRow | None, session.scalars(select(table).where(table.active.is_(True))).first())


def _states(session: Session, kind: Kind) -> dict[str, VersionState]:
    table = TABLES[kind]
    rows = session.execute(select(table.version, table.active, table.previous_version))
    return {r.version: VersionState(r.version, bool(r.active), r.previous_version) for r in rows}


def add_model(
    session: Session, candidate: ModelCandidate, *, actor: Actor, reason: str
) -> tuple[ModelVersion, bool]:
    """Register a model directory; the same version with the same weights and calibration again is a
    no-op (False), with others a ``VersionConflict``."""
    reason = check_reason(reason)
    existing = session.scalars(select(ModelVersion).where(ModelVersion.version == candidate.version)).first()
    if existing is not None:
        before = content_digest(existing.weights_digest, existing.calibration)
        check_same_content(
            "model",
            candidate.version,
            before,
            content_digest(candidate.weights_digest, candidate.calibration),
        )
        return existing, False
    row = ModelVersion(
        version=candidate.version,
        path=candidate.path,
        weights_digest=candidate.weights_digest,
        calibration=candidate.calibration,
        metrics=candidate.metrics,
        training_data=candidate.training_data,
        added_by=actor.name,
        reason=reason,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    _audit_add(
        session,
        "model",
        actor,
        candidate.version,
        reason,
        {"path": candidate.path, "weights_digest": candidate.weights_digest},
    )
    return row, True


def add_policy(
    session: Session, candidate: PolicyCandidate, *, actor: Actor, reason: str
) -> tuple[PolicyVersion, bool]:
    """Register a policy text that parsed and validated; the same version with the same text again is a
    no-op (False), with another text a ``VersionConflict``."""
    reason = check_reason(reason)
    existing = session.scalars(
        select(PolicyVersion).where(PolicyVersion.version == candidate.version)
    ).first()
    if existing is not None:
        check_same_content("policy", candidate.version, existing.digest, candidate.digest)
        return existing, False
    row = PolicyVersion(
        version=candidate.version,
        yaml=candidate.text,
        digest=candidate.digest,
        added_by=actor.name,
        reason=reason,
        created_at=utcnow(),
    )
    session.add(row)
    session.flush()
    _audit_add(session, "policy", actor, candidate.version, reason, {"digest": candidate.digest})
    return row, True


def _audit_add(
    session: Session, kind: Kind, actor: Actor, version: str, reason: str, facts: dict[str, Any]
) -> None:
    audit.record(
        session,
        actor,
        f"{kind}_add",
        inputs={"reason": reason, **facts},
        outcome={"version": version},
        versions={kind: version},
    )


def promote(session: Session, kind: Kind, version: str, *, actor: Actor, reason: str) -> Switch:
    """Make ``version`` the active one of its kind (audited with the reason)."""
    reason = check_reason(reason)
    hold_write_lock(session)  # SQLite: read the active version and change it in one write transaction
    return _apply(session, plan_promote(kind, _states(session, kind), version), actor, reason)


def rollback(session: Session, kind: Kind, *, actor: Actor, reason: str) -> Switch:
    """Go back to the version the active one replaced (audited with the reason)."""
    reason = check_reason(reason)
    hold_write_lock(session)
    return _apply(session, plan_rollback(kind, _states(session, kind)), actor, reason)


def _apply(session: Session, switch: Switch, actor: Actor, reason: str) -> Switch:
    table = TABLES[switch.kind]
    wanted = [v for v in (switch.before, switch.after) if v]
    found = cast(
        list[VersionRow], session.scalars(select(table).where(table.version.in_(wanted)).with_for_update())
    )
    rows = {r.version: r for r in found}
    if switch.before is not None:
        rows[switch.before].active = False
        session.flush()  # the unique index over active rows holds at every statement
    target = rows[switch.after]
    target.active, target.activated_at, target.previous_version = True, utcnow(), switch.before
    if isinstance(target, ModelVersion) and target.shadow:  # promoted from the shadow: it scores for real
        target.shadow, target.shadow_since = False, None
    session.flush()
    audit.record(
        session,
        actor,
        f"{switch.kind}_{switch.action}",
        inputs={"previous_version": switch.before, "reason": reason},
        outcome={"version": switch.after},
        versions={switch.kind: switch.after},
    )
    return switch


def activate_first(session: Session, kind: Kind, version: str, *, actor: Actor, reason: str) -> Switch | None:
    """Activate ``version`` when no version of its kind is active (first start); None when one is."""
    if active_row(session, kind) is not None:
        return None
    return promote(session, kind, version, actor=actor, reason=reason)


def shadow_row(session: Session) -> ModelVersion | None:
    return session.scalars(select(ModelVersion).where(ModelVersion.shadow.is_(True))).first()


def set_shadow(session: Session, version: str | None, *, actor: Actor, reason: str) -> str | None:
    """Make ``version`` the shadow model (None: no shadow), replacing any other; audited with the reason.
    Returns the shadow replaced."""
    reason = check_reason(reason)
    hold_write_lock(session)
    target = cast(ModelVersion, get_version(session, "model", version)) if version is not None else None
    if target is not None and target.active:
        raise ActiveCannotShadow(f"{version} is the active model: a shadow is a candidate beside it")
    before = shadow_row(session)
    if before is not None and before is not target:
        before.shadow, before.shadow_since = False, None
        session.flush()  # one shadow at a time, a unique index holds it at every statement
    if target is not None and not target.shadow:
        target.shadow, target.shadow_since = True, utcnow()
        session.flush()
    audit.record(
        session,
        actor,
        "model_shadow",
        inputs={"previous_shadow": before.version if before else None, "reason": reason},
        outcome={"shadow": version},
        versions={"model_shadow": version},
    )
    return before.version if before else None
