"""The agent's notifications and keyboard shortcuts in a real browser against a real api process: unread
markers and the tab title count for a customer writing again and for a new assignment, an SLA warning,
desktop notifications that name no customer words, and the shortcuts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in
from tests.browser.server import RunningApi
from tests.unit.api import factories
from triage import audit, services
from triage.storage.db import Conversation, make_engine, make_session_factory, session_scope, utcnow

pytestmark = pytest.mark.browser


def badge(page: Page, conversation_id: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#mine [data-conversation-id='{conversation_id}'] .unread-badge")


def customer_writes(api: RunningApi, conversation_id: str) -> None:
    """What the worker records when it stores and scores a customer's message."""
    with session_scope(make_session_factory(make_engine(api.db_url))) as session:
        audit.record(session, audit.WORKER, "score", conversation_id=conversation_id, outcome={"stress": 0.3})


def test_unread_markers_and_title_count_clear_when_opened(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "alice")
    expect(page.locator("#live-state")).to_have_text("live")
    expect(page.locator("#mine [data-conversation-id='conv-stolen-card']")).to_be_visible()
    customer_writes(api, "conv-stolen-card")
    customer_writes(api, "conv-stolen-card")
    expect(badge(page, "conv-stolen-card")).to_have_text("2")
    expect(page).to_have_title(re.compile(r"^\(2\) "))
    customer_writes(api, "conv-waiting")  # not hers: no marker
    page.locator("#mine [data-conversation-id='conv-stolen-card']").click()
    expect(badge(page, "conv-stolen-card")).to_have_count(0)
    expect(page).not_to_have_title(re.compile(r"^\("))
    customer_writes(api, "conv-stolen-card")  # open and visible: she is reading it
    page.wait_for_timeout(1500)
    expect(badge(page, "conv-stolen-card")).to_have_count(0)


def test_a_new_assignment_and_an_sla_about_to_breach_are_announced(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "alice")
    expect(page.locator("#live-state")).to_have_text("live")
    factory = make_session_factory(make_engine(api.db_url))
    with session_scope(factory) as session:
        factories.escalated(session, "conv-notify-new", text="my card is blocked")
        session.flush()
        services.assign_waiting(session, utcnow())  # the router: alice has room in cards
    expect(badge(page, "conv-notify-new")).to_have_text("1")
    with session_scope(factory) as session:
        factories.escalated(session, "conv-notify-sla", text="my card does not work")
        session.get_one(Conversation, "conv-notify-sla").sla_deadline = utcnow() + timedelta(seconds=40)
    queued = page.locator("#queues [data-conversation-id='conv-notify-sla']").locator("xpath=..")
    expect(queued.locator(".unread-badge")).to_have_text("1", timeout=25_000)


def test_desktop_notifications_name_no_customer_words(page: Page, api: RunningApi) -> None:
    page.context.grant_permissions(["notifications"], origin=api.url)
    page.add_init_script(
        """
        window.__shown = [];
        window.Notification = class {
          constructor(title, options) { window.__shown.push([title, options.body]); }
        };
        window.Notification.permission = "granted";
        window.Notification.requestPermission = async () => "granted";
        Object.defineProperty(
          document, "hidden", { configurable: true, get: () => window.__hidden === true }
        );
        """
    )
    sign_in(page, api, "alice")
    expect(page.locator("#live-state")).to_have_text("live")
    page.check("#notify-desktop")
    assert page.evaluate("localStorage.getItem('clearline.notify.desktop')") == "1"
    page.evaluate("window.__hidden = true")
    customer_writes(api, "conv-xss")
    for _ in range(100):  # wait_for_function evaluates a string, which the page's CSP forbids
        if page.evaluate("window.__shown.length"):
            break
        page.wait_for_timeout(100)
    title, body = page.evaluate("window.__shown[0]")
    assert title == "The customer wrote again" and body == "New message in conversation conv-xss."
    page.reload()
    expect(page.locator("#notify-desktop")).to_be_checked()  # the preference stays


def test_keyboard_shortcuts(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "alice")
    expect(page.locator("#mine .conv-open").first).to_be_visible()
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    expect(page.locator("#shortcuts-list")).to_contain_text("next conversation")
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()
    page.keyboard.press("j")
    first = page.locator(".sidebar .conv-open").first.get_attribute("data-conversation-id")
    expect(page.locator("#conv-title")).to_have_text(f"Conversation {first}")
    page.keyboard.press("j")
    expect(page.locator("#conv-title")).not_to_have_text(f"Conversation {first}")
    page.keyboard.press("k")
    expect(page.locator("#conv-title")).to_have_text(f"Conversation {first}")
    page.keyboard.press("r")
    expect(page.locator("#reply-text")).to_be_focused()
    page.keyboard.type("jk?")  # typed into the box, not taken as shortcuts
    expect(page.locator("#reply-text")).to_have_value("jk?")
    expect(page.locator("#conv-title")).to_have_text(f"Conversation {first}")
    page.keyboard.press("Escape")
    page.keyboard.press("t")
    expect(page.locator("#conv-actions")).to_contain_text("Transfer to queue")
