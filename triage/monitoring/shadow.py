"""Shadow mode: a registered candidate model scores the live customer messages beside the active one and
acts on nothing. The worker's leader scores each new customer message with the registry's shadow model
and stores the score on the message (``shadow_stress``, ``shadow_flagged``, ``shadow_model_version``); the
report lists where the two models disagree on the flag.

Off the customer's path: the batches that answer customers never wait for the shadow (it runs on the
leader's thread, on a model instance of its own), at the price of a second model's CPU on that machine.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import case, func, select, update
from sqlalchemy.orm import Session

from triage import audit
from triage.registry.store import shadow_row
from triage.registry.tables import ModelVersion
from triage.storage.conversations import as_utc
from triage.storage.db import Message, Sender
from triage.worker.scoring import Scorer

log = structlog.get_logger("triage.monitoring.shadow")

BATCH = 32  # messages per round: a round is one transaction, a few hundred milliseconds of CPU


class ShadowScorer:
    """The leader's job. It follows the registry's shadow row: a new shadow is loaded at its first round
    (a model that fails to load is audited once and skipped), and scoring starts with the messages stored
    after the shadow was set."""

    def __init__(self, load: Callable[[str], Scorer], batch: int = BATCH) -> None:
        self._load = load
        self._batch = batch
        self._scorer: tuple[str, Scorer] | None = None
        self._failed: set[str] = set()
        self._after: dict[str, int] = {}  # per shadow version, the last message id looked at

    def _model(self, session: Session, row: ModelVersion) -> Scorer | None:
        if self._scorer is not None and self._scorer[0] == row.version:
            return self._scorer[1]
        if row.version in self._failed:
            return None
        try:
            scorer = self._load(row.path)
        except Exception as exc:
            self._failed.add(row.version)
            log.error("shadow_load_failed", version=row.version, path=row.path, error=str(exc))
            audit.record(
                session,
                audit.WORKER,
                "shadow_load_failed",
                inputs={"version": row.version, "path": row.path},
                outcome={"error": str(exc)[:500]},
                versions={"model_shadow": row.version},
            )
            return None
        self._scorer = (row.version, scorer)
        return scorer

    def _start(self, session: Session, version: str) -> int:
        """Where a version's scoring goes on from: after the last message it scored (a restart, a new
        leader), else from the first message stored since it became the shadow."""
        if version not in self._after:
            done = session.scalar(select(func.max(Message.id)).where(Message.shadow_model_version == version))
            self._after[version] = int(done or 0)
        return self._after[version]

    def __call__(self, session: Session) -> int:
        """Score the next batch of new customer messages; the number scored (0: nothing to do)."""
        row = shadow_row(session)
        if row is None:
            self._scorer = None  # switched off: the second model leaves memory
            return 0
        scorer = self._model(session, row)
        if scorer is None:
            return 0
        query = (
            select(Message.id, Message.text)
            .where(
                Message.id > self._start(session, row.version),
                Message.sender == Sender.CUSTOMER,
                Message.stress.is_not(None),
            )
            .order_by(Message.id)
            .limit(self._batch)
        )
        if row.shadow_since is not None:
            query = query.where(Message.created_at >= row.shadow_since)
        found = session.execute(query).all()
        if not found:
            return 0
        scores = scorer.score([text for _id, text in found])
        for (message_id, _text), score in zip(found, scores, strict=True):
            session.execute(
                update(Message)
                .where(Message.id == message_id)
                .values(
                    shadow_stress=score.stress, shadow_flagged=score.flag, shadow_model_version=row.version
                )
            )
        self._after[row.version] = found[-1].id
        return len(found)


def _round(value: Any, digits: int = 4) -> float | None:
    return None if value is None else round(float(value), digits)


def shadow_report(
    session: Session, since: datetime, until: datetime, *, version: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """The shadow's scores in the window against the active model's on the same messages: counts, flag
    agreement, mean stress difference, and the latest disagreements on the flag."""
    current = shadow_row(session)
    version = version or (current.version if current is not None else None)
    if version is None:
        return {
            "shadow_version": None,
            "shadow_active": False,
            "shadow_since": None,
            "active_versions": [],
            "since": since.isoformat(),
            "until": until.isoformat(),
            "scored": 0,
            "flagged_active": 0,
            "flagged_shadow": 0,
            "disagreements": 0,
            "agreement": None,
            "mean_abs_stress_difference": None,
            "latest_disagreements": [],
        }
    window = (
        Message.shadow_model_version == version,
        Message.stress.is_not(None),  # the shadow scores only scored messages; lets the index serve
        Message.created_at >= since,
        Message.created_at < until,
    )
    disagree = Message.flagged != Message.shadow_flagged
    totals = session.execute(
        select(
            func.count(),
            func.sum(case((Message.flagged.is_(True), 1), else_=0)),
            func.sum(case((Message.shadow_flagged.is_(True), 1), else_=0)),
            func.sum(case((disagree, 1), else_=0)),
            func.avg(func.abs(Message.stress - Message.shadow_stress)),
        ).where(*window)
    ).one()
    scored = int(totals[0] or 0)
    active_versions = sorted(
        v for (v,) in session.execute(select(Message.model_version).where(*window).distinct()) if v
    )
    rows = session.execute(
        select(
            Message.id,
            Message.conversation_id,
            Message.created_at,
            Message.model_version,
            Message.stress,
            Message.flagged,
            Message.shadow_stress,
            Message.shadow_flagged,
        )
        .where(*window, disagree)
        .order_by(Message.id.desc())
        .limit(limit)
    )
    return {
        "shadow_version": version,
        "shadow_active": current is not None and current.version == version,
        "shadow_since": as_utc(current.shadow_since).isoformat()
        if current is not None and current.version == version and current.shadow_since
        else None,
        "active_versions": active_versions,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "scored": scored,
        "flagged_active": int(totals[1] or 0),
        "flagged_shadow": int(totals[2] or 0),
        "disagreements": int(totals[3] or 0),
        "agreement": _round(1 - int(totals[3] or 0) / scored) if scored else None,
        "mean_abs_stress_difference": _round(totals[4]),
        "latest_disagreements": [
            {
                "message_id": r.id,
                "conversation_id": r.conversation_id,
                "at": as_utc(r.created_at).isoformat(),
                "model_version": r.model_version,
                "stress": _round(r.stress),
                "flagged": bool(r.flagged),
                "shadow_stress": _round(r.shadow_stress),
                "shadow_flagged": bool(r.shadow_flagged),
            }
            for r in rows
        ],
    }
