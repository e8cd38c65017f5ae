"""What ``clearline replay`` and the api's ``POST /api/v1/replay`` share: which model and policy to replay
(a directory or a file, or a version registered in the replayed database), which ones are current (the
active registered pair), the stored conversations to replay, and the report as JSON.

Two steps, so that a caller ends its read before the slow part: :func:`plan` reads (a few queries in the
caller's session, nothing written), :func:`run` re-scores and re-decides (tens of seconds when a model
re-scores thousands of messages) and touches no database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, cast

from sqlalchemy import inspect
from sqlalchemy.orm import Session

from triage.domain.policy import Policy, load_policy
from triage.registry import store
from triage.registry.rules import InvalidCandidate, Kind, UnknownVersion, policy_candidate
from triage.registry.tables import ModelVersion, PolicyVersion
from triage.replay import History, read_histories, replay
from triage.worker.scoring import Scorer


@dataclass(frozen=True)
class PolicyChoice:
    """A policy to decide with, and where it came from."""

    policy: Policy
    path: str | None  # the file it was read from; None for a registered version
    registered: bool


@dataclass(frozen=True)
class ModelChoice:
    """A model checkpoint directory, and its registered version when it was named by one."""

    path: str
    version: str | None
    weights_digest: str | None = None  # as registered: the directory must still hold those weights


@dataclass(frozen=True)
class Plan:
    """What a replay re-runs: the stored conversations, the candidate and the current pair."""

    histories: list[History]
    policy: PolicyChoice
    current_policy: PolicyChoice
    model: ModelChoice | None  # None: the stored scores
    current_model: ModelChoice
    since: datetime | None
    until: datetime | None


def plan(
    session: Session,
    *,
    model: str | None,
    policy: str | None,
    since: datetime | None,
    until: datetime | None,
    configured_model: Path,
    configured_policy: Path,
    files: bool,
) -> Plan:
    """Choose the candidate and current pair and read the conversations started in ``[since, until]``.

    Args:
        session: a session on the replayed database; only read.
        model: a registered model version (or, with ``files``, a checkpoint directory); None: the stored
            scores.
        policy: a registered policy version (or, with ``files``, a YAML file); None: the active one.
        since: conversations started at or after.
        until: conversations started at or before.
        configured_model: the current model while none is registered.
        configured_policy: the current policy while none is registered.
        files: whether ``model`` and ``policy`` may name files (the CLI); the api takes versions only.

    Raises:
        UnknownVersion: ``model`` or ``policy`` is neither (a path that exists nor) a registered version.
        InvalidCandidate: the model is not a checkpoint directory, or a registered policy no longer parses.
        PolicyError: a policy file that cannot be read or is not a policy.
    """
    # files first: a bad file is said before the database is opened
    policy_file = _policy_file(policy) if files and policy is not None else None
    model_dir = _model_dir(model) if files and model is not None else None
    registered = inspect(session.get_bind()).has_table(PolicyVersion.__tablename__)
    current_policy = _active_policy(session, registered, configured_policy)
    candidate_policy = policy_file or current_policy
    if policy is not None and policy_file is None:
        candidate_policy = _registered_policy(session, policy, registered=registered, files=files)
    candidate_model = model_dir
    if model is not None and model_dir is None:
        candidate_model = _registered_model(session, model, registered=registered, files=files)
    return Plan(
        read_histories(session, since, until),
        candidate_policy,
        current_policy,
        candidate_model,
        _active_model(session, registered, configured_model),
        since,
        until,
    )


def load_scorer(model: ModelChoice) -> Scorer:
    """The worker's scorer for ``model`` (sentiment's batched one, cached per process by its loader);
    ``InvalidCandidate`` when it cannot be loaded or, registered, no longer is what was registered (as
    the worker refuses it: ``triage.worker.runner.load_registered``)."""
    from sentiment.checkpoint import weights_digest
    from sentiment.errors import ModelNotLoaded
    from triage.worker.sentiment_scorer import SentimentScorer

    named = model.version or model.path
    if model.weights_digest is not None and weights_digest(Path(model.path)) != model.weights_digest:
        raise InvalidCandidate(f"{model.path}: the weights differ from those registered as {named}")
    try:
        scorer = SentimentScorer(model.path)
    except ModelNotLoaded as exc:
        raise InvalidCandidate(f"model {named}: {exc}") from exc
    if model.version is not None and scorer.version != model.version:
        raise InvalidCandidate(f"{model.path} loads as {scorer.version}, registered as {model.version}")
    return scorer


def run(
    chosen: Plan, scorer: Scorer | None = None, *, explain: int = 0, explainer: Scorer | None = None
) -> dict[str, Any]:
    """Replay ``chosen`` (``scorer``: the candidate model's, None when ``chosen.model`` is None) and return
    the report with what was compared: the candidate and current versions and the window."""
    report = replay(
        chosen.histories, chosen.policy.policy, scorer, explain=explain, explainer=explainer
    ).as_dict()
    model, current_model = chosen.model or chosen.current_model, chosen.current_model
    candidate_policy, current_policy = chosen.policy, chosen.current_policy
    return {
        **report,
        "model": {
            "path": model.path,
            "version": model.version,
            "current": chosen.model is None or _same_model(model, current_model),
            "rescored": chosen.model is not None,
            "current_version": current_model.version,
        },
        "policy": {
            "path": candidate_policy.path,
            "version": candidate_policy.policy.version,
            "registered": candidate_policy.registered,
            "current": candidate_policy.policy.config == current_policy.policy.config,
            "current_version": current_policy.policy.version,
        },
        "since": chosen.since.isoformat() if chosen.since else None,
        "until": chosen.until.isoformat() if chosen.until else None,
    }


def _same_model(a: ModelChoice, b: ModelChoice) -> bool:
    if a.version is not None and b.version is not None:
        return a.version == b.version
    return Path(a.path).resolve() == Path(b.path).resolve()


def _active_policy(session: Session, registered: bool, configured: Path) -> PolicyChoice:
    row = store.active_row(session, "policy") if registered else None
    if isinstance(row, PolicyVersion):
        return _parsed(row)
    return PolicyChoice(load_policy(configured), str(configured), registered=False)


def _active_model(session: Session, registered: bool, configured: Path) -> ModelChoice:
    row = store.active_row(session, "model") if registered else None
    if isinstance(row, ModelVersion):
        return ModelChoice(row.path, row.version)
    return ModelChoice(str(configured), None)


def _policy_file(value: str) -> PolicyChoice | None:
    return PolicyChoice(load_policy(value), value, registered=False) if Path(value).is_file() else None


def _model_dir(value: str) -> ModelChoice | None:
    return _checkpoint(ModelChoice(value, None)) if Path(value).exists() else None


def _registered_policy(session: Session, version: str, *, registered: bool, files: bool) -> PolicyChoice:
    return _parsed(cast(PolicyVersion, _registered(session, "policy", version, registered, files)))


def _parsed(row: PolicyVersion) -> PolicyChoice:
    candidate = policy_candidate(row.yaml, f"registered policy {row.version}")
    return PolicyChoice(candidate.policy, None, registered=True)


def _registered_model(session: Session, version: str, *, registered: bool, files: bool) -> ModelChoice:
    row = cast(ModelVersion, _registered(session, "model", version, registered, files))
    return _checkpoint(ModelChoice(row.path, row.version, row.weights_digest))


def _checkpoint(model: ModelChoice) -> ModelChoice:
    if not (Path(model.path) / "config.json").is_file():
        named = f"registered model {model.version}'s directory {model.path}" if model.version else model.path
        raise InvalidCandidate(f"{named}: not a model checkpoint directory (no config.json)")
    return model


def _registered(
    session: Session, kind: Kind, version: str, registered: bool, files: bool
) -> ModelVersion | PolicyVersion:
    what = {"model": "a model directory", "policy": "a policy file"}[kind]
    unknown = (
        f"{version!r} is neither {what} nor a registered {kind} version"
        if files
        else f"no {kind} version {version!r} is registered"
    )
    if not registered:
        raise UnknownVersion(unknown)
    try:
        return store.get_version(session, kind, version)
    except UnknownVersion as exc:
        raise UnknownVersion(unknown) from exc
