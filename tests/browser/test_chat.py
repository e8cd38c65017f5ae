"""The customer chat page against the real Rasa server: bot answers, hand-off notice, agent reply, resume."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.browser.chat_steps import SLOW, phone, stolen_card_handed_off
from tests.browser.conftest import new_page, sign_in
from tests.browser.server import RunningApi, free_port, running_api, running_rasa
from tests.unit.api import factories
from tests.unit.api.factories import PASSWORD
from triage import services
from triage.storage.db import Role, make_engine, make_session_factory, session_scope, utcnow

pytestmark = [pytest.mark.browser, pytest.mark.rasa]
__all__ = ["phone"]  # the fixture, used by name


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    tmp = tmp_path_factory.mktemp("chat")
    api_port = free_port()  # the action server calls the api (the customer's rating)
    with (
        running_rasa(tmp, api_url=f"http://127.0.0.1:{api_port}") as rasa_url,
        running_api(tmp, rasa_url=rasa_url, port=api_port) as api,
    ):
        with session_scope(make_session_factory(make_engine(api.db_url))) as session:
            factories.user(session, "alice", Role.AGENT, ("cards", "general", "transfers", "refunds"))
            factories.user(session, "sam", Role.SUPERVISOR)
        yield api


def test_customer_chat_with_hand_off_agent_reply_resume_and_rating(
    phone: Page, stack: RunningApi, browser: Browser
) -> None:
    session_id = stolen_card_handed_off(phone, stack.url)
    expect(phone.locator("#chat-log .notice").last).to_contain_text("A member of our team", timeout=SLOW)
    expect(phone.locator("#chat-status")).to_have_text("Waiting for a member of our team")
    phone.reload()  # the customer reloads: same conversation, and the page says the truth: still waiting
    expect(phone.locator("#chat-status")).to_have_text("Waiting for a member of our team", timeout=SLOW)
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
            "AliceHi, Alice here <b>now</b>.", timeout=SLOW
        )
        # the router gave it to Alice: the customer was told who joined, by her display name
        joined = phone.locator("#chat-log .notice", has_text="Alice from Northwind Pay joined")
        expect(joined).to_have_count(1)
        expect(phone.locator("#chat-status")).to_have_text("You are chatting with Alice")
        phone.reload()  # again, now with Alice: her reply comes back from the store, and who she is
        expect(phone.locator("#chat-status")).to_have_text("You are chatting with Alice", timeout=SLOW)
        expect(phone.locator("#chat-log .bubble.agent")).to_have_text("AliceHi, Alice here <b>now</b>.")
        assert agent.post(f"/api/v1/conversations/{session_id}/resolve", headers=headers).status_code == 200
    expect(phone.locator("#chat-log .notice").last).to_contain_text(
        "You're back with the assistant", timeout=SLOW
    )
    expect(phone.locator("#chat-status")).to_have_text("Assistant online")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390  # no sideways scrolling on a phone

    # Alice answered: the customer is asked to rate the help, taps 4, and the bot thanks them (the rating
    # went from Rasa through the action server to Clearline with the bot's token)
    question = phone.locator("#chat-log .bubble.bot", has_text="How would you rate")
    expect(question).to_have_count(1, timeout=SLOW)
    phone.get_by_role("button", name="4", exact=True).click()
    thanks = phone.locator("#chat-log .bubble.bot").last
    expect(thanks).to_contain_text("Thank you for your rating.", timeout=SLOW)
    # the supervisor sees it in the figures: one rating of 4, of Alice's hand-off in the cards queue
    with new_page(browser) as dashboard:
        sign_in(dashboard, stack, "sam")
        expect(dashboard.locator("#csat-summary")).to_contain_text("4.00 of 5 from 1 rating(s)", timeout=SLOW)

        def table(caption: str) -> Locator:
            return dashboard.locator("#csat-panel table", has=dashboard.locator("caption", has_text=caption))

        expect(table("By agent").locator("tbody tr")).to_have_text(["Alice4.001"])
        expect(table("Handled by").locator("tbody tr")).to_have_text(["Handled by our team4.001"])
