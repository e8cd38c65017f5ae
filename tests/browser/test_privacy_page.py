"""The admin's customer-data page in a real browser: export downloads the JSON, erase asks first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in
from tests.browser.server import RunningApi
from tests.unit.api import factories
from triage.storage.db import Conversation, Role, make_engine, make_session_factory, session_scope

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def root(api: RunningApi) -> None:
    """An admin beside the seeded team (this module's api and database)."""
    with session_scope(make_session_factory(make_engine(api.db_url))) as session:
        factories.user(session, "root", Role.ADMIN)


def test_an_admin_exports_then_erases_after_confirming(
    page: Page, api: RunningApi, root: None, tmp_path: Path
) -> None:
    sign_in(page, api, "root")
    page.click("nav >> text=Customer data")
    page.wait_for_url("**/admin/privacy")
    page.fill("#customer-ids", "conv-transfer\nweb-never-seen")
    with page.expect_download() as download:
        page.click("#export")
    saved = tmp_path / "export.json"
    download.value.save_as(saved)
    document = json.loads(saved.read_text())
    assert document["customer_ids"] == ["conv-transfer", "web-never-seen"]
    assert document["counts"]["clearline"]["conversations"] == 1

    page.fill("#erase-reason", "request 881")
    page.click("#erase")
    expect(page.locator("#erase-confirm")).to_be_visible()
    expect(page.locator("#erase-question")).to_contain_text("conv-transfer, web-never-seen")
    page.click("#erase-no")  # cancelled: nothing happens
    expect(page.locator("#erase-confirm")).to_be_hidden()
    with make_session_factory(make_engine(api.db_url))() as session:
        assert session.get(Conversation, "conv-transfer") is not None

    page.click("#erase")
    page.click("#erase-yes")
    results = page.locator("#erase-results li")
    expect(results).to_have_count(2, timeout=20_000)  # the erasure sweeps again after 2 s
    expect(results.nth(0)).to_contain_text("conv-transfer: erased (clearline: ")
    expect(results.nth(1)).to_have_text("web-never-seen: nothing held")
    with make_session_factory(make_engine(api.db_url))() as session:
        assert session.get(Conversation, "conv-transfer") is None


def test_the_page_is_not_for_supervisors(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "sam")
    expect(page.locator("nav >> text=Customer data")).to_have_count(0)
    page.goto(f"{api.url}/admin/privacy")
    page.wait_for_url("**/supervisor")
