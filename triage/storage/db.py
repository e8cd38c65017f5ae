"""Clearline's own tables (SQLAlchemy 2 ORM) and the session factory.

The schema is owned by Alembic migrations in ``triage/storage/migrations``; ``Base.metadata`` is what the
migrations are generated from. Rasa's tracker store and event broker live in their own tables (or
database) and are never written here.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    create_engine,
    event,
    false,
)
from sqlalchemy import text as sql  # not ``text``: Message has a column of that name
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship, sessionmaker

from triage.domain.lifecycle import ConversationState
from triage.domain.policy import DEFAULT_TIER

__all__ = ["ConversationState"]  # defined by the domain; re-exported for the adapters


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class Role(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


# the roles that see every conversation and may override the automatic decisions
SUPERVISING_ROLES = (Role.SUPERVISOR, Role.ADMIN)


class AgentStatus(enum.StrEnum):
    AVAILABLE = "available"
    AWAY = "away"
    OFFLINE = "offline"


class Sender(enum.StrEnum):
    CUSTOMER = "customer"
    BOT = "bot"
    AGENT = "agent"
    SYSTEM = "system"


class User(Base):
    """A person who logs in: agents, supervisors, admins. Agents carry routing attributes."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(Enum(Role, native_enum=False, length=16))
    # queues this agent can serve, e.g. ["cards", "transfers"]
    skills: Mapped[list[Any]] = mapped_column(default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=3)
    status: Mapped[AgentStatus] = mapped_column(
        Enum(AgentStatus, native_enum=False, length=16), default=AgentStatus.OFFLINE
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuthSession(Base):
    """One sign-in: a browser session (cookie) or a bearer token. Its id travels inside the signed cookie
    or token and is looked up on every request, so logging out ends it on the server, not only in the
    browser that logged out."""

    __tablename__ = "auth_sessions"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # random, secrets.token_urlsafe
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # cookie | bearer
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)  # rows past it are deleted at sign-in
    revoked_at: Mapped[datetime | None] = mapped_column()


class Conversation(Base):
    """One customer conversation, keyed by Rasa's sender id."""

    __tablename__ = "conversations"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)  # Rasa sender_id
    channel: Mapped[str | None] = mapped_column(String(64))
    state: Mapped[ConversationState] = mapped_column(
        Enum(ConversationState, native_enum=False, length=16), default=ConversationState.BOT
    )
    customer_tier: Mapped[str] = mapped_column(String(32), default=DEFAULT_TIER)
    latest_intent: Mapped[str | None] = mapped_column(String(128))
    # the intents of the latest customer utterances, oldest first (None where the NLU gave none), at most
    # triage.domain.policy.MAX_RECENT_INTENTS: the policy's topic. NULL for rows from before 0008.
    recent_intents: Mapped[list[Any] | None] = mapped_column()
    fallback_count: Mapped[int] = mapped_column(Integer, default=0)
    # the customer's language (ISO 639-1) as of their latest message that the detector could judge
    # (triage.domain.language); NULL: none judged yet, or a row from before 0010
    language: Mapped[str | None] = mapped_column(String(8))
    human_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    # stress of each customer utterance in order, for the trajectory chart and the trend factor
    stress_trajectory: Mapped[list[Any]] = mapped_column(default=list)
    # the highest of them and the newest escalation, kept with the row so the supervisor's list filters
    # and sorts without grouping every message and escalation (no foreign key: the two tables would
    # point at each other, and the escalation row is written after the conversation's)
    max_stress: Mapped[float | None] = mapped_column(Float)
    latest_escalation_id: Mapped[int | None] = mapped_column(Integer)
    queue: Mapped[str | None] = mapped_column(String(64))
    priority: Mapped[int | None] = mapped_column(Integer)  # 0..100, higher is more urgent
    priority_band: Mapped[str | None] = mapped_column(String(16))  # e.g. P1..P4
    # a person set the priority since the last escalation: the customer's tier no longer moves it
    priority_overridden: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    assigned_agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic locking for concurrent edits
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_message_at: Mapped[datetime] = mapped_column(default=utcnow)
    escalated_at: Mapped[datetime | None] = mapped_column()
    queued_at: Mapped[datetime | None] = mapped_column()  # start of the current wait in the queue
    assigned_at: Mapped[datetime | None] = mapped_column()
    first_agent_reply_at: Mapped[datetime | None] = mapped_column()
    sla_deadline: Mapped[datetime | None] = mapped_column()
    sla_breached: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved_at: Mapped[datetime | None] = mapped_column()
    # a keyed hash of the provider's customer id, set from the bot's ``customer_ref`` slot once the bot
    # knows who this is (migration 0019): links a customer's conversations without storing who they are
    customer_ref: Mapped[str | None] = mapped_column(String(64), index=True)

    assigned_agent: Mapped[User | None] = relationship()
    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.id", cascade="all, delete-orphan"
    )
    escalations: Mapped[list[Escalation]] = relationship(
        back_populates="conversation", order_by="Escalation.id", cascade="all, delete-orphan"
    )

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        Index("ix_conversations_state_queue", "state", "queue"),
        Index("ix_conversations_max_stress", "max_stress"),
        Index("ix_conversations_escalated_at", "escalated_at"),
        Index("ix_conversations_started_at", "started_at"),  # bias audit, replay windows (migration 0018)
        Index("ix_conversations_latest_escalation_id", "latest_escalation_id"),
        # the supervisor's list order (api.queries.URGENCY): most urgent first, then the newest
        Index(
            "ix_conversations_urgency",
            sql("coalesce(priority, -1) DESC"),
            sql("coalesce(escalated_at, last_message_at) DESC"),
            "id",
        ),
    )


class Message(Base):
    """A stored utterance. Text is PII-redacted before it is written."""

    __tablename__ = "messages"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    sender: Mapped[Sender] = mapped_column(Enum(Sender, native_enum=False, length=16))
    text: Mapped[str] = mapped_column(Text)  # redacted
    # where the redaction placeholders are in ``text``: [{"entity", "start", "end"}]. None: stored before
    # 0007, when nobody recorded them (a "<EMAIL>" in such a text is shown as text, never as a redaction)
    redactions: Mapped[list[Any] | None] = mapped_column()
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # the broker event's id: a row id of Rasa's SQL broker, or a message broker's ``event_number`` (53
    # bits: BigInteger, which PostgreSQL's 32-bit integer cannot hold)
    source_event_id: Mapped[int | None] = mapped_column(BigInteger)
    intent: Mapped[str | None] = mapped_column(String(128))
    intent_confidence: Mapped[float | None] = mapped_column(Float)
    # customer messages: the language they are taken to be in (ISO 639-1), detected, or inherited from the
    # conversation when the detector could not judge the text; language_confidence is the detector's and
    # NULL when inherited. Both NULL: unknown, or stored before 0010
    language: Mapped[str | None] = mapped_column(String(8))
    language_confidence: Mapped[float | None] = mapped_column(Float)
    # emotion scores: {"emotions": {label: p}, "labels": [...], "stress": p, "flag": bool}
    stress: Mapped[float | None] = mapped_column(Float)
    flagged: Mapped[bool] = mapped_column(Boolean, default=False)
    emotions: Mapped[dict[str, Any] | None] = mapped_column()
    labels: Mapped[list[Any] | None] = mapped_column()
    model_version: Mapped[str | None] = mapped_column(String(128))
    # the shadow model's score of this message, acting on nothing (triage/monitoring/shadow.py)
    shadow_stress: Mapped[float | None] = mapped_column(Float)
    shadow_flagged: Mapped[bool | None] = mapped_column(Boolean)
    shadow_model_version: Mapped[str | None] = mapped_column(String(128))
    event_at: Mapped[datetime | None] = mapped_column()  # when Rasa wrote the event
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    scored_at: Mapped[datetime | None] = mapped_column()
    delivered: Mapped[bool | None] = mapped_column(Boolean)  # agent replies: reached Rasa?

    conversation: Mapped[Conversation] = relationship(back_populates="messages")

    # a Rasa event is stored at most once, whatever happens to the worker
    __table_args__ = (
        Index("ux_messages_source_event_id", "source_event_id", unique=True),
        # the figures' stress histogram over a time window reads this index alone (customer turns only)
        Index(
            "ix_messages_scored",
            "created_at",
            "stress",
            postgresql_where=sql("stress IS NOT NULL"),
            sqlite_where=sql("stress IS NOT NULL"),
        ),
        # where the shadow model's scoring goes on from (its latest scored message; migration 0017)
        Index(
            "ix_messages_shadow",
            "shadow_model_version",
            "id",
            postgresql_where=sql("shadow_model_version IS NOT NULL"),
            sqlite_where=sql("shadow_model_version IS NOT NULL"),
        ),
        # the figures by agent: agents' replies in a window (one message in thirty; migration 0015)
        Index(
            "ix_messages_agent_replies",
            "created_at",
            "agent_id",
            "conversation_id",
            postgresql_where=sql("sender = 'AGENT'"),
            sqlite_where=sql("sender = 'AGENT'"),
        ),
    )


class Escalation(Base):
    """Why and how a conversation was handed to people; explanations travel with it."""

    __tablename__ = "escalations"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(32))  # policy | bot_request | supervisor
    source_event_id: Mapped[int | None] = mapped_column(BigInteger)  # the broker event that tipped it
    priority: Mapped[int] = mapped_column(Integer)
    priority_band: Mapped[str] = mapped_column(String(16))
    queue: Mapped[str] = mapped_column(String(64))
    score: Mapped[float] = mapped_column(Float)  # the policy's total
    # [{"factor": "stress", "value": 0.91, "contribution": 45, "text": "stress 0.91 -> +45"}, ...]; a signal
    # factor (shouting, person_request...) also has "words": [{"word", "start", "end"}] (offsets into the
    # redacted text, in code points) and "message_id", the message they are in
    factors: Mapped[list[Any]] = mapped_column(default=list)
    # [{"message_id", "text", "words": [{"word","start","end","attribution"}], "delta",
    #   "comprehensiveness", "sufficiency", "random_comprehensiveness", "score", "score_without_top",
    #   "target"}]
    explanations: Mapped[list[Any]] = mapped_column(default=list)
    # entries marked {"pending": true} are being explained by the worker, moments after the escalation
    explanations_pending: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    policy_version: Mapped[str] = mapped_column(String(64))
    model_version: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # supervisor/agent verdict on the flag: None (no feedback), "correct", "wrong"
    feedback_state: Mapped[str | None] = mapped_column(String(16))
    unflagged: Mapped[bool] = mapped_column(Boolean, default=False)

    conversation: Mapped[Conversation] = relationship(back_populates="escalations")

    __table_args__ = (Index("ix_escalations_created_at", "created_at"),)  # the figures' window


class Feedback(Base):
    """A person's correction of a flag and of highlighted words: kept to evaluate and retrain."""

    __tablename__ = "feedback"
    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(ForeignKey("escalations.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    verdict: Mapped[str] = mapped_column(String(16))  # correct | wrong
    # words the person says should not have been highlighted: [{"message_id", "start", "end", "word"}]
    unmarked_words: Mapped[list[Any]] = mapped_column(default=list)
    # words of the customer's messages that should have been (migration 0016), the same shape; offsets in
    # code points of the redacted text, checked against it (triage.domain.feedback)
    added_words: Mapped[list[Any]] = mapped_column(default=list, server_default=sql("'[]'"))
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class MissedFlag(Base):
    """A person's word that the policy should have escalated this conversation and did not (migration
    0016): optionally the customer message that should have triggered it and the words that should have
    been highlighted. Kept to measure recall and to retrain; erased and purged with the conversation."""

    __tablename__ = "missed_flags"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"))  # a customer message of it
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str | None] = mapped_column(Text)  # redacted
    # [{"message_id", "start", "end", "word"}] as Feedback.added_words
    words: Mapped[list[Any]] = mapped_column(default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    user: Mapped[User] = relationship()


class AuditRecord(Base):
    """Every automated decision and every human action: who or what, when, inputs, outcome, versions."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor_type: Mapped[str] = mapped_column(String(16))  # system | user
    actor: Mapped[str] = mapped_column(String(128))  # "worker", "policy", "router", or a username
    action: Mapped[str] = mapped_column(String(64))  # score, policy, escalate, assign, sla_breach, reply...
    conversation_id: Mapped[str | None] = mapped_column(String(255), index=True)
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outcome: Mapped[dict[str, Any]] = mapped_column(default=dict)
    versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # the figures by agent count resolutions by action in a window (migration 0015)
    __table_args__ = (Index("ix_audit_log_action_at", "action", "at"),)


class ConsumerOffset(Base):
    """The worker's position in Rasa's event table (or in a Kafka partition, ``kafka:<topic>:<partition>``),
    committed with the rows it produced."""

    __tablename__ = "consumer_offsets"
    consumer: Mapped[str] = mapped_column(String(64), primary_key=True)
    last_event_id: Mapped[int] = mapped_column(BigInteger, default=0)  # Kafka offsets pass 2**31
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class EventReceipt(Base):
    """A message broker's event the worker processed, by its stable key (``triage.rabbitmq_topology.
    event_key``), committed with the rows it produced: a redelivered or re-published event is skipped.
    ``event_at`` (Rasa's timestamp) tells the worker which event of a conversation it saw last. Rows older
    than a few days are purged (``triage.worker.receipts.purge_receipts``); an erasure removes a
    customer's rows."""

    __tablename__ = "event_receipts"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    sender_id: Mapped[str] = mapped_column(String(255))
    event_at: Mapped[datetime | None] = mapped_column()  # None: the event had no timestamp
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)

    # the newest event of a conversation: one index lookup per conversation of a batch
    __table_args__ = (Index("ix_event_receipts_sender_event_at", "sender_id", "event_at"),)


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL and a busy timeout so api and worker can share the file."""
    if url.startswith("sqlite"):
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.close()

    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class OutboxCommand(Base):
    """A command for Rasa's HTTP API (pause, resume, say), written in the same transaction as the
    business rows that caused it and delivered afterwards, with retries if Rasa is down."""

    __tablename__ = "outbox"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(255), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # pause, resume, say, utter, answer_pending
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    # not before this time: a relay's lease while it sends, or the retry backoff after a failure
    next_attempt_at: Mapped[datetime | None] = mapped_column()
    # given up without delivering (a webhook refused for good or failing too long): never tried again
    abandoned_at: Mapped[datetime | None] = mapped_column()


class ConversationNote(Base):
    """An agent's or supervisor's internal note on a conversation: never sent to the customer. Text is
    PII-redacted before it is written, like everything people write about a conversation."""

    __tablename__ = "conversation_notes"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    text: Mapped[str] = mapped_column(Text)  # redacted
    redactions: Mapped[list[Any]] = mapped_column(default=list)  # [{"entity", "start", "end"}] in text
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CannedReply(Base):
    """A reply agents insert and edit before sending; ``{{variable}}`` placeholders are filled from the
    conversation (``triage.domain.canned``). ``queue`` None: offered in every queue."""

    __tablename__ = "canned_replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    queue: Mapped[str | None] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(80))
    body: Mapped[str] = mapped_column(Text)
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    # one title per queue (and one among the replies offered everywhere)
    __table_args__ = (
        Index("ux_canned_replies_queue_title", sql("coalesce(queue, '')"), "title", unique=True),
    )


class Alert(Base):
    """A condition supervisors must see (triage.domain.alerts): raised once per key, acknowledged by a
    supervisor. Its text names conversations, queues and agents, never a customer's words."""

    __tablename__ = "alerts"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(255), unique=True)  # one alert per condition and subject
    severity: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    conversation_id: Mapped[str | None] = mapped_column(String(255), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    acknowledged_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


# The workplace's tables share Base; importing them here registers them wherever this module is imported.
from triage.storage import workplace_tables  # noqa: E402, F401
