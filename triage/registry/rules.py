"""The registry's rules, with no database and no files: what may be promoted or rolled back, what a
reason must be, when a version may be added again, and what a policy text must be to be registered."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import yaml

from triage.domain.policy import Policy, parse_policy
from triage.errors import InvalidTransition, PolicyError, TriageError, ValidationError

Kind = Literal["model", "policy"]
KINDS: tuple[Kind, ...] = ("model", "policy")
MAX_REASON_CHARS = 500
MAX_POLICY_CHARS = 200_000


class UnknownVersion(TriageError):
    """No registered version of that kind has that name (api: 404)."""


class AlreadyActive(InvalidTransition):
    """The version asked for is the active one already (api: 409)."""


class NothingToRollBack(InvalidTransition):
    """The active version replaced no other, so there is nothing to go back to (api: 409)."""


class VersionConflict(InvalidTransition):
    """A version of that name is registered with other content: the new one needs a new name (api: 409)."""


class InvalidCandidate(ValidationError):
    """A model directory or policy text that cannot be registered; the message says why (api: 422)."""


class ActiveCannotShadow(InvalidTransition):
    """The active model scores for real; a shadow is a candidate beside it (api: 409)."""


class NotAnAdmin(TriageError):
    """Promotion, rollback and registration are an admin's (api: 403)."""


@dataclass(frozen=True)
class VersionState:
    """What the rules need of a registered version."""

    version: str
    active: bool
    previous: str | None = None  # the version that was active when this one was last activated


@dataclass(frozen=True)
class Switch:
    """The active version changes from ``before`` (None: there was none) to ``after``."""

    kind: Kind
    before: str | None
    after: str
    action: Literal["promote", "rollback"]


def check_reason(reason: str | None) -> str:
    """A promotion or rollback says why, in at most ``MAX_REASON_CHARS`` characters."""
    text = (reason or "").strip()
    if not text:
        raise ValidationError("a reason is required")
    if len(text) > MAX_REASON_CHARS:
        raise ValidationError(f"the reason is longer than {MAX_REASON_CHARS} characters")
    return text


def _active(versions: Mapping[str, VersionState]) -> VersionState | None:
    return next((v for v in versions.values() if v.active), None)


def plan_promote(kind: Kind, versions: Mapping[str, VersionState], target: str) -> Switch:
    """Make ``target`` the active version of its kind."""
    if target not in versions:
        raise UnknownVersion(f"no {kind} version {target!r} is registered")
    active = _active(versions)
    if active is not None and active.version == target:
        raise AlreadyActive(f"{kind} version {target!r} is already the active one")
    return Switch(kind, active.version if active else None, target, "promote")


def plan_rollback(kind: Kind, versions: Mapping[str, VersionState]) -> Switch:
    """Go back to the version the active one replaced. Rolling back twice returns to where it started
    (the version rolled back from is what the restored one then replaced), as ``helm rollback`` does."""
    active = _active(versions)
    if active is None:
        raise NothingToRollBack(f"no {kind} version is active")
    if active.previous is None:
        raise NothingToRollBack(
            f"{kind} version {active.version!r} replaced no other: nothing to roll back to"
        )
    if active.previous not in versions:
        raise UnknownVersion(f"{kind} version {active.previous!r}, the one before, is no longer registered")
    return Switch(kind, active.version, active.previous, "rollback")


def check_same_content(kind: Kind, version: str, stored_digest: str, new_digest: str) -> bool:
    """Adding a registered version again is harmless when its content is the same (True: nothing to do);
    other content under the same name is refused, so a version always means one thing."""
    if stored_digest != new_digest:
        raise VersionConflict(
            f"{kind} version {version!r} is registered with other content (digest {stored_digest[:12]}, "
            f"this one {new_digest[:12]}): give the new one a version of its own"
        )
    return True


@dataclass(frozen=True)
class PolicyCandidate:
    """A policy text that parses and validates, with its version and digest."""

    version: str
    digest: str
    text: str
    policy: Policy


def text_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def policy_candidate(text: str, source: str = "policy") -> PolicyCandidate:
    """Check a policy YAML text as the worker would load it; ``InvalidCandidate`` names what is wrong."""
    if len(text) > MAX_POLICY_CHARS:
        raise InvalidCandidate(f"{source} is longer than {MAX_POLICY_CHARS} characters")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InvalidCandidate(f"{source} is not valid YAML: {exc}") from exc
    try:
        policy = parse_policy(data, source=source)
    except PolicyError as exc:
        raise InvalidCandidate(str(exc)) from exc
    return PolicyCandidate(policy.version, text_digest(text), text, policy)
