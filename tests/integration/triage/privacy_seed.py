"""Seeds for the privacy tests: Clearline's tables through the real services, and Rasa's tracker store and
event broker as Rasa 3.6 creates them (rasa/core/tracker_store.py SQLEvent, rasa/core/brokers/sql.py)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    insert,
    inspect,
    text,
    update,
)
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api import factories
from triage import audit, services
from triage.audit import Actor
from triage.benchmarks.rasa_events import bot_event, user_event
from triage.domain.policy import current_policy
from triage.privacy.rasa import clearline_url
from triage.privacy.rules import ACTIVITY_COLUMNS, TRANSCRIPT_VIEW
from triage.storage.db import (
    AgentStatus,
    AuditRecord,
    ConsumerOffset,
    Conversation,
    ConversationState,
    Message,
    Role,
    Sender,
    User,
    session_scope,
    utcnow,
)
from triage.storage.outbox import enqueue
from triage.worker.broker import events_metadata, events_table

tracker_metadata = MetaData()
tracker_events = Table(  # rasa.core.tracker_store.SQLTrackerStore.SQLEvent
    "events",
    tracker_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)


def create_rasa_tables(tracker_url: str, broker_url: str) -> None:
    for metadata, url in ((tracker_metadata, tracker_url), (events_metadata, broker_url)):
        engine = create_engine(clearline_url(url))
        metadata.create_all(engine)
        engine.dispose()


@dataclass(frozen=True)
class Team:
    alice: int  # agent (cards, general)
    sam: int  # supervisor
    root: int  # admin


def team(factory: sessionmaker[Session]) -> Team:
    with session_scope(factory) as session:
        return Team(
            factories.user(session, "alice", Role.AGENT, ("cards", "general")).id,
            factories.user(session, "sam", Role.SUPERVISOR).id,
            factories.user(session, "root", Role.ADMIN).id,
        )


def _user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    assert user is not None
    return user


def seed_handed_off(factory: sessionmaker[Session], people: Team, conversation_id: str, words: str) -> None:
    """A conversation escalated, accepted, answered, corrected, requeued (the agent went offline) and
    transferred, its transcript opened by the supervisor: every Clearline table holds something of it,
    and ``words`` is in its messages, explanation, outbox, feedback and the audit's reasons."""
    with session_scope(factory) as session:
        factories.escalated(session, conversation_id, text=f"{words}: this is ridiculous, my card was stolen")
    with session_scope(factory) as session:
        alice, sam = _user(session, people.alice), _user(session, people.sam)
        services.accept(session, conversation_id, alice)
        reply = Message(
            conversation_id=conversation_id, sender=Sender.AGENT, text=f"About {words}", agent_id=alice.id
        )
        session.add(reply)
        session.flush()
        enqueue(session, conversation_id, "say", {"text": f"About {words}", "message_id": reply.id})
        conversation = session.get(Conversation, conversation_id)
        assert conversation is not None
        services.record_feedback(
            session,
            conversation.escalations[-1].id,
            user=sam,
            verdict="correct",
            unmarked_words=[{"message_id": reply.id, "start": 0, "end": 5, "word": words}],
            comment=f"right call, {words}",
        )
        services.set_agent_status(session, alice, AgentStatus.OFFLINE, actor=Actor("user", "alice", alice.id))
        services.transfer(
            session,
            conversation_id,
            actor=Actor("user", "sam", sam.id),
            to_queue="general",
            reason=f"moved because of {words}",
        )
        services.set_agent_status(
            session, alice, AgentStatus.AVAILABLE, actor=Actor("user", "alice", alice.id)
        )
        session.add(
            AuditRecord(
                actor_type="user",
                actor="sam",
                action=TRANSCRIPT_VIEW,
                conversation_id=conversation_id,
                inputs={"user_id": sam.id},
            )
        )
        policy_decision(session, conversation_id, words)


def policy_decision(session: Session, conversation_id: str, words: str, at: datetime | None = None) -> None:
    """The worker's ``policy`` record for a customer who shouted ``words``: the decision's signal factors
    list the words they point at."""
    policy = current_policy()
    conversation = session.get(Conversation, conversation_id)
    assert conversation is not None
    decision = policy.evaluate(
        services.policy_input(
            conversation, signals=policy.detect(f"{words.upper()} WHY IS NOBODY HELPING!!!")
        )
    )
    audit.record(
        session,
        audit.POLICY,
        "policy",
        conversation_id=conversation_id,
        inputs={"stress": 0.9},
        outcome=decision.as_dict(),
        versions={"policy": decision.policy_version},
        at=at,
    )


def seed_bot_only(factory: sessionmaker[Session], conversation_id: str, words: str, at: datetime) -> None:
    """A conversation the bot handled alone, last active at ``at`` (every activity column)."""
    with session_scope(factory) as session:
        session.add(services.new_conversation(conversation_id, at))
        session.add(
            Message(conversation_id=conversation_id, sender=Sender.CUSTOMER, text=words, created_at=at)
        )
        session.add(Message(conversation_id=conversation_id, sender=Sender.BOT, text="Sure.", created_at=at))
        session.flush()
        policy_decision(session, conversation_id, words, at)


def age(factory: sessionmaker[Session], conversation_id: str, at: datetime, state: ConversationState) -> None:
    """Move every activity of a conversation (and its audit records) to ``at``."""
    with session_scope(factory) as session:
        row = session.get(Conversation, conversation_id)
        assert row is not None
        values: dict[str, Any] = {
            name: at
            for name in ACTIVITY_COLUMNS
            if name in ("started_at", "last_message_at") or getattr(row, name)
        }
        session.execute(
            update(Conversation).where(Conversation.id == conversation_id).values(state=state, **values)
        )
        session.execute(
            update(AuditRecord).where(AuditRecord.conversation_id == conversation_id).values(at=at)
        )


def rasa_turns(
    tracker_url: str, broker_url: str, sender_id: str, words: str, at: datetime, turns: int = 2
) -> list[int]:
    """``turns`` customer/bot exchanges in both of Rasa's stores at ``at``; the broker's ids."""
    tracker = create_engine(clearline_url(tracker_url))
    broker = create_engine(clearline_url(broker_url))
    ids = []
    try:
        with tracker.begin() as t, broker.begin() as b:
            for turn in range(turns):
                stamp = (at + timedelta(seconds=turn)).timestamp()
                for event in (
                    user_event(f"{words} ({turn})", timestamp=stamp),
                    bot_event("Let me check.", timestamp=stamp),
                ):
                    t.execute(
                        insert(tracker_events).values(
                            sender_id=sender_id,
                            type_name=event["event"],
                            timestamp=event["timestamp"],
                            intent_name=event.get("parse_data", {}).get("intent", {}).get("name"),
                            data=json.dumps(event),
                        )
                    )
                    row = insert(events_table).values(sender_id=sender_id, data=json.dumps(event))
                    key = b.execute(row).inserted_primary_key
                    assert key is not None
                    ids.append(int(key[0]))
    finally:
        tracker.dispose()
        broker.dispose()
    return ids


def set_offset(factory: sessionmaker[Session], last_event_id: int) -> None:
    with session_scope(factory) as session:
        offset = session.get(ConsumerOffset, "triage-worker")
        if offset is None:
            session.add(ConsumerOffset(consumer="triage-worker", last_event_id=last_event_id))
        else:
            offset.last_event_id = last_event_id


def everything(url: str) -> str:
    """Every row of every table of a database, as one text to search."""
    engine = create_engine(clearline_url(url))
    try:
        with engine.connect() as conn:
            parts = []
            for name in inspect(conn).get_table_names():
                rows = conn.execute(text(f'SELECT * FROM "{name}"')).all()
                parts.extend(json.dumps([str(v) for v in row], ensure_ascii=False) for row in rows)
            return "\n".join(parts)
    finally:
        engine.dispose()


def now() -> datetime:
    return utcnow()
