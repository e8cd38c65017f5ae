"""The admin's users page in a real browser: add a user, edit skills and capacity, deactivate (their
session ends), set a password; refusals shown as the api words them."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in
from tests.browser.server import RunningApi
from tests.unit.api import factories
from triage.storage.db import Role, make_engine, make_session_factory, session_scope

pytestmark = pytest.mark.browser
NEW = "a long enough passphrase"  # noqa: S105


@pytest.fixture(scope="module", autouse=True)
def root(api: RunningApi) -> None:
    with session_scope(make_session_factory(make_engine(api.db_url))) as session:
        factories.user(session, "root", Role.ADMIN)


def row(page: Page, username: str):  # type: ignore[no-untyped-def]
    return page.locator(f"#users tr[data-username='{username}']")


def test_admin_adds_edits_deactivates_and_resets(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "root")
    page.click("nav >> text=Users")
    expect(row(page, "alice")).to_contain_text("agent")

    page.fill("#user-add input[name=username]", "carol")
    page.fill("#user-add input[name=display_name]", "Carol <b>Diaz</b>")
    page.fill("#user-add input[name=skills]", "cards, lang-fr")
    page.fill("#user-add input[name=password]", NEW)
    page.click("#user-add button[type=submit]")
    expect(row(page, "carol")).to_contain_text("Carol <b>Diaz</b>")  # markup stays text
    expect(row(page, "carol")).to_contain_text("cards, lang-fr")

    page.fill("#user-add input[name=username]", "dave")
    page.fill("#user-add input[name=skills]", "crads")
    page.fill("#user-add input[name=password]", NEW)
    page.click("#user-add button[type=submit]")
    expect(page.locator("#toast")).to_contain_text("unknown skill(s) 'crads'")
    expect(row(page, "dave")).to_have_count(0)

    # carol signs in elsewhere; the admin edits her, then deactivates her: her session ends
    colleague = page.context.browser.new_context()  # type: ignore[union-attr]
    try:
        carol = colleague.new_page()
        carol.goto(f"{api.url}/login")
        carol.fill("#username", "carol")
        carol.fill("#password", NEW)
        carol.click("button[type=submit]")
        carol.wait_for_url("**/console")

        row(page, "carol").locator("button", has_text="Edit").click()
        page.fill("#user-edit input[name=capacity]", "5")
        page.fill("#user-edit input[name=skills]", "cards, general, lang-fr")
        page.click("#user-edit button[type=submit]")
        expect(row(page, "carol")).to_contain_text("cards, general, lang-fr")
        expect(row(page, "carol").locator("td").nth(4)).to_have_text("5")

        row(page, "carol").locator("button", has_text="Edit").click()
        page.uncheck("#user-edit input[name=is_active]")
        page.click("#user-edit button[type=submit]")
        expect(row(page, "carol")).to_contain_text("deactivated")
        carol.reload()
        carol.wait_for_url("**/login**")
    finally:
        colleague.close()

    # an admin cannot deactivate themselves; the api's reason is shown
    row(page, "root").locator("button", has_text="Edit").click()
    page.uncheck("#user-edit input[name=is_active]")
    page.click("#user-edit button[type=submit]")
    expect(page.locator("#toast")).to_contain_text("admin")
    page.click("#user-edit-cancel")

    row(page, "bob").locator("button", has_text="Edit").click()
    page.fill("#user-password input[name=password]", NEW)
    page.click("#user-password button[type=submit]")
    expect(page.locator("#toast")).to_contain_text("New password set for bob")


def test_the_users_page_is_for_admins_only(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "sam")
    expect(page.locator("nav >> text=Users")).to_have_count(0)
    page.goto(f"{api.url}/admin/users")
    page.wait_for_url("**/supervisor")
