"""The versions a batch is decided with: the triage policy and the emotion model, each read once at the
start of the batch, so one batch is never scored or decided under two versions. A change is audited in
the batch's own transaction (counted as applied once it commits) and picked up at the next batch after
a promotion commits, without a restart."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

import structlog
from sqlalchemy import event
from sqlalchemy.orm import Session

from sentiment.types import Explanation
from triage import audit
from triage.domain.policy import Policy
from triage.errors import PolicyError
from triage.registry.active import ModelRef, active_model, active_policy
from triage.worker.explaining import Explainer
from triage.worker.scoring import Scorer

if TYPE_CHECKING:
    from triage.worker.pipeline import BatchProcessor

log = structlog.get_logger("triage.worker.versions")


@dataclass(frozen=True)
class LoadedModel:
    """A model the worker can score with: one instance for the batches, one for the explainer thread."""

    version: str
    scorer: Scorer
    explainer: Explainer


class VersionSource(Protocol):
    """Where a batch's versions come from (``RegistryVersions``: the registry's active pair)."""

    current: LoadedModel | None  # the model the batches score with now

    def policy(self, session: Session) -> Policy: ...

    def model(self, session: Session) -> LoadedModel | None: ...


class RegistryVersions:
    """The registry's active policy and model. A newly promoted model is loaded by the first batch that
    sees it (seconds, inside that batch); the last ``keep`` loaded models stay in memory, so a rollback
    switches at once. A model that fails to load is audited once and the previous one kept."""

    def __init__(
        self,
        load: Callable[[ModelRef], LoadedModel] | None,
        initial: LoadedModel | None = None,
        keep: int = 2,
    ) -> None:
        """``load`` None: the model is not switched (the worker keeps the scorer it was built with)."""
        self._load = load
        self._keep = max(1, keep)
        self._loaded: OrderedDict[str, LoadedModel] = OrderedDict()
        self._failed: set[str] = set()
        self.current = initial
        if initial is not None:
            self._loaded[initial.version] = initial

    def policy(self, session: Session) -> Policy:
        return active_policy(session)

    def model(self, session: Session) -> LoadedModel | None:
        if self._load is None:
            return self.current
        ref = active_model(session)
        if ref is None or (self.current is not None and ref.version == self.current.version):
            return self.current
        if ref.version in self._loaded:
            self._loaded.move_to_end(ref.version)
            self.current = self._loaded[ref.version]
            return self.current
        if ref.version in self._failed:
            return self.current
        try:
            loaded = self._load(ref)
        except Exception as exc:  # keep scoring with what works; the audit says why it did not switch
            self._failed.add(ref.version)
            kept = self.current.version if self.current else None
            log.error("model_switch_failed", version=ref.version, path=ref.path, error=str(exc), kept=kept)
            audit.record(
                session,
                audit.WORKER,
                "model_switch_failed",
                inputs={"version": ref.version, "path": ref.path},
                outcome={"error": str(exc)[:500], "kept_version": kept},
                versions={"model": kept},
            )
            return self.current
        self._loaded[ref.version] = loaded
        while len(self._loaded) > self._keep:
            self._loaded.popitem(last=False)
        self.current = loaded
        return loaded

    def explain(self, text: str, target: str) -> Explanation:
        """The explainer thread explains with the model the batches score with now."""
        if self.current is None:
            raise RuntimeError("no model is loaded")
        return self.current.explainer.explain(text, target)


class BatchVersions:
    """Takes each batch's snapshot for a ``BatchProcessor`` and audits what changed."""

    def __init__(
        self,
        processor: BatchProcessor,
        policy_source: Callable[[], Policy],
        source: VersionSource | None = None,
        model_version: str | None = None,
    ) -> None:
        self.processor = processor
        self.policy_source = policy_source
        self.source = source
        self.applied = {"policy": processor.policy.version, "model": model_version}

    def take(self, session: Session) -> None:
        try:
            policy = self.source.policy(session) if self.source is not None else self.policy_source()
        except PolicyError as exc:  # a broken edit must not stop scoring: keep deciding as before
            log.error("policy_invalid", error=str(exc), kept_version=self.processor.policy.version)
            policy = self.processor.policy
        self.processor.policy = policy
        self._changed(session, "policy", policy.version)
        model = self.source.model(session) if self.source is not None else None
        if model is not None:
            self.processor.scorer = model.scorer
            self._changed(session, "model", model.version)

    def _changed(self, session: Session, kind: str, version: str) -> None:
        previous = self.applied[kind]
        if version == previous:
            return
        audit.record(
            session,
            audit.POLICY if kind == "policy" else audit.WORKER,
            f"{kind}_change",
            inputs={"previous_version": previous},
            outcome={"version": version},
            versions={kind: version},
        )
        # counted as applied once this transaction commits (a rolled-back batch audits it again)
        event.listen(session, "after_commit", lambda _s: self.applied.__setitem__(kind, version), once=True)
