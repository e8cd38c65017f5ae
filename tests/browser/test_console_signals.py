"""The policy's signal factors in the explanation view (#21): each factor with its words, and those words
marked in the message like the model's, as text only."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.conftest import sign_in
from tests.browser.server import RunningApi
from triage import services
from triage.audit import POLICY
from triage.domain.policy import PolicyInput, current_policy
from triage.redaction import redact_with_spans
from triage.storage.db import (
    Conversation,
    Feedback,
    Message,
    Sender,
    make_engine,
    make_session_factory,
    session_scope,
)

pytestmark = pytest.mark.browser

XSS = '<img src=x onerror="window.__xss = 3">'
# an emoji first: the worker's offsets count code points, the page's strings UTF-16 units
SAID = f"😡 WHERE IS MY CARD?? {XSS} mail ann@example.com, I want to speak to a manager"


@pytest.fixture(scope="module")
def signals_conversation(api: RunningApi) -> str:
    """Stored as the worker stores it: the redacted text, the decision with the signals' words pointing
    into the message, and the model's explanation of one word inside the person request."""
    redacted = redact_with_spans(SAID)
    policy = current_policy()
    factory = make_session_factory(make_engine(api.db_url))
    with session_scope(factory) as session:
        session.add(Conversation(id="conv-signals", channel="socketio", stress_trajectory=[0.3]))
        message = Message(
            conversation_id="conv-signals",
            sender=Sender.CUSTOMER,
            text=redacted.text,
            redactions=[span.as_dict() for span in redacted.spans],
            stress=0.3,
        )
        session.add(message)
        session.flush()
        decision = policy.evaluate(PolicyInput(0.3, [0.3], signals=policy.detect(redacted.text)))
        start = redacted.text.index("manager")
        word = {"word": "manager", "start": start, "end": start + 7, "attribution": 0.4}
        services.escalate(
            session,
            "conv-signals",
            decision=decision.in_message(message.id),
            explanations=[{"message_id": message.id, "text": redacted.text, "words": [word]}],
            trigger="policy",
            actor=POLICY,
        )
    return "conv-signals"


def test_signal_factors_show_their_words_in_the_factors_and_the_message(
    page: Page, api: RunningApi, signals_conversation: str
) -> None:
    sign_in(page, api, "sam")
    page.locator("#flagged button", has_text=signals_conversation).click()
    factors = page.locator("#factors .factor")
    shouting = factors.filter(has_text="SHOUTING (4 words) -> +16")
    expect(shouting.locator(".factor-words mark.sig")).to_have_text(["WHERE", "IS", "MY", "CARD"])
    person = factors.filter(has_text="asked for a person")
    expect(person.locator(".factor-words mark.sig")).to_have_text(["speak to a manager"])
    expect(factors.filter(has_text="angry emoji (1)").locator("mark.sig")).to_have_text(["😡"])

    said = page.locator("#transcript .msg", has_text="WHERE IS")
    marks = said.locator("mark.sig")
    expect(marks).to_have_text(["😡", "WHERE", "IS", "MY", "CARD", "??", "speak to a manager"])
    expect(marks.filter(has_text="WHERE")).to_have_attribute("title", "SHOUTING (4 words) -> +16")
    # the model's word keeps its own mark (clickable for feedback) inside the request's
    expect(marks.last.locator("mark.hl")).to_have_text("manager")
    expect(marks.last.locator("mark.hl")).to_have_class(re.compile(r"\bup-3\b"))
    expect(said.locator(".pii")).to_have_text(["email"])
    expect(said).to_contain_text(XSS)
    assert said.locator("img").count() == 0 and page.evaluate("window.__xss") is None
    expect(page.locator("#legend")).to_be_visible()
    expect(page.locator("#legend .swatch.sig")).to_be_visible()


def test_a_model_word_after_an_emoji_is_marked_and_unmarked_by_its_stored_offsets(
    page: Page, api: RunningApi, signals_conversation: str
) -> None:
    """The page counts UTF-16 units, the worker code points: the feedback names the word as stored."""
    sign_in(page, api, "sam")
    page.locator("#flagged button", has_text=signals_conversation).click()
    word = page.locator("#transcript mark.hl", has_text="manager")
    word.click()
    expect(word).to_have_class(re.compile(r"\bunmarked\b"))
    page.click("#feedback-panel [data-verdict=wrong]")
    expect(page.locator("#feedback-state")).to_have_text("Marked wrong.")
    factory = make_session_factory(make_engine(api.db_url))
    with factory() as session:
        feedback = session.scalars(select(Feedback)).one()
        said = select(Message.text).where(Message.conversation_id == signals_conversation)
        text = session.scalars(said).one()
    (unmarked,) = feedback.unmarked_words
    assert text[unmarked["start"] : unmarked["end"]] == unmarked["word"] == "manager"
