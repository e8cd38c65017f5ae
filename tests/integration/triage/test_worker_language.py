"""Issue #21 through the real worker: the language of every customer message is stored with it and with
the conversation, and the English model's stress of a message in another language never escalates on its
own (a scorer that calls every text furious; the language detector is the real one)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from sentiment.types import UtteranceScore
from tests.unit.triage.fakes import MODEL, FakeScorer
from triage.benchmarks.rasa_events import user_event, write_events
from triage.domain.policy import STRESS_UNRELIABLE, Policy
from triage.redaction import redact_with_spans
from triage.storage.db import AuditRecord, Conversation, Escalation, Message
from triage.worker.broker import SqlEventSource
from triage.worker.loop import Worker

SPANISH = "Mi tarjeta no llega y nadie me contesta desde hace una semana"
ENGLISH = "My card has not arrived and nobody has answered me for a week"


class FuriousScorer(FakeScorer):
    """Stress 1.0 for any text, in any language: what an English model may well say of Spanish."""

    def score(self, texts: list[str]) -> list[UtteranceScore]:
        self.score_calls.append(list(texts))
        return [UtteranceScore(t, {"anger": 1.0}, ["anger"], 1.0, True, MODEL) for t in texts]


def run_batch(
    factory: sessionmaker[Session], source: SqlEventSource, policy: Policy, rows: list[tuple[str, dict]]
) -> list[str]:
    with source.engine.begin() as conn:
        write_events(conn, rows)
    result = Worker(factory, source, FuriousScorer(), policy, redact_with_spans).process_next_batch()
    assert result is not None
    return result.escalated


def test_each_message_and_the_conversation_keep_their_language(session_factory, source, policy):
    rows = [
        ("es1", user_event(SPANISH, intent="other_language")),
        ("es1", user_event("sí", intent="affirm")),  # too short to judge: the conversation's language
        ("en1", user_event("hi", intent="greet")),  # nothing judged yet: unknown
    ]
    run_batch(session_factory, source, policy, rows)
    with session_factory() as s:
        messages = {m.text: m for m in s.scalars(select(Message))}
        conversations = {c.id: c for c in s.scalars(select(Conversation))}
    spanish, yes, hi = messages[SPANISH], messages["sí"], messages["hi"]
    assert spanish.language == "es" and spanish.language_confidence is not None
    assert spanish.language_confidence >= 0.6
    assert (yes.language, yes.language_confidence) == ("es", None)
    assert (hi.language, hi.language_confidence) == (None, None)
    assert conversations["es1"].language == "es" and conversations["en1"].language is None
    # a message in a language the bot does not speak is a fallback for the policy
    assert conversations["es1"].fallback_count == 1


def test_stress_of_a_spanish_message_alone_does_not_escalate(session_factory, source, policy):
    rows = [("es1", user_event(SPANISH, intent="other_language")), ("en1", user_event(ENGLISH))]
    escalated = run_batch(session_factory, source, policy, rows)
    assert escalated == ["en1"]  # the same stress in English escalates
    with session_factory() as s:
        decided = s.scalars(
            select(AuditRecord).where(AuditRecord.action == "policy", AuditRecord.conversation_id == "es1")
        ).one()
    (shown,) = decided.outcome["factors"]
    assert shown["factor"] == STRESS_UNRELIABLE and shown["contribution"] == 0 and shown["value"] == 1.0
    assert decided.inputs["language"] == "es" and decided.outcome["escalate"] is False


def test_a_spanish_customer_accepting_the_offer_of_a_person_escalates(session_factory, source, policy):
    # the bot answered in Spanish with the offer; its button sends /request_human
    rows = [
        ("es1", user_event(SPANISH, intent="other_language")),
        ("es1", user_event("/request_human", intent="request_human")),
    ]
    assert run_batch(session_factory, source, policy, rows) == ["es1"]
    with session_factory() as s:
        escalation = s.scalars(select(Escalation)).one()
        conversation = s.get(Conversation, "es1")
    assert conversation.language == "es"  # "/request_human" is not judged: the language stays
    got = {f["factor"]: f["contribution"] for f in escalation.factors}
    assert got == {"human_request": 60, STRESS_UNRELIABLE: 0}
    assert escalation.explanations_pending is False  # no stress counted: nothing to explain
