"""Steps the customer-side browser tests share: a phone-sized page, and a chat that reaches the bot's card
flow and is handed off (as the action server calls the hand-off)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.server import TRIAGE_TOKEN

SLOW = 30_000  # ms: Rasa answers slowly on a busy two-core machine


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 390, "height": 760}, is_mobile=True, has_touch=True)
    page = context.new_page()
    yield page
    context.close()


def stolen_card_handed_off(phone: Page, api_url: str) -> str:
    """Open the chat, say the card was stolen, see the bot's card flow answer, then hand off; returns the
    conversation (session) id."""
    phone.goto(f"{api_url}/chat")
    expect(phone.locator("#chat-status")).to_have_text("Assistant online", timeout=SLOW)
    session_id = phone.locator("#chat").get_attribute("data-session-id")
    assert session_id

    phone.fill("#chat-text", "my card was stolen")
    phone.click("#chat-send")
    # understood (NLU) and answered by the flow that freezes a card, not by the fallback
    expect(phone.locator("#chat-log .bubble.bot").first).to_contain_text("freeze your card", timeout=SLOW)

    # the bot's hand-off (as the action server calls it): the api pauses Rasa and sends the notice
    handoff = httpx.post(
        f"{api_url}/api/v1/handoff",
        json={"conversation_id": session_id, "intent": "request_human"},
        headers={"Authorization": f"Bearer {TRIAGE_TOKEN}"},
    )
    assert handoff.status_code == 202
    return session_id
