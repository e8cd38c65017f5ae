"""Rows for the browser tests, written through the ORM and the real triage services."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.unit.api import factories
from triage.redaction import redact_with_spans
from triage.storage.db import (
    Conversation,
    Message,
    Role,
    Sender,
    User,
    make_engine,
    make_session_factory,
    session_scope,
)

XSS_SCRIPT = "<script>window.__xss = 1</script>"
# stored as the worker stores them: redacted, with where the placeholders are
SAID = "mail me at ann@example.com or call +44 20 7946 0958"
XSS_IMG = '<img src=x onerror="window.__xss = 2">'
# placeholder look-alikes the customer typed are text, never a redaction chip; only the address is one
FORGED = "I typed <SCRIPT> and <EMAIL>, mine is ann@example.com"


def seed(db_url: str) -> dict[str, int]:
    factory = make_session_factory(make_engine(db_url))
    with session_scope(factory) as session:
        alice = factories.user(session, "alice", Role.AGENT, ("cards", "general"))
        bob = factories.user(session, "bob", Role.AGENT, ("transfers", "refunds"))
        sam = factories.user(session, "sam", Role.SUPERVISOR)
        stolen = factories.escalated(session, "conv-stolen-card")
        factories.assign(session, stolen, alice)
        _xss(session, alice)
        factories.escalated(
            session,
            "conv-waiting",
            text="I have been waiting forever, this is awful",
            intent="card_arrival",
            stress=0.78,
            minutes_ago=4,
        )
        factories.escalated(
            session,
            "conv-transfer",
            text="My transfer never arrived and I'm worried",
            intent="transfer_not_received_by_recipient",
            stress=0.66,
        )
        return {"alice": alice.id, "bob": bob.id, "sam": sam.id}


def _xss(session: Session, agent: User) -> Conversation:
    conversation = factories.escalated(session, "conv-xss", text=f"my card {XSS_SCRIPT} was stolen")
    session.add(Message(conversation_id="conv-xss", sender=Sender.CUSTOMER, text=XSS_IMG, stress=0.4))
    for said, stress in ((SAID, 0.2), (FORGED, 0.1)):
        redacted = redact_with_spans(said)
        spans = [span.as_dict() for span in redacted.spans]
        session.add(
            Message(
                conversation_id="conv-xss",
                sender=Sender.CUSTOMER,
                text=redacted.text,
                redactions=spans,
                stress=stress,
            )
        )
    factories.assign(session, conversation, agent)
    return conversation
