"""What-if replay for supervisors: the stored conversations through a registered model and/or policy, the
report of ``clearline replay --json`` (``triage.replay_run``, the functions the command runs). Nothing is
written but the request's audit record.

A sync route: FastAPI runs it in its threadpool, so a replay that re-scores thousands of messages (tens
of seconds on a big database) holds one of those threads, not the event loop. One replay at a time per
api process: a second one while one runs is refused (409) rather than loading a second model beside it.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, StringConstraints, model_validator

from api.deps import SessionDep, SupervisorUser
from api.schemas import UtcDateTime
from sentiment.settings import SentimentSettings
from triage import audit, replay_run
from triage.audit import Actor

router = APIRouter(tags=["registry"])
Version = Annotated[str, StringConstraints(min_length=1, max_length=128)]
RUNNING = threading.Lock()  # one replay at a time in this process (a module-level lock: tests hold it)
DEFAULT_WINDOW = timedelta(days=30)
MAX_WINDOW = timedelta(days=92)


class ReplayIn(BaseModel):
    """Registered versions to replay (absent: the stored scores, the active policy) and a window."""

    model_config = ConfigDict(protected_namespaces=())  # the field model_version is the name
    model_version: Version | None = None
    policy_version: Version | None = None
    since: UtcDateTime | None = None  # conversations started at or after (default: until - 30 days)
    until: UtcDateTime | None = None  # conversations started at or before (default: now)

    @model_validator(mode="after")
    def _window(self) -> ReplayIn:
        """A bounded window, so that one click cannot re-score the whole history in the api: without
        dates the last DEFAULT_WINDOW; at most MAX_WINDOW (the CLI has no bound)."""
        self.until = self.until or datetime.now(UTC)
        self.since = self.since or self.until - DEFAULT_WINDOW
        if self.since > self.until:
            raise ValueError("since is after until")
        if self.until - self.since > MAX_WINDOW:
            raise ValueError(f"the window is longer than {MAX_WINDOW.days} days: replay less at a time")
        return self


@router.post("/replay")
def replay(body: ReplayIn, request: Request, user: SupervisorUser, session: SessionDep) -> dict[str, Any]:
    """Re-run the stored conversations through a registered model and/or policy without acting: what
    would change (the report of ``clearline replay --json``). Supervisors and admins; audited."""
    actor = Actor.of(user)  # before the lock: nothing may raise between taking it and the try
    if not RUNNING.acquire(blocking=False):
        raise HTTPException(
            status.HTTP_409_CONFLICT, "another replay is running on this server; try again when it is done"
        )
    try:
        started = time.perf_counter()
        chosen = replay_run.plan(
            session,
            model=body.model_version,
            policy=body.policy_version,
            since=body.since,
            until=body.until,
            configured_model=Path(SentimentSettings().model_dir),
            configured_policy=Path(request.app.state.core_settings.policy_path),
            files=False,
        )
        session.rollback()  # the read ends here: re-scoring below may take tens of seconds
        scorer = replay_run.load_scorer(chosen.model) if chosen.model is not None else None
        report = replay_run.run(chosen, scorer)
    finally:
        RUNNING.release()
    report["seconds"] = round(time.perf_counter() - started, 2)
    audit.record(
        session,
        actor,
        "replay",
        inputs={
            "model_version": body.model_version,
            "policy_version": body.policy_version,
            "since": report["since"],
            "until": report["until"],
        },
        outcome={
            "conversations": report["conversations"],
            "escalations_current": report["escalations_current"],
            "escalations_candidate": report["escalations_candidate"],
            "added": len(report["added"]),
            "removed": len(report["removed"]),
        },
        versions={"model": report["model"]["version"], "policy": report["policy"]["version"]},
    )
    session.commit()
    return report
