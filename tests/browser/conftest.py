"""Browser tests: a real uvicorn api, Debian's chromium driven by Playwright."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.browser.seed import seed
from tests.browser.server import CHROMIUM, CHROMIUM_ARGS, RunningApi, running_api
from tests.unit.api.factories import PASSWORD

# Playwright's 5 s default for an expectation was too short once on a 2-core CI machine busy with other
# processes (a feedback POST answered after it); what is expected is unchanged, only the wait is longer
expect.set_options(timeout=15_000)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    with running_api(tmp_path_factory.mktemp("api")) as running:
        seed(running.db_url)
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@contextmanager
def new_page(browser: Browser, **options: Any) -> Iterator[Page]:
    """A page in a browser context of its own (``options``: Playwright's, e.g. ``has_touch`` or a
    phone's ``viewport``); a JavaScript error on it fails the test."""
    context = browser.new_context(**{"viewport": {"width": 1400, "height": 1000}, **options})
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    context.close()
    assert errors == [], f"JavaScript errors: {errors}"


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with new_page(browser) as page:
        yield page


def sign_in(page: Page, api: RunningApi, username: str) -> None:
    page.goto(f"{api.url}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url("**/console" if username in ("alice", "bob") else "**/supervisor")
