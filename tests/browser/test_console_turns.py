"""The conversation view in a real browser: opened at the message that triggered the escalation, each
point of the stress trajectory tells its turn's reasons (by tap, hover or keyboard), and resolving offers
a closing message for the customer."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in
from tests.browser.server import RunningApi
from tests.browser.test_console import open_conversation
from tests.unit.api import factories
from triage.storage.db import make_engine, make_session_factory, session_scope

pytestmark = pytest.mark.browser


def test_opened_at_the_trigger_and_each_turn_explained(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "alice")
    open_conversation(page, "conv-stolen-card")
    trigger = page.locator("#transcript li.trigger")
    expect(trigger).to_have_count(1)
    expect(trigger).to_contain_text("ridiculous")
    dots = page.locator("#trajectory svg circle")
    dots.nth(1).click()  # a tap on a touch screen is this click
    card = page.locator("#trajectory .turn-card")
    expect(card).to_contain_text("Message 2 · stress 0.91 · counted (from 0.40)")
    expect(card).to_contain_text("Top words:")
    expect(card.locator("mark")).to_have_count(3)
    dots.nth(0).focus()  # the keyboard shows the same card
    expect(card).to_contain_text("Message 1 · stress 0.12 · below 0.40, not counted")
    expect(card).to_contain_text("only escalating turns are explained")
    dots.nth(0).click()
    card.locator("button", has_text="Show in the transcript").click()
    expect(page.locator("#transcript li.flash")).to_contain_text("hi")


def test_pending_and_failed_explanations_are_said_as_such(page: Page, api: RunningApi) -> None:
    factory = make_session_factory(make_engine(api.db_url))
    with session_scope(factory) as session:
        factories.escalated(
            session, "conv-turn-pending", text="this is outrageous, where is my refund", explained=False
        )
        failed = factories.escalated(
            session, "conv-turn-failed", text="outrageous again, no refund", explained=False
        )
        failed.escalations[-1].explanations = [
            {**failed.escalations[-1].explanations[0], "pending": False, "error": "x"}
        ]
    sign_in(page, api, "sam")
    for conversation_id, says in (("conv-turn-pending", "being computed"), ("conv-turn-failed", "failed")):
        page.goto(f"{api.url}/supervisor?flagged=&q=outrageous")
        page.locator("#flagged button", has_text=conversation_id).click()
        expect(page.locator("#conv-title")).to_have_text(f"Conversation {conversation_id}")
        page.locator("#trajectory svg circle").nth(1).click()
        expect(page.locator("#trajectory .turn-card")).to_contain_text(f"Word-level explanation: {says}.")


def test_resolving_offers_a_closing_message(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "alice")
    open_conversation(page, "conv-xss")
    page.locator("#conv-actions button", has_text="Resolve").click()
    form = page.locator("#resolve-form")
    expect(form).to_contain_text("Closing message to the customer (optional)")
    form.locator("button[type=submit]").click()  # no reply, no closing message, no reason: refused here
    expect(page.locator("#toast")).to_contain_text("write a closing message or give a reason")
    form.locator("textarea[name=closing_message]").fill("All sorted, thank you for your patience.")
    form.locator("button[type=submit]").click()
    expect(page.locator("#conv-meta")).to_contain_text("resolved")
    expect(page.locator("#transcript .msg.agent")).to_contain_text("All sorted, thank you for your patience.")
