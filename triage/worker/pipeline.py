"""One batch of Rasa events -> stored messages, scores, policy decisions and escalations.

Everything a batch produces is added to one session; the worker commits it together with the new
consumer offset, so a crash at any point leaves either all of it or none of it. A batch does not route
escalated conversations to agents: the leading worker does (``Worker.route_once``), so that two workers'
batches never conflict over agents' seats and roll back. The batch locks the conversations it reads
(``triage.services.locking``): neither routing nor an agent's edit can change one of them before the batch
writes it, so the batch does not roll back over them either.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

import structlog
from sqlalchemy.orm import Session

from sentiment.types import UtteranceScore
from triage import audit, services
from triage.domain.language import MessageLanguage, message_language
from triage.domain.policy import DEFAULT_TIER, Decision, Policy
from triage.language import detect
from triage.storage.db import Conversation, ConversationState, Message, Sender, utcnow
from triage.worker.broker import BrokerEvent
from triage.worker.explaining import driving_messages, latest_customer_message, pending_record
from triage.worker.reading import CustomerRefSet, TierSet, Utterance, read_events
from triage.worker.scoring import PipelineMetrics, Scorer, score_batch
from triage.worker.turns import customer_turn, decide

if TYPE_CHECKING:
    from triage.worker.reading import Redact

log = structlog.get_logger("triage.worker.pipeline")

# Each explanation is several model passes (the figures are in the README and the model card, measured
# by `clearline bench sentiment` and `bench pipeline`): only the most stressed utterance that counted is
# explained by default.
MAX_EXPLAINED = 1


@dataclass
class BatchResult:
    last_event_id: int
    events: int = 0
    stored: int = 0
    scored: int = 0
    skipped: int = 0
    tiers: int = 0  # customer_tier slot events
    escalated: list[str] = field(default_factory=list)
    newest_event_at: datetime | None = None


class BatchProcessor:
    """Applies one batch of broker events to Clearline's tables (no commit)."""

    def __init__(
        self,
        scorer: Scorer,
        policy: Policy,
        redact: Redact,
        metrics: PipelineMetrics | None = None,
        max_explained: int = MAX_EXPLAINED,
    ) -> None:
        self.scorer = scorer
        self.policy = policy
        self.redact = redact
        self.metrics = metrics
        self.max_explained = max_explained
        self._fresh: dict[str, list[Message]] = {}  # this batch's customer messages, per conversation

    def process(self, session: Session, events: list[BrokerEvent]) -> BatchResult:
        result = BatchResult(last_event_id=events[-1].id if events else 0, events=len(events))
        items, result.skipped = read_events(events, self.redact)
        utterances = [item for item in items if isinstance(item, Utterance)]
        scores = score_batch(
            self.scorer, [u.text for u in utterances if u.sender == Sender.CUSTOMER], self.metrics
        )
        result.scored = sum(1 for score in scores if score is not None)
        score_iter = iter(scores)
        # one query for the batch's conversations instead of a lookup (and autoflush) per event; after
        # scoring, and locked until the batch commits: routing or an agent's edit waits for the batch or
        # passes the row by, instead of changing it between this read and the batch's write
        self._fresh = {}
        conversations = services.lock_conversations(session, {item.event.sender_id for item in items})
        for item in items:
            if isinstance(item, TierSet):
                self._set_tier(session, conversations, item)
                result.tiers += 1
                continue
            if isinstance(item, CustomerRefSet):
                conversation = self._conversation(session, conversations, item.event.sender_id, item.at)
                conversation.customer_ref = item.value
                continue
            utterance = item
            conversation = self._conversation(session, conversations, utterance.event.sender_id, utterance.at)
            score = next(score_iter) if utterance.sender == Sender.CUSTOMER else None
            self._store(session, conversation, utterance, score)
            result.stored += 1
            result.newest_event_at = utterance.at
            in_bot = conversation.state == ConversationState.BOT
            if in_bot and self._decide_after(session, conversation, utterance, score):
                result.escalated.append(conversation.id)
        return result

    def _decide_after(
        self, session: Session, conversation: Conversation, utterance: Utterance, score: UtteranceScore | None
    ) -> bool:
        """The policy decides after a scored customer message, and after a bot message in a form that
        marks failed attempts the policy weighs; True when the conversation escalated."""
        if score is not None:
            return self._apply_policy(session, conversation, utterance, score)
        if self._form_failures_count(utterance):
            return self._apply_form_failures(session, conversation, utterance)
        return False

    def _form_failures_count(self, utterance: Utterance) -> bool:
        """A bot message in a form whose failed attempts the policy weighs (``form_failures``)."""
        factor = self.policy.config.factors.form_failures
        count = utterance.form_failures
        return (
            utterance.sender == Sender.BOT
            and count is not None
            and factor is not None
            and factor.applies(count)
        )

    def _apply_form_failures(
        self, session: Session, conversation: Conversation, utterance: Utterance
    ) -> bool:
        """The bot's form failed the customer again: the policy decides once more on their latest scored
        message, with the failed attempts the bot's mark counts."""
        latest = latest_customer_message(session, conversation.id, self._fresh.get(conversation.id, []))
        if latest is None or latest.stress is None:
            return False
        fresh = self._fresh.setdefault(conversation.id, [])
        if all(m is not latest for m in fresh):
            fresh.append(latest)  # the message the escalation's words point into
        score = UtteranceScore(
            latest.text, dict(latest.emotions or {}), list(latest.labels or []), latest.stress,
            latest.flagged, latest.model_version or "",
        )  # fmt: skip
        return self._apply_policy(
            session, conversation, utterance, score, form_failures=utterance.form_failures
        )

    @staticmethod
    def _conversation(
        session: Session, cache: dict[str, Conversation], sender_id: str, at: datetime
    ) -> Conversation:
        conversation = cache.get(sender_id)
        if conversation is None:
            conversation = services.new_conversation(sender_id, at)
            session.add(conversation)
        cache[sender_id] = conversation
        return conversation

    def _set_tier(self, session: Session, cache: dict[str, Conversation], change: TierSet) -> None:
        """Store the tier the bot set; none counts as standard, and so (with a warning) does a value the
        policy's ``tiers`` do not list. Audited when the stored tier changes or a value was not taken as sent.
        """
        value, sender_id = change.value, change.event.sender_id
        tier = value if isinstance(value, str) and value in self.policy.config.factors.tiers else DEFAULT_TIER
        replaced = value is not None and value != tier
        if replaced:
            log.warning(
                "unknown_customer_tier",
                conversation_id=sender_id,
                value=str(value)[:64],
                source_event_id=change.event.id,
            )
        existing = cache.get(sender_id)
        previous = existing.customer_tier if existing is not None else DEFAULT_TIER
        if tier == previous and not replaced:
            return  # nothing changes (a new conversation starts at the default tier)
        conversation = self._conversation(session, cache, sender_id, change.at)
        conversation.customer_tier = tier
        audit.record(
            session,
            audit.WORKER,
            "tier",
            conversation_id=sender_id,
            inputs={
                "source_event_id": change.event.id,
                "slot_value": None if value is None else str(value)[:64],
            },
            outcome={"tier": tier, "previous": previous},
            versions={"policy": self.policy.version},
        )
        # a customer already waiting for an agent moves in the queue with their tier
        services.follow_tier(
            session,
            conversation,
            previous_tier=previous,
            policy=self.policy,
            actor=audit.WORKER,
            source_event_id=change.event.id,
        )

    def _store(
        self,
        session: Session,
        conversation: Conversation,
        utterance: Utterance,
        score: UtteranceScore | None,
    ) -> None:
        now = utcnow()
        message = Message(
            conversation_id=conversation.id,
            sender=utterance.sender,
            text=utterance.text,
            redactions=list(utterance.redactions),
            source_event_id=utterance.event.id,
            event_at=utterance.at,
            created_at=now,
        )
        conversation.last_message_at = utterance.at
        if utterance.sender == Sender.CUSTOMER:
            message.intent, message.intent_confidence = utterance.intent, utterance.confidence
            found = detect(utterance.text)  # the redacted text: its placeholders are not read
            language = message_language(found.language, found.confidence, conversation.language)
            message.language, message.language_confidence = language.language, language.confidence
            self._update_conversation(session, conversation, utterance, score, language)
        if score is not None:
            message.stress, message.flagged = score.stress, score.flag
            message.emotions, message.labels = dict(score.emotions), list(score.labels)
            message.model_version, message.scored_at = score.model, now
        session.add(message)  # flushed with the batch: the source event id identifies it in the audit
        if utterance.sender != Sender.CUSTOMER:
            return
        self._fresh.setdefault(conversation.id, []).append(message)
        audit.record(
            session,
            audit.WORKER,
            "score" if score is not None else "score_refused",
            conversation_id=conversation.id,
            inputs={"source_event_id": utterance.event.id},
            outcome={"stress": score.stress, "flag": score.flag, "labels": list(score.labels)}
            if score
            else {},
            # the active pair this batch scores and decides with
            versions={"model": score.model, "policy": self.policy.version} if score else {},
            at=now,
        )

    @staticmethod
    def _update_conversation(
        session: Session,
        conversation: Conversation,
        utterance: Utterance,
        score: UtteranceScore | None,
        language: MessageLanguage,
    ) -> None:
        stress = score.stress if score is not None else None
        back = customer_turn(conversation, utterance.intent, stress, utterance.channel, language)
        for note in back.audit:
            audit.record(
                session,
                audit.WORKER,
                note.action,
                conversation_id=conversation.id,
                inputs={"source_event_id": utterance.event.id},
            )

    def _apply_policy(
        self,
        session: Session,
        conversation: Conversation,
        utterance: Utterance,
        score: UtteranceScore,
        form_failures: int | None = None,
    ) -> bool:
        """Decide after ``utterance``: a customer's (its redacted text, as stored), or the bot's form mark
        (then ``score`` is the latest customer message's and ``form_failures`` the mark's count)."""
        text = score.text if form_failures is not None else utterance.text
        decision = decide(self.policy, conversation, text, form_failures=form_failures or 0)
        audit.record(
            session,
            audit.POLICY,
            "policy",
            conversation_id=conversation.id,
            inputs={
                "source_event_id": utterance.event.id,
                "stress": score.stress,
                "intent": conversation.latest_intent,
                **({"form_failures": form_failures} if form_failures is not None else {}),
                "language": conversation.language,
            },
            outcome=decision.as_dict(),
            versions={"policy": decision.policy_version, "model": score.model},
        )
        if not decision.escalate:
            return False
        driving = self._driving(session, conversation, decision)
        session.flush()  # message ids for the pending explanation entries and the signals' words
        decision = decision.in_message(self._fresh[conversation.id][-1].id)
        escalation = services.escalate(
            session,
            conversation.id,
            decision=decision,
            explanations=[pending_record(message) for message in driving],
            trigger="policy",
            actor=audit.WORKER,
            model_version=score.model,
            source_event_id=utterance.event.id,
        )
        escalation.explanations_pending = bool(driving)  # explained right after, off this batch
        if self.metrics is not None:
            self.metrics.escalated(decision.queue)
        log.info(
            "escalated",
            conversation_id=conversation.id,
            priority=decision.priority,
            queue=decision.queue,
            source_event_id=utterance.event.id,
        )
        return True

    def _driving(self, session: Session, conversation: Conversation, decision: Decision) -> list[Message]:
        """The utterances whose stress drove the flag (none when stress played no part)."""
        if not any(f.factor in ("stress", "trend") for f in decision.factors):
            return []
        cfg = self.policy.config.factors
        return driving_messages(
            session,
            conversation.id,
            self._fresh.get(conversation.id, []),
            max(cfg.trend.window, 1),
            cfg.stress.min,
            self.max_explained,
        )
