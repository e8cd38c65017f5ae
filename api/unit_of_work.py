"""One request's unit of work on conversations, committed; run again when a background writer got there
first and the client did not ask for a particular version.

A conversation row carries a version (``triage.services.locking``). The worker commits to it after every
customer message (the transcript, the stress trajectory, the last message's time), so an agent's reply
read the row a moment before the worker's batch committed matches no row at its UPDATE. A client that sent
``expected_version`` asked for the action on the conversation as it saw it: that stays a 409. One that sent
none (the bot's hand-off, an agent's reply from the API, a status change) asked for the action on the
conversation as it is now: the work is rolled back and run again on the fresh row, with the domain's rules
checked again, a few times before the 409.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import structlog
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from triage.errors import StaleUpdate

log = structlog.get_logger("api.unit_of_work")

T = TypeVar("T")

# enough for a worker that commits a batch every few tens of milliseconds; a row changed on every try is
# contended for real, and the client is told so
STALE_ATTEMPTS = 3


def commit_work(session: Session, work: Callable[[], T], *, expected_version: int | None) -> T:
    """Run ``work`` (reads, checks and writes in ``session``) and commit it; return what it returned.

    On a stale row (``StaleUpdate``, or SQLAlchemy's ``StaleDataError`` from a flush at commit) the
    session is rolled back and, where ``expected_version`` is None, ``work`` runs again from its first
    read, up to ``STALE_ATTEMPTS`` times in all. Nothing of a failed try is kept: its rows, audit records
    and outbox commands go with the rollback. A version mismatch that ``work`` itself reports is only
    possible with an ``expected_version``, so it is never retried.
    """
    for attempt in range(1, STALE_ATTEMPTS + 1):
        try:
            result = work()
            session.commit()
            return result
        except (StaleUpdate, StaleDataError):
            session.rollback()
            session.info.pop("pinned", None)  # the tried rows, held for the identity map: read afresh
            if expected_version is not None or attempt == STALE_ATTEMPTS:
                raise
            log.info("stale conversation row: the action runs again", attempt=attempt)
    raise AssertionError("unreachable")  # pragma: no cover - the loop returns or raises
