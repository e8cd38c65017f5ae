"""Request and response models of the model and policy registry's routes."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, StringConstraints

from api.schemas import Reason, UtcDateTime
from triage.registry.rules import MAX_POLICY_CHARS

_NO_NUL = r"^[^\x00]*$"


class ReasonIn(BaseModel):
    reason: Reason


class ModelIn(BaseModel):
    """A model directory on the api's machine (where the worker reads it too)."""

    path: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=1000, pattern=_NO_NUL)
    ]
    training_data: Annotated[str, StringConstraints(max_length=1000, pattern=_NO_NUL)] = ""
    reason: Reason


class PolicyIn(BaseModel):
    yaml: Annotated[str, StringConstraints(min_length=1, max_length=MAX_POLICY_CHARS, pattern=_NO_NUL)]
    reason: Reason


class _VersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    version: str
    added_by: str
    reason: str
    created_at: UtcDateTime
    active: bool
    activated_at: UtcDateTime | None
    previous_version: str | None


class ModelVersionOut(_VersionOut):
    path: str
    weights_digest: str
    calibration: dict[str, Any]
    metrics: dict[str, Any]
    training_data: str
    shadow: bool  # scores live traffic beside the active model, acting on nothing
    shadow_since: UtcDateTime | None


class PolicyVersionOut(_VersionOut):
    digest: str


class PolicyTextOut(PolicyVersionOut):
    yaml: str


class SwitchOut(BaseModel):
    kind: str
    action: str
    before: str | None
    after: str


class ShadowOut(BaseModel):
    """The shadow model now (None: none), and the one it replaced."""

    shadow: str | None
    previous: str | None
