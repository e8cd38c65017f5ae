"""Signing in in a real browser: where it goes afterwards (never to another site)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

from tests.browser.server import RunningApi
from tests.unit.api.factories import PASSWORD

pytestmark = pytest.mark.browser

# each of these took the browser to example.com after signing in, or would if login.js trusted it
UNSAFE_NEXT = (
    "/%5Cexample.com/phish",  # the issue's: "/\example.com", a backslash browsers read as a slash
    "/%5C/example.com",
    "//example.com/phish",
    "/%2F%2Fexample.com",
    "/%09/example.com",  # browsers drop tabs and newlines from URLs: "/\t/x" is "//x"
    "/%0A/example.com",
    "https://example.com/phish",
    "javascript:alert(1)",
)


def _sign_in_at(page: Page, url: str, username: str) -> str:
    """Sign in from ``url``; the address the browser lands on next (here or elsewhere)."""
    # nothing outside may be reached: answer for the phishing site, so a redirect there shows as one
    page.route("http://example.com/**", lambda route: route.fulfill(body="phished"))
    page.route("https://example.com/**", lambda route: route.fulfill(body="phished"))
    page.goto(url)
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda address: "/login" not in address)
    return page.url


@pytest.mark.parametrize("next_", UNSAFE_NEXT)
def test_sign_in_never_follows_next_to_another_site(page: Page, api: RunningApi, next_: str) -> None:
    landed = _sign_in_at(page, f"{api.url}/login?next={next_}", "alice")
    assert urlsplit(landed).netloc == urlsplit(api.url).netloc, landed
    assert urlsplit(landed).path == "/console"  # the agent's own page instead


def test_sign_in_follows_a_local_next(page: Page, api: RunningApi) -> None:
    landed = _sign_in_at(page, f"{api.url}/login?next=/console%3Fview%3Dmine", "sam")
    assert landed == f"{api.url}/console?view=mine"
