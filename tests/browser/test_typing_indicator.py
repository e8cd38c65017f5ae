"""The typing indicator both ways (issue #20), in Chromium with two pages: the customer's web chat and
Alice's console, on one conversation escalated and assigned to her (rows written as the worker and the
router would). Alice types: the chat says "Alice Moreau is typing…"; her reply takes it away. The
customer types: the console says "Customer is typing…", and a few seconds after they stop it goes."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser, expect
from sqlalchemy import select

from tests.browser.conftest import new_page, sign_in
from tests.browser.server import RunningApi
from tests.unit.api import factories
from triage.storage.db import User, make_engine, make_session_factory, session_scope

pytestmark = pytest.mark.browser
SLOW = 30_000  # ms: the first reply waits for presidio to load


def test_each_side_sees_the_other_typing(browser: Browser, api: RunningApi) -> None:
    with new_page(browser, viewport={"width": 390, "height": 760}) as customer, new_page(browser) as console:
        customer.goto(f"{api.url}/chat")
        chat_id = customer.locator("#chat").get_attribute("data-session-id")
        assert chat_id
        with session_scope(make_session_factory(make_engine(api.db_url))) as session:
            alice = session.scalars(select(User).where(User.username == "alice")).one()
            alice.display_name = "Alice Moreau"
            factories.assign(session, factories.escalated(session, chat_id), alice)
        customer.reload()  # the page reads its conversation's state: with Alice (no Rasa needed here)
        expect(customer.locator("#chat")).to_have_attribute("data-state", "with_agent")
        indicator = customer.locator("#typing-indicator")
        expect(indicator).to_have_attribute("aria-live", "polite")
        expect(indicator).to_have_text("")

        sign_in(console, api, "alice")
        console.click(f"#mine [data-conversation-id='{chat_id}']")
        expect(console.locator("#reply-form")).to_be_visible()
        seen = console.locator("#customer-typing")
        expect(seen).to_have_text("")

        console.locator("#reply-text").press_sequentially("Hello, I am looking at")
        expect(indicator).to_have_text("Alice Moreau is typing…")
        console.locator("#reply-text").press_sequentially(" your card now.")
        console.locator("#reply-text").press("Enter")  # sent: the api clears her signal with the reply
        expect(console.locator("#transcript li.msg.agent")).to_have_count(1, timeout=SLOW)
        expect(indicator).to_have_text("")

        customer.locator("#chat-text").press_sequentially("Thank you, one more")
        expect(seen).to_have_text("Customer is typing…")
        # they stop typing without sending: the signal expires (6 s) and the console's next read says so
        expect(seen).to_have_text("", timeout=SLOW)
