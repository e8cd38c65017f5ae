"""What-if replay: stored, redacted conversations through a candidate model and/or policy, acting on nothing.

"Current" is what is stored: each customer message's stress as scored then, and each conversation's first
escalation by the policy with the priority, band and queue decided then. "Candidate" re-runs the
conversation turn by turn with the worker's own functions (``triage.worker.turns``: the row update of a
customer turn, then the policy's decision), on a transient conversation row that is never added to a
session, with the stress re-scored by the candidate model (or the stored stress when no model is given).

Simplified against the live worker (each said in the command's help and the README):
- only a conversation's first escalation counts, current and candidate: the worker escalates again after
  a resolve, which replay cannot know would have happened;
- the customer tier is the conversation's stored (latest) tier for every turn;
- the turns after a hand-off the policy did not make (the bot or a supervisor asked for one) are not
  replayed: the worker did not decide on them either;
- "now" for the time spent is when the worker stored the message.

Precision and recall use the latest verdict on each current escalation (a supervisor's unflag without a
verdict counts as "wrong"). A candidate escalation of a conversation whose current escalation was judged
"correct" is a true positive, one judged "wrong" a false positive; candidate escalations of conversations
without a verdict are not counted. Recall is over the conversations with a "correct" verdict: the share
the candidate escalates too (the current one escalated all of them, so its recall is 1.0).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from triage.domain.language import MessageLanguage
from triage.domain.lifecycle import ConversationState
from triage.domain.policy import Policy
from triage.storage.conversations import as_utc, new_conversation
from triage.storage.db import Conversation, Escalation, Feedback, Message, MissedFlag, Sender
from triage.worker.scoring import Scorer, score_batch
from triage.worker.turns import customer_turn, decide

POLICY_TRIGGER = "policy"
CORRECT, WRONG = "correct", "wrong"
SCORE_CHUNK = 4096  # texts per scoring call (the model sorts them by length into batches of 64)


@dataclass(frozen=True)
class Turn:
    """One stored customer message."""

    message_id: int
    text: str  # redacted, as stored
    intent: str | None
    stress: float | None  # as scored then (None: the model refused it)
    at: datetime  # when the worker stored it: its "now" for the time spent
    source_event_id: int | None = None  # the broker event it came from
    language: MessageLanguage = MessageLanguage(None, None)  # as stored (triage.domain.language)


@dataclass(frozen=True)
class Flag:
    """An escalation: where it happened and what was decided."""

    message_id: int | None
    priority: int
    band: str
    queue: str


@dataclass(frozen=True)
class History:
    """A stored conversation as replay needs it."""

    conversation_id: str
    started_at: datetime
    tier: str
    turns: tuple[Turn, ...]
    current: Flag | None = None  # its first escalation by the policy, as stored
    verdict: str | None = None  # the latest verdict on that escalation
    top_words: tuple[str, ...] = ()  # the stored explanation's, of the current escalation
    missed: bool = False  # someone marked that the policy should have escalated it (a missed flag)


@dataclass
class Report:
    conversations: int
    messages: int
    escalations_current: int
    escalations_candidate: int
    added: list[dict[str, Any]] = field(default_factory=list)
    removed: list[dict[str, Any]] = field(default_factory=list)
    priority_changed: list[dict[str, Any]] = field(default_factory=list)
    queue_changed: list[dict[str, Any]] = field(default_factory=list)
    precision_current: float | None = None
    precision_candidate: float | None = None
    recall_current: float | None = None
    recall_candidate: float | None = None
    feedback_used: int = 0
    missed_flags_used: int = 0
    explanation_changes: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# -- the pure part -----------------------------------------------------------------------------------
def candidate_escalation(policy: Policy, history: History, stresses: Sequence[float | None]) -> Flag | None:
    """The first turn at which ``policy`` escalates the conversation, given each turn's stress, decided
    exactly as the worker decides (a turn without a stress is stored but not decided on)."""
    conversation = new_conversation(history.conversation_id, history.started_at)  # transient, never stored
    conversation.customer_tier = history.tier
    for turn, stress in zip(history.turns, stresses, strict=True):
        customer_turn(conversation, turn.intent, stress, language=turn.language)
        if stress is None or conversation.state != ConversationState.BOT:
            continue
        decision = decide(policy, conversation, turn.text, as_utc(turn.at))
        if decision.escalate:
            return Flag(turn.message_id, decision.priority, decision.band, decision.queue)
    return None


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def compare(histories: Sequence[History], candidates: Sequence[Flag | None]) -> Report:
    """What changes between the stored escalations and the candidate's (``candidates[i]`` is
    ``histories[i]``'s)."""
    report = Report(
        conversations=len(histories),
        messages=sum(len(h.turns) for h in histories),
        escalations_current=sum(1 for h in histories if h.current is not None),
        escalations_candidate=sum(1 for c in candidates if c is not None),
    )
    judged = correct = candidate_judged = candidate_correct = missed = caught = 0
    for history, candidate in zip(histories, candidates, strict=True):
        current, cid = history.current, history.conversation_id
        if candidate is not None and current is None:
            report.added.append({"conversation_id": cid, **asdict(candidate)})
        elif candidate is None and current is not None:
            report.removed.append({"conversation_id": cid, **asdict(current), "verdict": history.verdict})
        elif candidate is not None and current is not None:
            if candidate.priority != current.priority:
                report.priority_changed.append(
                    {
                        "conversation_id": cid,
                        "current": current.priority,
                        "candidate": candidate.priority,
                        "band_current": current.band,
                        "band_candidate": candidate.band,
                    }
                )
            if candidate.queue != current.queue:
                report.queue_changed.append(
                    {"conversation_id": cid, "current": current.queue, "candidate": candidate.queue}
                )
        if history.missed and current is None:  # a stressed conversation the stored decisions missed
            missed += 1
            if candidate is not None:  # the candidate escalates it: a right flag and one recalled
                candidate_judged += 1
                candidate_correct += 1
                caught += 1
            continue
        if current is None or history.verdict not in (CORRECT, WRONG):
            continue
        judged += 1
        correct += history.verdict == CORRECT
        if candidate is not None:
            candidate_judged += 1
            candidate_correct += history.verdict == CORRECT
    report.feedback_used = judged + missed
    report.missed_flags_used = missed
    report.precision_current = _ratio(correct, judged)
    report.precision_candidate = _ratio(candidate_correct, candidate_judged)
    # positives: the escalations judged correct and the conversations marked as missed flags
    report.recall_current = _ratio(correct, correct + missed)
    report.recall_candidate = _ratio(candidate_correct, correct + missed)
    return report


def replay(
    histories: Sequence[History],
    policy: Policy,
    scorer: Scorer | None = None,
    *,
    explain: int = 0,
    explainer: Scorer | None = None,
) -> Report:
    """Re-decide every conversation under ``policy`` with stress from ``scorer`` (None: as stored), and
    compare. ``explain`` > 0 re-explains the escalating message of up to that many escalations both
    agree on with ``explainer`` (several model passes each) and lists the top words that changed."""
    stresses = _stresses(histories, scorer)
    candidates = [candidate_escalation(policy, h, s) for h, s in zip(histories, stresses, strict=True)]
    report = compare(histories, candidates)
    if explain > 0 and explainer is not None:
        report.explanation_changes = _explanation_changes(histories, candidates, explainer, explain)
    return report


def _stresses(histories: Sequence[History], scorer: Scorer | None) -> list[list[float | None]]:
    if scorer is None:
        return [[t.stress for t in h.turns] for h in histories]
    texts = [t.text for h in histories for t in h.turns]
    scores: list[float | None] = []
    for start in range(0, len(texts), SCORE_CHUNK):
        chunk = score_batch(scorer, texts[start : start + SCORE_CHUNK])
        scores += [s.stress if s is not None else None for s in chunk]
    out: list[list[float | None]] = []
    at = 0
    for h in histories:
        out.append(scores[at : at + len(h.turns)])
        at += len(h.turns)
    return out


def _explanation_changes(
    histories: Sequence[History], candidates: Sequence[Flag | None], explainer: Scorer, limit: int
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    agreed = [
        (h, c) for h, c in zip(histories, candidates, strict=True) if c is not None and h.current is not None
    ]
    for history, candidate in agreed[:limit]:
        text = next((t.text for t in history.turns if t.message_id == candidate.message_id), "")
        words = list(explainer.explain(text, "stress").top_words)
        if words != list(history.top_words):
            out.append(
                {
                    "conversation_id": history.conversation_id,
                    "message_id": candidate.message_id,
                    "current": list(history.top_words),
                    "candidate": words,
                }
            )
    return out


# -- reading the store ---------------------------------------------------------------------------------
def read_histories(
    session: Session, since: datetime | None = None, until: datetime | None = None
) -> list[History]:
    """The conversations started in ``[since, until]`` with their customer messages, first escalation by
    the policy and its latest verdict (four queries; nothing is written)."""
    query = select(Conversation.id, Conversation.started_at, Conversation.customer_tier)
    if since is not None:
        query = query.where(Conversation.started_at >= since)
    if until is not None:
        query = query.where(Conversation.started_at <= until)
    rows = session.execute(query.order_by(Conversation.id)).all()
    ids = {r.id for r in rows}
    turns: dict[str, list[Turn]] = {}
    for m in session.execute(
        select(
            Message.id,
            Message.conversation_id,
            Message.text,
            Message.intent,
            Message.stress,
            Message.created_at,
            Message.source_event_id,
            Message.language,
            Message.language_confidence,
        )
        .where(Message.sender == Sender.CUSTOMER)
        .order_by(Message.id)
    ):
        if m.conversation_id in ids:
            turns.setdefault(m.conversation_id, []).append(
                Turn(
                    m.id,
                    m.text,
                    m.intent,
                    m.stress,
                    as_utc(m.created_at),
                    m.source_event_id,
                    MessageLanguage(m.language, m.language_confidence),
                )
            )
    first: dict[str, Escalation] = {}
    for e in session.scalars(select(Escalation).order_by(Escalation.id)):
        if e.conversation_id in ids:
            first.setdefault(e.conversation_id, e)
    verdicts: dict[int, str] = {}
    for f in session.execute(select(Feedback.escalation_id, Feedback.verdict).order_by(Feedback.id)):
        verdicts[f.escalation_id] = f.verdict  # the latest wins
    missed = set(session.scalars(select(MissedFlag.conversation_id).distinct()))
    histories = []
    for r in rows:
        own = turns.get(r.id, [])
        escalation = first.get(r.id)
        current: Flag | None = None
        verdict: str | None = None
        top: tuple[str, ...] = ()
        if escalation is not None and escalation.trigger == POLICY_TRIGGER:
            current = Flag(
                _message_of(escalation, own), escalation.priority, escalation.priority_band, escalation.queue
            )
            verdict = verdicts.get(escalation.id) or (WRONG if escalation.unflagged else None)
            top = _top_words(escalation.explanations)
        elif escalation is not None:  # a hand-off the policy did not make: later turns were not decided
            cut = as_utc(escalation.created_at)
            own = [t for t in own if t.at <= cut]
        histories.append(
            History(
                r.id, as_utc(r.started_at), r.customer_tier, tuple(own), current, verdict, top, r.id in missed
            )
        )
    return histories


def _message_of(escalation: Escalation, turns: Iterable[Turn]) -> int | None:
    """The stored message the escalation was decided on: the one from its source event, else the
    latest stored before it."""
    turns = list(turns)
    same = [
        t.message_id
        for t in turns
        if escalation.source_event_id is not None and t.source_event_id == escalation.source_event_id
    ]
    if same:
        return same[0]
    cut = as_utc(escalation.created_at)
    before = [t.message_id for t in turns if t.at <= cut]
    return before[-1] if before else None


def _top_words(explanations: Sequence[Any] | None) -> tuple[str, ...]:
    for entry in explanations or ():
        if isinstance(entry, dict) and entry.get("top_words"):
            return tuple(str(w) for w in entry["top_words"])
    return ()


def read_only_engine(url: str) -> Engine:
    """An engine that cannot write: SQLite opened with ``mode=ro``, PostgreSQL with read-only
    transactions."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise ValueError(f"{url}: replay needs a database file")
        path = parsed.database
        return create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    engine = create_engine(url)
    if parsed.get_backend_name() == "postgresql":

        @event.listens_for(engine, "connect")
        def _read_only(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")
            cur.close()

    return engine
