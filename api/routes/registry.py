"""The model and policy registry: supervisors see the versions; admins add, promote and roll back."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, status
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.deps import AdminUser, SessionDep, SupervisorUser
from api.registry_schemas import (
    ModelIn,
    ModelVersionOut,
    PolicyIn,
    PolicyTextOut,
    PolicyVersionOut,
    ReasonIn,
    ShadowOut,
    SwitchOut,
)
from triage.audit import Actor
from triage.registry import store
from triage.registry.artifacts import model_candidate
from triage.registry.rules import Kind, policy_candidate
from triage.registry.tables import VersionRow

router = APIRouter(tags=["registry"])
Version = Annotated[str, Path(min_length=1, max_length=128)]


def _commit(session: Session) -> None:
    try:
        session.commit()
    except IntegrityError as exc:  # another admin's change to the same versions committed first
        session.rollback()
        raise HTTPException(
            status.HTTP_409_CONFLICT, "changed at the same time by someone else; reload"
        ) from exc


def _switched(session: Session, switch: Any) -> SwitchOut:
    _commit(session)
    return SwitchOut(**asdict(switch))


@router.get("/models", response_model=list[ModelVersionOut])
def list_models(_user: SupervisorUser, session: SessionDep) -> list[VersionRow]:
    """Every registered emotion model, oldest first; one is active."""
    return store.list_versions(session, "model")


@router.post("/models", response_model=ModelVersionOut, status_code=status.HTTP_201_CREATED)
def add_model(body: ModelIn, user: AdminUser, session: SessionDep) -> VersionRow:
    """Register a model directory (config.json and weights needed); it is not active until promoted."""
    candidate = model_candidate(body.path, body.training_data or None)
    row, _created = store.add_model(session, candidate, actor=Actor.of(user), reason=body.reason)
    _commit(session)
    return row


@router.get("/policies", response_model=list[PolicyVersionOut])
def list_policies(_user: SupervisorUser, session: SessionDep) -> list[VersionRow]:
    """Every registered triage policy, oldest first; one is active."""
    return store.list_versions(session, "policy")


@router.get("/policies/{version}", response_model=PolicyTextOut)
def show_policy(version: Version, _user: SupervisorUser, session: SessionDep) -> VersionRow:
    """One registered policy with its YAML."""
    return store.get_version(session, "policy", version)


@router.post("/policies", response_model=PolicyVersionOut, status_code=status.HTTP_201_CREATED)
def add_policy(body: PolicyIn, user: AdminUser, session: SessionDep) -> VersionRow:
    """Register a policy YAML that parses and validates; it is not active until promoted."""
    candidate = policy_candidate(body.yaml, "the policy")
    row, _created = store.add_policy(session, candidate, actor=Actor.of(user), reason=body.reason)
    _commit(session)
    return row


def _kind_routes(kind: Kind, plural: str) -> None:
    @router.post(f"/{plural}/{{version}}/promote", response_model=SwitchOut, name=f"promote_{kind}")
    def promote(version: Version, body: ReasonIn, user: AdminUser, session: SessionDep) -> SwitchOut:
        switch = store.promote(session, kind, version, actor=Actor.of(user), reason=body.reason)
        return _switched(session, switch)

    @router.post(f"/{plural}/rollback", response_model=SwitchOut, name=f"rollback_{kind}")
    def rollback(body: ReasonIn, user: AdminUser, session: SessionDep) -> SwitchOut:
        switch = store.rollback(session, kind, actor=Actor.of(user), reason=body.reason)
        return _switched(session, switch)

    promote.__doc__ = f"Make a registered {kind} version the active one (admins; reason required, audited)."
    rollback.__doc__ = f"Go back to the {kind} version the active one replaced (admins; reason, audited)."


@router.post("/models/{version}/shadow", response_model=ShadowOut)
def shadow_model(version: Version, body: ReasonIn, user: AdminUser, session: SessionDep) -> ShadowOut:
    """Let a registered, inactive model score the live customer messages beside the active one without
    acting (admins; reason required, audited); it replaces any other shadow. The worker's leader starts
    within seconds; GET /api/v1/monitoring/shadow lists where the two disagree."""
    previous = store.set_shadow(session, version, actor=Actor.of(user), reason=body.reason)
    _commit(session)
    return ShadowOut(shadow=version, previous=previous)


@router.post("/models/shadow/off", response_model=ShadowOut)
def shadow_off(body: ReasonIn, user: AdminUser, session: SessionDep) -> ShadowOut:
    """Stop the shadow model (admins; reason required, audited); its stored scores stay."""
    previous = store.set_shadow(session, None, actor=Actor.of(user), reason=body.reason)
    _commit(session)
    return ShadowOut(shadow=None, previous=previous)


_kind_routes("model", "models")
_kind_routes("policy", "policies")
