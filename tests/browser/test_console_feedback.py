"""Feedback worth learning from in the browser (issues #20, #23): an agent marks a missed flag on a
conversation the policy let the bot keep, and adds a word the model missed to a flag's explanation with
a verdict, on a touch screen and with the keyboard; the API then returns both, with offsets in code
points (the customer's words follow an emoji, where the browser's UTF-16 offsets differ)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.conftest import new_page, sign_in
from tests.browser.server import RunningApi, running_api
from tests.unit.api import factories
from tests.unit.api.factories import PASSWORD
from triage.storage.db import (
    Escalation,
    Message,
    Role,
    Sender,
    make_engine,
    make_session_factory,
    session_scope,
)

pytestmark = pytest.mark.browser

ANGRY = "I have been waiting 😡 for my refund and nobody calls back"
ASKED = "my card is gone 😡 I am so done"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    with running_api(tmp_path_factory.mktemp("console-feedback")) as running:
        with session_scope(make_session_factory(make_engine(running.db_url))) as session:
            alice = factories.user(session, "alice", Role.AGENT, ("cards", "general"))
            factories.user(session, "sam", Role.SUPERVISOR)
            factories.assign(session, factories.escalated(session, "conv-angry", text=ANGRY), alice)
            factories.handed_off_on_request(session, "conv-asked", alice, text=ASKED)
        yield running


@pytest.fixture
def touch(browser: Browser) -> Iterator[Page]:
    """A page on a touch screen: taps, no hover."""
    with new_page(browser, has_touch=True) as page:
        yield page


def as_alice(api: RunningApi) -> dict[str, str]:
    token = httpx.post(f"{api.url}/api/v1/auth/token", json={"username": "alice", "password": PASSWORD})
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


def customer_message(api: RunningApi, conversation_id: str, text: str) -> int:
    with make_session_factory(make_engine(api.db_url))() as session:
        return next(
            m.id
            for m in session.query(Message).filter_by(conversation_id=conversation_id, sender=Sender.CUSTOMER)
            if m.text == text
        )


def spoken(message_id: int, text: str, word: str) -> dict[str, object]:
    """The word as the API keeps it: offsets in code points, as Python indexes the text."""
    start = text.index(word)
    return {"message_id": message_id, "start": start, "end": start + len(word), "word": word}


def test_agent_marks_a_missed_flag_on_a_conversation_back_with_the_bot(touch: Page, api: RunningApi) -> None:
    page = touch
    sign_in(page, api, "alice")
    # the hand-off the customer had to ask for, resolved by alice: listed as back with the assistant
    page.locator("#recent [data-conversation-id='conv-asked']").tap()
    expect(page.locator("#conv-title")).to_have_text("Conversation conv-asked")
    expect(page.locator("#feedback-panel")).to_be_visible()  # a verdict on the bot's hand-off is possible too
    page.locator("#conv-actions button", has_text="Missed flag").tap()

    message_id = customer_message(api, "conv-asked", ASKED)
    page.select_option("#missed-message", str(message_id))
    page.fill("#missed-comment", "customer was upset long before asking for a person")
    done = page.locator("#transcript .msg.customer .addable", has_text=re.compile(r"^done$"))
    done.tap()  # a tap on a touch screen
    expect(page.locator("#transcript .added", has_text="done")).to_have_attribute("aria-pressed", "true")
    gone = page.locator("#transcript .msg.customer .addable", has_text=re.compile(r"^gone$"))
    gone.focus()
    page.keyboard.press("Enter")  # and with the keyboard
    expect(page.locator("#missed-added-count")).to_have_text(
        "2 word(s) added: they will be sent with your verdict or missed flag."
    )
    expect(page.locator("#transcript .msg.bot .addable")).to_have_count(0)  # only the customer's words
    page.locator("#missed-form button[type=submit]").tap()

    expect(page.locator("#missed-panel")).to_be_visible()
    expect(page.locator("#missed-flags li")).to_contain_text("Alice")
    expect(page.locator("#missed-flags li")).to_contain_text("“done”, “gone”")
    expect(page.locator("#transcript .addable")).to_have_count(0)  # the words are text again

    [missed] = httpx.get(
        f"{api.url}/api/v1/conversations/conv-asked/missed-flag", headers=as_alice(api)
    ).json()
    assert missed["message_id"] == message_id
    assert missed["comment"] == "customer was upset long before asking for a person"
    assert missed["words"] == [spoken(message_id, ASKED, "done"), spoken(message_id, ASKED, "gone")]


def test_agent_adds_a_word_the_model_missed_with_a_verdict(touch: Page, api: RunningApi) -> None:
    page = touch
    note = {"text": "customer calls back at five"}
    assert httpx.post(
        f"{api.url}/api/v1/conversations/conv-angry/notes", json=note, headers=as_alice(api)
    ).is_success
    sign_in(page, api, "alice")
    page.locator("#mine [data-conversation-id='conv-angry']").tap()
    expect(page.locator("#conv-title")).to_have_text("Conversation conv-angry")
    # the policy flagged it: a verdict goes on that flag, no missed flag is offered
    expect(page.locator("#conv-actions button", has_text="Missed flag")).to_have_count(0)
    expect(page.locator("#transcript mark.hl", has_text="nobody")).to_be_visible()
    expect(page.locator("#transcript .addable")).to_have_count(0)

    page.locator("#add-words").tap()
    expect(page.locator("#add-words")).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#transcript li.msg.note")).to_have_count(1)  # the redrawn transcript keeps the note
    refund = page.locator("#transcript .msg.customer .addable", has_text=re.compile(r"^refund$"))
    refund.tap()
    added = page.locator("#transcript .added", has_text="refund")
    expect(added).to_be_visible()
    expect(added).not_to_have_class(re.compile(r"\bhl\b"))  # apart from the model's highlights
    expect(page.locator("#transcript mark.hl .addable")).to_have_count(0)  # a highlighted word is no toggle
    page.fill("#feedback-comment", "the refund is what hurts")
    page.locator("#feedback-panel [data-verdict=correct]").tap()
    expect(page.locator("#feedback-state")).to_have_text("Marked right.")

    with make_session_factory(make_engine(api.db_url))() as session:
        escalation = session.query(Escalation).filter_by(conversation_id="conv-angry").one()
    message_id = customer_message(api, "conv-angry", ANGRY)
    response = httpx.get(f"{api.url}/api/v1/escalations/{escalation.id}/feedback", headers=as_alice(api))
    [feedback] = response.json()
    assert feedback["verdict"] == "correct" and feedback["comment"] == "the refund is what hurts"
    assert feedback["added_words"] == [spoken(message_id, ANGRY, "refund")]
    assert feedback["added_words"][0]["start"] == 29  # JavaScript counts 30 after the emoji
