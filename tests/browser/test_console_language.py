"""The customer's language in the explanation view (#21): a label per message (dashed when inherited from
the conversation), and the stress of a language the model does not read struck through as unreliable."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in
from tests.browser.server import RunningApi
from triage import services
from triage.audit import POLICY
from triage.domain.policy import PolicyInput, current_policy
from triage.storage.db import Conversation, Message, Sender, make_engine, make_session_factory, session_scope

pytestmark = pytest.mark.browser

XSS = '<img src=x onerror="window.__xss = 4">'
SPANISH = f"¡Esto es inaceptable! Mi tarjeta no llega {XSS}"


@pytest.fixture(scope="module")
def spanish_conversation(api: RunningApi) -> str:
    """Stored as the worker stores it: a Spanish message the model scored 0.9 (not counted), then "sí"
    (too short to tell: the conversation's language), handed off on the customer's request."""
    policy = current_policy()
    factory = make_session_factory(make_engine(api.db_url))
    with session_scope(factory) as session:
        session.add(
            Conversation(id="conv-es", channel="socketio", stress_trajectory=[0.9, 0.1], language="es")
        )
        session.add_all(
            [
                Message(
                    conversation_id="conv-es",
                    sender=Sender.CUSTOMER,
                    text=SPANISH,
                    stress=0.9,
                    flagged=True,
                    language="es",
                    language_confidence=0.97,
                ),
                Message(
                    conversation_id="conv-es", sender=Sender.CUSTOMER, text="sí", stress=0.1, language="es"
                ),
            ]
        )
        session.flush()
        decision = policy.evaluate(PolicyInput(0.9, [0.9], human_requested=True, language="es"))
        services.escalate(
            session, "conv-es", decision=decision, explanations=[], trigger="policy", actor=POLICY
        )
    return "conv-es"


def test_the_language_labels_and_the_unreliable_stress(
    page: Page, api: RunningApi, spanish_conversation: str
) -> None:
    sign_in(page, api, "sam")
    page.locator("#flagged button", has_text=spanish_conversation).click()
    expect(page.locator("#conv-meta .lang")).to_have_text("language es")
    spanish = page.locator("#transcript .msg", has_text="inaceptable")
    expect(spanish.locator(".lang")).to_have_text("ES")
    expect(spanish.locator(".lang")).not_to_have_class("lang inherited")
    expect(spanish.locator(".stress-chip.unreliable")).to_have_text("stress 0.90")
    expect(spanish.locator(".unreliable-note")).to_have_text("unreliable")
    assert spanish.locator(".stress-chip.high").count() == 0  # never shown as a high score
    short = page.locator("#transcript .msg", has_text="sí")
    expect(short.locator(".lang.inherited")).to_have_text("ES")
    expect(page.locator("#factors .factor", has_text="stress 0.90 not counted")).to_contain_text("+0")
    expect(spanish).to_contain_text(XSS)  # the customer's markup is text
    assert spanish.locator("img").count() == 0 and page.evaluate("window.__xss") is None
