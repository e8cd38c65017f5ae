"""The supervisor searches transcripts with filters, shares the view's address, and downloads an export."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in
from tests.browser.server import RunningApi
from tests.unit.api import factories
from tests.unit.api.factories import PASSWORD
from triage.storage.db import Conversation, Message, Sender, make_engine, make_session_factory, session_scope

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def vouchers(api: RunningApi) -> None:
    """One escalated conversation about a voucher, and one the bot handled alone (never flagged)."""
    factory = make_session_factory(make_engine(api.db_url))
    with session_scope(factory) as session:
        factories.escalated(
            session, "conv-voucher-angry", text="My gift voucher vanished, this is ridiculous!"
        )
        session.add(Conversation(id="conv-voucher-calm", stress_trajectory=[0.1], max_stress=0.1))
        session.flush()
        session.add(
            Message(conversation_id="conv-voucher-calm", sender=Sender.CUSTOMER, text="voucher balance?")
        )


def listed(page: Page) -> list[str]:
    return page.locator("#flagged tbody tr[data-conversation-id]").evaluate_all(
        "rows => rows.map((row) => row.dataset.conversationId)"
    )


def test_search_with_filters_lives_in_the_address(page: Page, api: RunningApi, vouchers: None) -> None:
    sign_in(page, api, "sam")
    expect(page.locator("#flagged tbody tr[data-conversation-id]").first).to_be_visible()
    page.fill("#filters input[name=q]", "VOUCHER")
    page.click("#filters button[type=submit]")
    expect(page.locator("#match-count")).to_have_text("1 match")  # flagged only, by default
    assert listed(page) == ["conv-voucher-angry"]

    page.select_option("#filters select[name=flagged]", "")  # any: the bot's conversations too
    page.click("#filters button[type=submit]")
    expect(page.locator("#match-count")).to_have_text("2 matches")
    assert sorted(listed(page)) == ["conv-voucher-angry", "conv-voucher-calm"]
    query = parse_qs(urlparse(page.url).query, keep_blank_values=True)
    assert query["q"] == ["VOUCHER"] and query["flagged"] == [""]

    # the queue is picked from the known queues, and the shared address opens the same view
    expect(page.locator("#filter-queue option[value=cards]")).to_have_count(1)
    page.select_option("#filter-queue", "cards")
    page.fill("#filters input[name=q]", '"gift voucher"')
    page.click("#filters button[type=submit]")
    expect(page.locator("#match-count")).to_have_text("1 match")
    shared = page.url
    other = page.context.browser.new_context()  # type: ignore[union-attr]
    try:
        colleague = other.new_page()
        colleague.goto(shared)  # not signed in: the login page, which comes back to the same view
        colleague.fill("#username", "sam")
        colleague.fill("#password", PASSWORD)
        colleague.click("button[type=submit]")
        colleague.wait_for_url(shared)
        expect(colleague.locator("#filters input[name=q]")).to_have_value('"gift voucher"')
        expect(colleague.locator("#filter-queue")).to_have_value("cards")
        expect(colleague.locator("#filters select[name=flagged]")).to_have_value("")
        expect(colleague.locator("#match-count")).to_have_text("1 match")
        assert listed(colleague) == ["conv-voucher-angry"]
    finally:
        other.close()


def test_a_search_without_words_says_why(page: Page, api: RunningApi, vouchers: None) -> None:
    sign_in(page, api, "sam")
    expect(page.locator("#flagged tbody tr[data-conversation-id]").first).to_be_visible()
    page.fill("#filters input[name=q]", "!!! ???")
    page.click("#filters button[type=submit]")
    expect(page.locator("#toast")).to_contain_text("at least one word")
    page.fill("#filters input[name=q]", "<img src=x onerror=alert(1)>")
    page.click("#filters button[type=submit]")
    expect(page.locator("#match-count")).to_have_text("0 matches")
    expect(page.locator("#flagged tbody")).to_contain_text("No conversations match.")


def test_the_supervisor_downloads_an_export(page: Page, api: RunningApi, vouchers: None) -> None:
    sign_in(page, api, "sam")
    page.select_option("#export-form select[name=kind]", "escalations")
    with page.expect_download() as download_info:
        page.click("#export-form button[type=submit]")
    download = download_info.value
    assert download.suggested_filename.startswith("clearline-escalations-")
    assert download.suggested_filename.endswith(".csv")
    rows = list(csv.DictReader(io.StringIO(Path(download.path()).read_text())))
    assert "conv-voucher-angry" in {row["conversation_id"] for row in rows}
    # a range the api would refuse is refused on the page, without leaving it
    page.fill("#export-form input[name=since]", "2024-01-01")
    page.click("#export-form button[type=submit]")
    expect(page.locator("#toast")).to_contain_text("at most 366 days")
    assert page.url.endswith("/supervisor")
