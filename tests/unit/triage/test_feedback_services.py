"""Feedback worth learning from on a real SQLite database: added words with a verdict, and missed flags,
checked against the stored (redacted) messages, stored and audited."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from triage import services
from triage.audit import WORKER, Actor
from triage.domain.policy import PolicyInput
from triage.errors import ConversationNotFound, InvalidTransition, ValidationError
from triage.storage.db import AuditRecord, Feedback, Message, MissedFlag, Role, Sender

from .conftest import add_user

ANGRY = "Still nothing 😡 I want my money back"  # "money" is at 26 in code points, 27 in UTF-16 units


def message(session, conversation_id, sender, text, redactions=None):
    row = Message(conversation_id=conversation_id, sender=sender, text=text, redactions=redactions)
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def talk(session):
    """c1: the bot's conversation (a bot turn, two customer turns, one with a redaction); c2 another."""
    for cid in ("c1", "c2"):
        session.add(services.new_conversation(cid))
    session.flush()
    return {
        "bot": message(session, "c1", Sender.BOT, "How can I help?"),
        "angry": message(session, "c1", Sender.CUSTOMER, ANGRY),
        "mail": message(
            session, "c1", Sender.CUSTOMER, "mail <EMAIL> today", [{"entity": "EMAIL", "start": 5, "end": 12}]
        ),
        "other": message(session, "c2", Sender.CUSTOMER, "money please"),
    }


def escalate(session, policy, cid, trigger="policy"):
    decision = policy.evaluate(PolicyInput(0.95, [0.2, 0.95], intent="compromised_card"))
    return services.escalate(session, cid, decision=decision, explanations=[], trigger=trigger, actor=WORKER)


def money(talk):
    return {"message_id": talk["angry"].id, "start": 26, "end": 31, "word": "money"}


def audit_of(session, action):
    return session.scalars(select(AuditRecord).where(AuditRecord.action == action)).one()


def test_a_verdict_keeps_the_added_words_and_audits_them(session, talk, policy):
    escalation = escalate(session, policy, "c1")
    ann = add_user(session, "ann")
    feedback = services.record_feedback(
        session,
        escalation.id,
        user=ann,
        verdict="correct",
        unmarked_words=[],
        comment="yes",
        added_words=[money(talk)],
    )
    assert session.get(Feedback, feedback.id).added_words == [money(talk)]
    record = audit_of(session, "feedback")
    assert record.inputs["added_words"] == [money(talk)] and record.outcome["verdict"] == "correct"
    # an older caller that names no added words stores an empty list
    plain = services.record_feedback(
        session, escalation.id, user=ann, verdict="wrong", unmarked_words=[], comment=None
    )
    assert plain.added_words == []


@pytest.mark.parametrize(
    ("which", "start", "end", "word", "says"),
    [
        ("angry", 27, 32, "money", "is not the text at [27, 32)"),  # UTF-16 offsets after the emoji
        ("angry", 30, 99, "money", "outside its text"),
        ("bot", 0, 3, "How", "is the bot's"),
        ("other", 0, 5, "money", "is not a message of conversation 'c1'"),
        ("mail", 5, 12, "<EMAIL>", "redacted placeholder"),
    ],
)
def test_added_words_must_be_the_customers_stored_text_in_this_conversation(
    session, talk, policy, which, start, end, word, says
):
    escalation = escalate(session, policy, "c1")
    ann = add_user(session, "ann")
    bad = {"message_id": talk[which].id, "start": start, "end": end, "word": word}
    with pytest.raises(ValidationError) as error:
        services.record_feedback(
            session,
            escalation.id,
            user=ann,
            verdict="correct",
            unmarked_words=[],
            comment=None,
            added_words=[bad],
        )
    assert says in str(error.value)
    assert session.scalars(select(Feedback)).all() == []


def test_a_missed_flag_is_stored_with_its_message_words_and_audit(session, talk):
    ann = add_user(session, "ann")
    missed = services.record_missed_flag(
        session,
        "c1",
        user=ann,
        message_id=talk["angry"].id,
        comment="should have escalated",
        words=[money(talk)],
    )
    row = session.get(MissedFlag, missed.id)
    assert (row.conversation_id, row.message_id, row.user_id) == ("c1", talk["angry"].id, ann.id)
    assert row.words == [money(talk)] and row.comment == "should have escalated"
    record = audit_of(session, "missed_flag")
    assert (record.actor, record.conversation_id) == ("ann", "c1")
    assert record.inputs == {
        "message_id": talk["angry"].id,
        "words": [money(talk)],
        "comment": "should have escalated",
    }
    assert record.outcome == {"missed_flag_id": missed.id, "state": "bot"}
    # nothing but the conversation is needed; the list is oldest first, with who marked each
    services.record_missed_flag(session, "c1", user=ann, message_id=None, comment=None, words=[])
    assert [(m.id, m.user.username) for m in services.missed_flags_of(session, "c1")] == [
        (missed.id, "ann"),
        (missed.id + 1, "ann"),
    ]
    assert services.missed_flags_of(session, "c2") == []


def test_a_missed_flag_refuses_a_bad_message_or_word_and_stores_nothing(session, talk):
    ann = add_user(session, "ann")
    for message_id, says in (
        (talk["bot"].id, "is the bot's"),
        (talk["other"].id, "is not a message of conversation 'c1'"),
        (99_999, "is not a message of conversation 'c1'"),
    ):
        with pytest.raises(ValidationError, match=says):
            services.record_missed_flag(
                session, "c1", user=ann, message_id=message_id, comment=None, words=[]
            )
    wrong = {**money(talk), "word": "Money"}
    with pytest.raises(ValidationError, match="is not the text"):
        services.record_missed_flag(session, "c1", user=ann, message_id=None, comment=None, words=[wrong])
    with pytest.raises(ConversationNotFound):
        services.record_missed_flag(session, "nope", user=ann, message_id=None, comment=None, words=[])
    assert session.scalars(select(MissedFlag)).all() == []


def test_a_missed_flag_is_refused_while_the_policys_flag_stands(session, talk, policy):
    boss = add_user(session, "boss", role=Role.SUPERVISOR)
    escalation = escalate(session, policy, "c1")
    with pytest.raises(InvalidTransition, match="already flagged: give a verdict on the escalation instead"):
        services.record_missed_flag(session, "c1", user=boss, message_id=None, comment=None, words=[])
    # withdrawn by a supervisor: the policy's flag no longer stands
    services.unflag(session, escalation.id, reason="sarcasm", actor=Actor.of(boss))
    assert services.record_missed_flag(session, "c1", user=boss, message_id=None, comment=None, words=[]).id
    # a hand-off the customer asked for is no flag of the policy's
    escalate(session, policy, "c2", trigger="bot_request")
    assert services.record_missed_flag(session, "c2", user=boss, message_id=None, comment=None, words=[]).id
