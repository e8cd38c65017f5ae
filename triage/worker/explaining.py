"""Which utterances drove a flag, their explanations, and the JSON stored with the escalation.

Explanations take 0.3-1.6 s each with the shipped model (adaptive Integrated Gradients steps), so they
are not computed inside the batch that escalates: the escalation is committed at once with entries
``{"message_id", "text", "pending": true}`` and ``explanations_pending``; ``explain_pending`` then fills
them in a transaction of its own (on the worker's explainer thread). A crash in between leaves the
pending entries in the database, where the next run finds them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any, Protocol

import structlog
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sentiment.types import Explanation
from triage import audit
from triage.storage.db import Escalation, Message, Sender, session_scope

log = structlog.get_logger("triage.worker.explaining")


class Explainer(Protocol):
    def explain(self, text: str, target: str) -> Explanation: ...


# Explained once as the explainer thread starts (``warm_up``): a message of the kind that escalates.
WARM_UP_TEXT = "I was charged twice and nobody answers, this is ridiculous!"


def warm_up(explainer: Explainer) -> float | None:
    """Explain ``WARM_UP_TEXT`` once and return the seconds it took (None when it failed, logged).

    The explainer imports Captum and scikit-learn's stop words on its first call and torch builds its
    first backward pass then: ~2.5 s of CPU on a 2-vCPU VM, which the first explanation after a start (or
    after this worker takes over as leader) would otherwise wait for. A failure is not retried: the
    explanations themselves then fail and say why, one by one."""
    started = time.perf_counter()
    try:
        explainer.explain(WARM_UP_TEXT, "stress")
    except Exception as exc:  # the real explanations will fail and say why, per escalation
        log.warning("explainer_warm_up_failed", error=f"{type(exc).__name__}: {exc}"[:500])
        return None
    seconds = time.perf_counter() - started
    log.info("explainer_warm", seconds=round(seconds, 3))
    return seconds


def latest_customer_message(session: Session, conversation_id: str, fresh: list[Message]) -> Message | None:
    """The conversation's latest customer message: this batch's (``fresh``), else the newest stored one."""
    if fresh:
        return fresh[-1]
    with session.no_autoflush:
        return session.scalars(
            select(Message)
            .where(Message.conversation_id == conversation_id, Message.sender == Sender.CUSTOMER)
            .order_by(Message.id.desc())
            .limit(1)
        ).first()


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


def pending_record(message: Message) -> dict[str, Any]:
    """The placeholder stored with the escalation until the explanation is ready (needs ``message.id``)."""
    return {"message_id": message.id, "text": message.text, "pending": True}


def explanation_record(message_id: int | None, text: str, explanation: Explanation | str) -> dict[str, Any]:
    """The JSON stored with an escalation (offsets refer to the redacted text)."""
    if isinstance(explanation, str):
        return {"message_id": message_id, "text": text, "error": explanation}
    faith = explanation.faithfulness
    return {
        "message_id": message_id,
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


def _explain_entry(
    explainer: Explainer, entry: dict[str, Any], observe: Callable[[float], None] | None, conversation_id: str
) -> dict[str, Any]:
    started = time.perf_counter()
    text = str(entry.get("text", ""))
    try:
        explanation: Explanation | str = explainer.explain(text, "stress")
    except Exception as exc:  # the escalation stands; the agent sees why there are no highlights
        explanation = f"{type(exc).__name__}: {exc}"[:500]
        log.error("explanation_failed", conversation_id=conversation_id, error=explanation)
    else:
        if observe is not None:
            observe(time.perf_counter() - started)
    return explanation_record(entry.get("message_id"), text, explanation)


def explain_pending(
    session_factory: sessionmaker[Session],
    explainer: Explainer,
    observe: Callable[[float], None] | None = None,
    limit: int = 5,
) -> list[int]:
    """Explain the pending entries of up to ``limit`` escalations, oldest first; return their ids.

    The model runs outside any transaction; each escalation is then updated in a short one.
    """
    with session_scope(session_factory) as session:
        todo = [
            (e.id, e.conversation_id, [dict(entry) for entry in e.explanations])
            for e in session.scalars(
                select(Escalation)
                .where(Escalation.explanations_pending.is_(True))
                .order_by(Escalation.id)
                .limit(limit)
            )
        ]
    done = []
    for escalation_id, conversation_id, entries in todo:
        filled = [
            _explain_entry(explainer, entry, observe, conversation_id) if entry.get("pending") else entry
            for entry in entries
        ]
        with session_scope(session_factory) as session:
            escalation = session.get(Escalation, escalation_id)
            if escalation is None or not escalation.explanations_pending:
                continue
            escalation.explanations = filled
            escalation.explanations_pending = False
            audit.record(
                session,
                audit.WORKER,
                "explain",
                conversation_id=conversation_id,
                inputs={"escalation_id": escalation_id, "message_ids": [e.get("message_id") for e in filled]},
                outcome={
                    "explained": sum(1 for e in filled if "words" in e),
                    "failed": sum(1 for e in filled if "error" in e),
                },
                versions={"model": next((e["model"] for e in filled if "model" in e), None)},
            )
        done.append(escalation_id)
        log.info("explained", conversation_id=conversation_id, escalation_id=escalation_id)
    return done
