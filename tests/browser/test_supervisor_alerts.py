"""The supervisor's alerts in a real browser (raised by the worker's check, shown live, acknowledged) and
the figures with their window and breakdowns."""

from __future__ import annotations

from datetime import timedelta

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in
from tests.browser.server import RunningApi
from tests.unit.api import factories
from triage.services.alerts import raise_alerts
from triage.storage.db import make_engine, make_session_factory, session_scope, utcnow

pytestmark = pytest.mark.browser


def test_an_alert_arrives_live_and_is_acknowledged(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "sam")
    expect(page.locator("#live-state")).to_have_text("live")
    factory = make_session_factory(make_engine(api.db_url))
    with session_scope(factory) as session:
        factories.escalated(session, "conv-alert-p1", text="someone took money from my card <b>now</b>")
    with session_scope(factory) as session:
        raise_alerts(session, utcnow() + timedelta(minutes=2))  # as the worker's leader does each second
    alert = page.locator("#alerts li", has_text="conv-alert-p1")
    expect(alert).to_contain_text("P1 waiting")
    expect(alert.locator(".severity")).to_have_text("critical")
    expect(page.locator("#alerts")).not_to_contain_text("took money")  # no customer words in an alert
    alert.locator("button", has_text="Acknowledge").click()
    expect(alert).to_have_count(0)


def test_figures_with_a_window_and_breakdowns(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "sam")
    expect(page.locator("#figures")).to_contain_text("Escalations (24 h)")
    expect(page.locator("#figures")).to_contain_text("Escalation rate")
    expect(page.locator("#figures")).to_contain_text("unflags count as wrong")
    expect(page.locator("#by-queue tbody")).to_contain_text("cards")
    page.select_option("#figures-window", "168")
    expect(page.locator("#figures")).to_contain_text("Escalations (7 days)")
    expect(page.locator("#figures")).to_contain_text("Median resolution")
