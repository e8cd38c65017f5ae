"""The "Replay and promote" page in a real browser: an admin replays a registered candidate policy over
judged escalations, promotes it with a reason, rolls it back with a reason, and the registry's audit trail
shows both; a supervisor sees the report but cannot promote."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.conftest import sign_in
from tests.browser.server import RunningApi
from tests.unit.api import factories
from tests.unit.api.replay_rows import policy_yaml, seed_judged
from tests.unit.triage.policies import SHIPPED_POLICY
from triage.domain.policy import load_policy
from triage.storage.db import Role, User, make_engine, make_session_factory, session_scope

pytestmark = pytest.mark.browser
CANDIDATE = "stress-30"
SHIPPED = load_policy(SHIPPED_POLICY).version
# argon2 at sign-in is slow on purpose, and this 2-core machine runs other tests beside: httpx's default
# 5 s was too short once for the token
TIMEOUT_S = 30
PROMOTED_BECAUSE = "fewer wrong flags on late cards"
ROLLED_BACK_BECAUSE = "transfers drop to the bar: check first"


def bearer(api: RunningApi, username: str) -> dict[str, str]:
    token = httpx.post(
        f"{api.url}/api/v1/auth/token",
        json={"username": username, "password": factories.PASSWORD},
        timeout=TIMEOUT_S,
    )
    assert token.status_code == 200, token.text
    return {"Authorization": f"Bearer {token.json()['access_token']}"}


@pytest.fixture(scope="module", autouse=True)
def candidate(api: RunningApi) -> None:
    """root (admin); the judged escalations of replay_rows (verdicts by sam); a candidate policy with the
    stress weight at 30 registered by root through the API, not active."""
    with session_scope(make_session_factory(make_engine(api.db_url))) as session:
        factories.user(session, "root", Role.ADMIN)
        sam = session.scalars(select(User).where(User.username == "sam")).one()
        seed_judged(session, judge=sam)
    added = httpx.post(
        f"{api.url}/api/v1/policies",
        json={"yaml": policy_yaml(CANDIDATE, 30), "reason": "stress counts less"},
        headers=bearer(api, "root"),
        timeout=TIMEOUT_S,
    )
    assert added.status_code == 201, added.text


def run_replay(page: Page) -> None:
    page.goto(page.url)  # the lists as they are now
    page.select_option("#replay-form select[name=policy_version]", CANDIDATE)
    page.click("#replay-form button[type=submit]")
    expect(page.locator("#replay-state")).to_contain_text("Done in")


def history_row(page: Page, action: str) -> Any:
    return page.locator(f"#history tr[data-action='{action}']")


def test_an_admin_replays_promotes_and_rolls_back_with_reasons(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "root")
    page.click("nav >> text=Replay and promote")
    page.wait_for_url("**/supervisor/replay")
    expect(page.locator("#active-versions")).to_contain_text(f"policy {SHIPPED}")
    expect(page.locator(f"#policies tr[data-version='{CANDIDATE}']")).to_contain_text("stress counts less")

    run_replay(page)
    report = page.locator("#report")
    expect(report).to_be_visible()
    expect(page.locator("#report-of")).to_contain_text(f"policy {CANDIDATE} against {SHIPPED}")
    # replay_rows: the late card (judged wrong) drops under the bar; the two judged right stay flagged
    expect(page.locator("#removed tr[data-conversation-id='replay-waiting']")).to_contain_text("wrong")
    expect(page.locator("#priority-changed tr[data-conversation-id='replay-stolen']")).to_contain_text(
        "88 (P1)"
    )
    expect(page.locator("#report-figures")).to_contain_text("67% → 100%")  # flag precision
    page.click("#removed button:has-text('replay-waiting')")
    expect(page.locator("#conv-title")).to_have_text("Conversation replay-waiting")

    expect(page.locator("#promote-what")).to_have_text(f"policy {CANDIDATE}")
    page.fill("#promote-form input[name=reason]", PROMOTED_BECAUSE)
    page.click("#promote-form button[type=submit]")
    expect(page.locator("#active-versions")).to_contain_text(f"policy {CANDIDATE}")
    expect(page.locator(f"#policies tr[data-version='{CANDIDATE}']")).to_contain_text("active")
    expect(page.locator("#promote-form")).to_be_hidden()

    page.select_option("#rollback-form select[name=kind]", "policy")
    page.fill("#rollback-form input[name=reason]", ROLLED_BACK_BECAUSE)
    page.click("#rollback-form button[type=submit]")
    expect(page.locator("#active-versions")).to_contain_text(f"policy {SHIPPED}")

    # the audit trail: on the page, and as the API gives it
    expect(history_row(page, "policy_promote").first).to_contain_text(PROMOTED_BECAUSE)
    expect(history_row(page, "policy_promote").first).to_contain_text(CANDIDATE)
    expect(history_row(page, "policy_rollback").first).to_contain_text(ROLLED_BACK_BECAUSE)
    expect(history_row(page, "policy_rollback").first).to_contain_text(SHIPPED)
    expect(history_row(page, "replay").first).to_contain_text(f"policy {CANDIDATE}")
    admin = bearer(api, "root")
    records = httpx.get(f"{api.url}/api/v1/audit?newest=true", headers=admin, timeout=TIMEOUT_S).json()
    switches = [
        (r["action"], r["actor"], r["inputs"]["reason"], r["outcome"]["version"])
        for r in reversed(records)
        if r["action"] in ("policy_promote", "policy_rollback") and r["actor"] == "root"
    ]
    assert switches == [
        ("policy_promote", "root", PROMOTED_BECAUSE, CANDIDATE),
        ("policy_rollback", "root", ROLLED_BACK_BECAUSE, SHIPPED),
    ]


def test_a_supervisor_sees_the_report_but_cannot_promote(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "sam")
    page.click("nav >> text=Replay and promote")
    page.wait_for_url("**/supervisor/replay")
    run_replay(page)
    expect(page.locator("#removed tr[data-conversation-id='replay-waiting']")).to_be_visible()
    expect(page.locator("#promote-form")).to_have_count(0)
    expect(page.locator("#rollback-panel")).to_have_count(0)
    expect(page.get_by_role("button", name="Promote this candidate")).to_have_count(0)
