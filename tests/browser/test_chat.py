"""The customer chat page against the real Rasa server: bot answers, hand-off notice, agent reply, resume."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.server import TRIAGE_TOKEN, RunningApi, running_api, running_rasa
from tests.unit.api import factories
from tests.unit.api.factories import PASSWORD
from triage import services
from triage.storage.db import Role, make_engine, make_session_factory, session_scope, utcnow

pytestmark = [pytest.mark.browser, pytest.mark.rasa]
SLOW = 30_000  # ms: Rasa answers slowly on a busy two-core machine


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    tmp = tmp_path_factory.mktemp("chat")
    with running_rasa(tmp) as rasa_url, running_api(tmp, rasa_url=rasa_url) as api:
        with session_scope(make_session_factory(make_engine(api.db_url))) as session:
            factories.user(session, "alice", Role.AGENT, ("cards", "general", "transfers", "refunds"))
        yield api


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 760}, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


def test_customer_chat_with_hand_off_agent_reply_and_resume(phone: Page, stack: RunningApi) -> None:
    phone.goto(f"{stack.url}/chat")
    expect(phone.locator("#chat-status")).to_have_text("Assistant online", timeout=SLOW)
    session_id = phone.locator("#chat").get_attribute("data-session-id")
    assert session_id

    phone.fill("#chat-text", "my card was stolen")
    phone.click("#chat-send")
    # understood (NLU) and answered by the flow that freezes a card, not by the fallback
    expect(phone.locator("#chat-log .bubble.bot").first).to_contain_text("freeze your card", timeout=SLOW)

    # the bot's hand-off (as the action server calls it): the api pauses Rasa and sends the notice
    handoff = httpx.post(
        f"{stack.url}/api/v1/handoff",
        json={"conversation_id": session_id, "intent": "request_human"},
        headers={"Authorization": f"Bearer {TRIAGE_TOKEN}"},
    )
    assert handoff.status_code == 202
    expect(phone.locator("#chat-log .notice").last).to_contain_text("A member of our team", timeout=SLOW)
    expect(phone.locator("#chat-status")).to_have_text("Waiting for a member of our team")
    phone.reload()  # the customer reloads: same conversation, still with the team
    expect(phone.locator("#chat-status")).to_have_text("You are chatting with our team", timeout=SLOW)
    assert phone.locator("#chat").get_attribute("data-session-id") == session_id

    factory = make_session_factory(make_engine(stack.db_url))
    with session_scope(factory) as session:
        assigned = dict(services.assign_waiting(session, utcnow()))
    assert session_id in assigned

    with httpx.Client(base_url=stack.url, timeout=60) as agent:  # the first reply may wait for presidio
        token = agent.post("/api/v1/auth/token", json={"username": "alice", "password": PASSWORD}).json()
        headers = {"Authorization": f"Bearer {token['access_token']}"}
        reply = agent.post(
            f"/api/v1/conversations/{session_id}/reply",
            json={"text": "Hi, Alice here <b>now</b>."},
            headers=headers,
        )
        assert reply.status_code == 201, reply.text
        expect(phone.locator("#chat-log .bubble.agent")).to_have_text(
            "Support teamHi, Alice here <b>now</b>.", timeout=SLOW
        )
        assert agent.post(f"/api/v1/conversations/{session_id}/resolve", headers=headers).status_code == 200
    expect(phone.locator("#chat-log .notice").last).to_contain_text(
        "You're back with the assistant", timeout=SLOW
    )
    expect(phone.locator("#chat-status")).to_have_text("Assistant online")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling on a phone
