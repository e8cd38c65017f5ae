"""Issue #20 in the browser, against the real Rasa server: the agent adds an internal note and answers
with a canned reply (filling the variable it leaves); the customer's chat shows "<name> from Northwind Pay
joined" and the reply under the agent's display name, and never the note (nor does Rasa's tracker)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_steps import SLOW, phone, stolen_card_handed_off
from tests.browser.conftest import sign_in
from tests.browser.server import RASA_TOKEN, RunningApi, running_api, running_rasa
from tests.unit.api import factories
from tests.unit.api.factories import PASSWORD
from triage import services
from triage.storage.db import Role, make_engine, make_session_factory, session_scope, utcnow

pytestmark = [pytest.mark.browser, pytest.mark.rasa]
__all__ = ["phone"]  # the fixture, used by name
NOTE = "Internal: customer mentioned a chargeback, check with fraud team (NOTE-7731)"
CANNED = "Hi {{customer_name}}, {{agent_name}} here. I have frozen the card for you."


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningApi, str]]:
    tmp = tmp_path_factory.mktemp("console-notes")
    with running_rasa(tmp) as rasa_url, running_api(tmp, rasa_url=rasa_url) as api:
        with session_scope(make_session_factory(make_engine(api.db_url))) as session:
            alice = factories.user(session, "alice", Role.AGENT, ("cards", "general", "transfers", "refunds"))
            alice.display_name = "Alice Moreau"
            factories.user(session, "sam", Role.SUPERVISOR)
        yield api, rasa_url


def test_note_and_canned_reply_in_the_console_and_what_the_customer_sees(
    page: Page, phone: Page, stack: tuple[RunningApi, str]
) -> None:
    api, rasa_url = stack
    session_id = stolen_card_handed_off(phone, api.url)
    with session_scope(make_session_factory(make_engine(api.db_url))) as session:
        assert session_id in dict(services.assign_waiting(session, utcnow()))

    # a supervisor's canned reply for every queue, through the API
    sam = httpx.post(f"{api.url}/api/v1/auth/token", json={"username": "sam", "password": PASSWORD}).json()
    made = httpx.post(
        f"{api.url}/api/v1/canned-replies",
        json={"title": "Card frozen", "body": CANNED},
        headers={"Authorization": f"Bearer {sam['access_token']}"},
    )
    assert made.status_code == 201, made.text

    sign_in(page, api, "alice")
    page.click(f"[data-conversation-id='{session_id}']")
    expect(page.locator("#conv-title")).to_have_text(f"Conversation {session_id}")

    # the note: in the transcript, labelled internal, apart from the messages
    page.fill("#note-text", NOTE)
    page.click("#note-form button[type=submit]")
    note = page.locator("#transcript li.msg.note")
    expect(note).to_have_count(1, timeout=SLOW)
    expect(note).to_contain_text("Internal note")
    expect(note).to_contain_text("Alice Moreau")
    expect(note.locator(".msg-text")).to_have_text(NOTE)
    expect(page.locator("#transcript li.msg.agent")).to_have_count(0)

    # the canned reply: inserted with the agent's name, the unknown customer name selected to type over
    page.select_option("#canned-pick", label="Card frozen (every queue)")
    box = page.locator("#reply-text")
    expect(box).to_have_value("Hi {{customer_name}}, Alice Moreau here. I have frozen the card for you.")
    expect(page.locator("#canned-hint")).to_have_text("Fill in {{customer_name}} before sending.")
    assert (
        page.evaluate(
            "(() => { const b = document.getElementById('reply-text'); "
            "return b.value.slice(b.selectionStart, b.selectionEnd); })()"
        )
        == "{{customer_name}}"
    )
    page.keyboard.type("there")  # replaces the selected placeholder
    expect(box).to_have_value("Hi there, Alice Moreau here. I have frozen the card for you.")
    page.click("#reply-form button[type=submit]")
    expect(page.locator("#transcript li.msg.agent")).to_contain_text(
        "Hi there, Alice Moreau here", timeout=SLOW
    )

    # the customer: who joined, the reply under her name, never the note
    expect(
        phone.locator("#chat-log .notice", has_text="Alice Moreau from Northwind Pay joined")
    ).to_have_count(1, timeout=SLOW)
    reply = phone.locator("#chat-log .bubble.agent")
    expect(reply).to_have_text(
        "Alice MoreauHi there, Alice Moreau here. I have frozen the card for you.", timeout=SLOW
    )
    expect(phone.locator("body")).not_to_contain_text("NOTE-7731")
    tracker = httpx.get(
        f"{rasa_url}/conversations/{session_id}/tracker", params={"token": RASA_TOKEN}, timeout=30
    )
    assert tracker.status_code == 200 and "NOTE-7731" not in tracker.text
    assert "Hi there, Alice Moreau here" in tracker.text  # the reply did reach Rasa
