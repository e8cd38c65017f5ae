"""Noise through the real worker and the shipped emotion model: an angry message that begins with HTML
markup scores as it does without it, and its explanation's words point into the literal, stored text."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from triage.benchmarks.rasa_events import user_event, write_events
from triage.domain.policy import parse_policy
from triage.redaction import redact_with_spans
from triage.storage.db import Escalation, Message
from triage.worker.loop import Worker
from triage.worker.sentiment_scorer import SentimentScorer

pytestmark = pytest.mark.slow

ANGRY = "I am furious, my card still does not work and nobody answers"
FUNCTION_WORDS = {"i", "am", "my", "this", "me", "is", "and", "the", "it"}


@pytest.fixture(scope="module")
def scorer() -> SentimentScorer:
    return SentimentScorer()  # the shipped model (CLEARLINE_MODEL_DIR)


@pytest.fixture
def eager_policy(policy):
    """Every scored message escalates, so every one is explained."""
    data = policy.config.model_dump()
    data["escalate_at"] = 1
    data["factors"]["stress"] = {"weight": 100, "min": 0.0}
    return parse_policy(data)


def process(
    session_factory, source, scorer, policy, texts: dict[str, str]
) -> dict[str, tuple[Message, Escalation]]:
    with source.engine.begin() as conn:
        write_events(
            conn, [(cid, user_event(text, intent="card_not_working")) for cid, text in texts.items()]
        )
    worker = Worker(session_factory, source, scorer, policy, redact_with_spans)
    assert worker.process_next_batch() is not None
    while worker.explain_once():
        pass
    with session_factory() as s:
        return {
            cid: (
                s.scalars(select(Message).where(Message.conversation_id == cid)).one(),
                s.scalars(select(Escalation).where(Escalation.conversation_id == cid)).one(),
            )
            for cid in texts
        }


def test_markup_before_an_angry_message_does_not_calm_it(session_factory, source, scorer, eager_policy):
    texts = {
        "plain": ANGRY,
        "markup": f'<div class="chat"><p><b>{ANGRY}</b></p></div>',
        "noisy": f"nooooooooo {ANGRY}!!!!!!!!!!!! see https://example.com/x?id=1 " + "please " * 30,
    }
    stored = process(session_factory, source, scorer, eager_policy, texts)
    plain_stress = stored["plain"][0].stress
    assert plain_stress is not None and plain_stress >= 0.5
    assert stored["markup"][0].stress == pytest.approx(plain_stress, abs=0.01)  # was 0.30 against 0.56
    assert stored["markup"][0].flagged == stored["plain"][0].flagged
    for cid, (message, escalation) in stored.items():
        assert message.text == texts[cid]  # the transcript shows what the customer typed (escaped on display)
        (record,) = escalation.explanations
        assert record["text"] == message.text
        for word in record["words"]:  # offsets into the stored text, the markup and the repeats included
            assert message.text[word["start"] : word["end"]] == word["word"]
        assert not any("<" in w["word"] or "http" in w["word"] for w in record["words"])
        top = [w.strip(",.!?").lower() for w in record["top_words"]]
        assert "furious" in top and not FUNCTION_WORDS & set(top), (cid, record["top_words"])
    noisy_words = [w["word"] for w in stored["noisy"][1].explanations[0]["words"]]
    assert "nooooooooo" in noisy_words and "answers!!!!!!!!!!!!" in noisy_words
    assert noisy_words.count("please") == 3  # thirty typed, three read
