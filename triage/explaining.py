"""Which utterances drove a flag, their explanations, and the JSON stored with the escalation."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Protocol

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session

from sentiment.types import Explanation
from triage.db import Message, Sender

log = structlog.get_logger("triage.explaining")


class Explainer(Protocol):
    def explain(self, text: str, target: str) -> Explanation: ...


def driving_messages(
    session: Session, conversation_id: str, fresh: list[Message], window: int, min_stress: float, limit: int
) -> list[Message]:
    """The most stressed of the last ``window`` customer messages whose stress counted.

    ``fresh`` are this batch's messages, not flushed yet: the stored ones are read without
    autoflush so that explaining happens before the batch takes SQLite's write lock.
    """
    recent = list(reversed(fresh))[:window]
    if len(recent) < window:
        with session.no_autoflush:
            stored = session.scalars(
                select(Message)
                .where(Message.conversation_id == conversation_id, Message.sender == Sender.CUSTOMER)
                .order_by(Message.id.desc())
                .limit(window)
            ).all()
        recent += [m for m in stored if all(m is not f for f in recent)][: window - len(recent)]
    counted = [m for m in recent if m.stress is not None and m.stress >= min_stress]
    return sorted(counted, key=lambda m: -(m.stress or 0.0))[:limit]


def explain_all(
    explainer: Explainer, messages: list[Message], observe: Callable[[float], None] | None = None
) -> list[tuple[Message, Explanation | str]]:
    """Explain each message; a failure becomes its error text (an escalation never waits on it)."""
    results: list[tuple[Message, Explanation | str]] = []
    for message in messages:
        started = time.perf_counter()
        try:
            results.append((message, explainer.explain(message.text, "stress")))
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.error("explanation_failed", conversation_id=message.conversation_id, error=error)
            results.append((message, error))
            continue
        if observe is not None:
            observe(time.perf_counter() - started)
    return results


def explanation_record(message: Message, explanation: Explanation | str) -> dict[str, Any]:
    """The JSON stored with an escalation (offsets refer to the redacted text); needs ``message.id``."""
    if isinstance(explanation, str):
        return {"message_id": message.id, "text": message.text, "error": explanation}
    faith = explanation.faithfulness
    return {
        "message_id": message.id,
        "text": explanation.text,
        "target": explanation.target,
        "words": [asdict(w) for w in explanation.words],
        "top_words": list(explanation.top_words),
        "delta": explanation.delta,
        "k": faith.k,
        "score": faith.score,
        "comprehensiveness": faith.comprehensiveness,
        "sufficiency": faith.sufficiency,
        "random_comprehensiveness": faith.random_comprehensiveness,
        "score_without_top": faith.score_without_top,
        "model": explanation.model,
        "n_steps": explanation.n_steps,
        "truncated": explanation.truncated,
    }
