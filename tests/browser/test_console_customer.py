"""The conversation view's customer panel in Chromium: the provider's records of a verified customer (a name
with markup stays text), an unverified one, and a provider that cannot be read."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in
from tests.browser.seed import seed
from tests.browser.server import RunningApi, running_api
from tests.unit.api import factories, provider_rows
from triage.storage.db import Conversation, make_engine, make_session_factory, session_scope, utcnow
from triage.storage.workplace_tables import CsatRating

pytestmark = pytest.mark.browser

VERIFIED = "tg-panel-anna"  # Telegram: the platform vouches for the sender id
UNKNOWN = "tg-panel-nobody"
NAME = 'Anna <img src=x onerror="window.__xss = 3"> Smith'


EARLIER = "web-anna-last-month"  # the same customer on the web chat, verified there by the bot's form
REF = "cref:v1:" + "5a" * 20


def add_conversations(db_url: str) -> None:
    factory = make_session_factory(make_engine(db_url))
    with session_scope(factory) as session:
        for conversation_id in (VERIFIED, UNKNOWN):
            factories.escalated(session, conversation_id).channel = "telegram"
        session.get_one(Conversation, VERIFIED).customer_ref = REF
        earlier = factories.bot_only(session, EARLIER, text="Where is my <b>refund</b>?")
        earlier.customer_ref, earlier.queue = REF, "cards"
        earlier.started_at = utcnow() - timedelta(days=30)
        session.add(CsatRating(conversation_id=EARLIER, rating=4, escalated=False))


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    folder = tmp_path_factory.mktemp("api-customer")
    provider_url = provider_rows.build(folder / "provider.db", VERIFIED, name=NAME)
    with running_api(folder, provider_db_url=provider_url) as running:
        seed(running.db_url)
        add_conversations(running.db_url)
        yield running


def open_conversation(page: Page, conversation_id: str) -> None:
    page.click(f"[data-conversation-id='{conversation_id}']")
    expect(page.locator("#conv-title")).to_have_text(f"Conversation {conversation_id}")


def test_the_panel_shows_a_verified_customer_from_the_providers_records(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "alice")
    open_conversation(page, VERIFIED)
    panel = page.locator("#customer")
    expect(panel.locator(".customer-name")).to_have_text(NAME)  # the markup is text
    expect(panel.locator(".badge.verified")).to_have_text("verified")
    expect(panel).to_contain_text("premium tier")
    cards = panel.locator("ul[aria-label='Cards'] li")
    expect(cards).to_have_count(2)
    expect(cards.nth(1)).to_contain_text("•••• 1881")
    expect(cards.nth(1)).to_contain_text("shipped")
    transfers = panel.locator("ul[aria-label='Transfers'] li")
    expect(transfers).to_have_count(5)
    expect(transfers.first).to_contain_text("TRF-100245")
    expect(transfers.first).to_contain_text("J. Carter")
    expect(transfers.first).to_contain_text("£250.00")
    expect(transfers.nth(1)).to_contain_text("account number rejected")
    refunds = panel.locator("ul[aria-label='Refunds'] li")
    expect(refunds).to_have_count(5)
    expect(refunds.first).to_contain_text("Skyline Air")
    expect(refunds.first).to_contain_text("£189.99")
    expect(panel).not_to_contain_text("TRF-BEN")  # another customer's
    assert page.locator("#customer img").count() == 0
    assert page.evaluate("window.__xss") is None

    # the same customer's earlier conversation, linked by the bot's reference: how it ended, and it opens
    earlier = panel.locator("ul[aria-label='Earlier conversations'] li")
    expect(earlier).to_have_count(1)
    expect(earlier.first).to_contain_text("the bot alone")
    expect(earlier.first).to_contain_text("rated 4/5")
    earlier.first.get_by_role("button").click()
    expect(page.locator("#conv-title")).to_have_text(f"Conversation {EARLIER}")
    expect(page.locator("#transcript")).to_contain_text("Where is my <b>refund</b>?")

    open_conversation(page, UNKNOWN)  # another conversation: the panel reads again, for that one
    expect(panel.locator(".unverified")).to_have_text(
        "Not verified: the provider's records name no customer for this conversation."
    )
    expect(panel).not_to_contain_text("Anna")
    expect(panel.locator(".customer-earlier")).to_contain_text("Not linked")


def test_a_provider_that_cannot_be_read_says_so(page: Page, tmp_path_factory: pytest.TempPathFactory) -> None:
    with running_api(tmp_path_factory.mktemp("api-no-provider")) as running:  # no provider database
        seed(running.db_url)
        add_conversations(running.db_url)
        sign_in(page, running, "alice")
        open_conversation(page, VERIFIED)
        expect(page.locator("#customer .provider-down")).to_have_text(
            "Provider unavailable: the provider's records cannot be read right now. "
            "The rest of the conversation is unaffected."
        )
        expect(page.locator("#transcript")).to_contain_text("ridiculous")  # the view itself works
