"""The conversation view's "Suggested next action" card in Chromium: an agent sees the best action and an
alternative with their reasons (a merchant with markup stays text), accepts it with a comment, and the
verdict is still shown after a reload."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in
from tests.browser.seed import seed
from tests.browser.server import RunningApi, running_api
from tests.unit.api import factories, provider_rows
from triage.domain.suggestions import day
from triage.storage.db import Message, Sender, make_engine, make_session_factory, session_scope

pytestmark = pytest.mark.browser

CONVERSATION = "tg-suggest-anna"  # Telegram: the platform vouches for the sender id
MERCHANT = 'Skyline <img src=x onerror="window.__xss = 4"> Air'
EXPECTED = date.today() + timedelta(days=4)


def add_conversation(db_url: str) -> None:
    """A customer who asked where a refund is, then reported the card stolen (escalated by the policy)."""
    factory = make_session_factory(make_engine(db_url))
    with session_scope(factory) as session:
        conversation = factories.escalated(session, CONVERSATION)
        conversation.channel = "telegram"
        first = min(m.created_at for m in conversation.messages)
        session.add(
            Message(
                conversation_id=CONVERSATION,
                sender=Sender.CUSTOMER,
                text="where is my refund from Skyline?",
                intent="Refund_not_showing_up",
                created_at=first,
            )
        )


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    folder = tmp_path_factory.mktemp("api-suggestion")
    provider_url = provider_rows.build(folder / "provider.db", CONVERSATION)
    with sqlite3.connect(folder / "provider.db") as db:
        # expected in four days from the api's today (provider_rows' dates are fixed): not yet late
        db.execute(
            "UPDATE refunds SET merchant = ?, expected_by = ? WHERE reference = 'RFD-200311'",
            (MERCHANT, EXPECTED.isoformat()),
        )
    with running_api(folder, provider_db_url=provider_url) as running:
        seed(running.db_url)
        add_conversation(running.db_url)
        yield running


def open_conversation(page: Page) -> None:
    page.click(f"[data-conversation-id='{CONVERSATION}']")
    expect(page.locator("#conv-title")).to_have_text(f"Conversation {CONVERSATION}")


def test_an_agent_sees_the_suggestion_with_its_reasons_accepts_it_and_the_verdict_stays(
    page: Page, api: RunningApi
) -> None:
    sign_in(page, api, "alice")
    open_conversation(page)
    card = page.locator("#suggestion")
    best = card.locator(".suggestion.best")
    expect(best.locator(".suggestion-kind")).to_have_text("Best next action")
    expect(best.locator(".suggestion-title")).to_have_text("Freeze the card ending 4242")
    reasons = best.locator(".suggestion-reasons li")
    expect(reasons).to_have_text(
        [
            "the customer reports the card lost or stolen",
            "card ending 4242 is active: anyone holding its details can still use it",
            "the triage policy weighed it on the latest escalation (intent lost_or_stolen_card -> +30)",
        ]
    )
    expect(card.locator(".suggestion.alternative")).to_have_count(2)  # a refund's date, a rejected one's why
    alternative = card.locator(".suggestion.alternative", has_text="RFD-200311")
    expect(alternative.locator(".suggestion-title")).to_have_text(
        f"Tell the customer refund RFD-200311 is expected by {day(EXPECTED, date.today())}"
    )
    expect(alternative.locator(".suggestion-reasons")).to_contain_text(f"refund RFD-200311 from {MERCHANT}")
    assert page.locator("#suggestion img").count() == 0  # the merchant's markup is text
    assert page.evaluate("window.__xss") is None

    best.locator(".suggestion-comment").fill("froze it, <b>told</b> the customer")
    best.get_by_role("button", name="Accept").click()
    expect(best.locator(".suggestion-verdict")).to_contain_text("Accepted by Alice")
    expect(best.get_by_role("button", name="Accept")).to_have_count(0)
    expect(alternative.get_by_role("button", name="Dismiss")).to_be_visible()  # not decided yet

    page.reload()
    open_conversation(page)
    expect(page.locator("#suggestion .suggestion.best .suggestion-verdict")).to_contain_text(
        "Accepted by Alice"
    )
    expect(page.locator("#suggestion .suggestion.best .suggestion-title")).to_have_text(
        "Freeze the card ending 4242"
    )
