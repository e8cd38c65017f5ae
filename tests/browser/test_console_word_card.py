"""The card of a highlighted word (issue #20) in a real browser: on a phone a tap opens it and its button
unmarks the word (sent with the verdict); with a mouse a hover opens it and a click still unmarks at
once; with the keyboard focus opens it and Escape closes it. The seeded message's words: "ridiculous"
+0.42, "stolen" +0.31, "nobody" +0.12 and "card" -0.20 (tests/unit/api/factories.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Locator, Page, expect
from sqlalchemy import select

from tests.browser.conftest import new_page, sign_in
from tests.browser.server import RunningApi
from triage.storage.db import Feedback, make_engine, make_session_factory

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}
UNMARKED = re.compile(r"\bunmarked\b")


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    """A phone: a touch screen, no hover, a narrow viewport."""
    with new_page(browser, has_touch=True, is_mobile=True, viewport=PHONE) as page:
        yield page


def highlighted(page: Page, word: str) -> Locator:
    return page.locator("#transcript mark.hl", has_text=word)


def latest_unmarked_words(api: RunningApi) -> list[str]:
    with make_session_factory(make_engine(api.db_url))() as session:
        feedback = session.scalars(select(Feedback).order_by(Feedback.id.desc())).first()
    assert feedback is not None
    return [w["word"] for w in feedback.unmarked_words]


def test_a_tap_opens_the_card_and_its_button_unmarks(phone: Page, api: RunningApi) -> None:
    page = phone
    sign_in(page, api, "alice")
    page.locator("[data-conversation-id='conv-stolen-card']").tap()
    expect(page.locator("#conv-title")).to_have_text("Conversation conv-stolen-card")
    card = page.get_by_role("dialog")

    stolen = highlighted(page, "stolen")
    stolen.tap()
    expect(card).to_be_visible()
    expect(card).to_contain_text("“stolen”")
    expect(card).to_contain_text("Attribution +0.310: pushed stress up")
    expect(card).to_contain_text("2nd of 4 in this message")
    expect(card).to_contain_text("36% of this message's total positive attribution")
    expect(stolen).not_to_have_class(UNMARKED)  # the tap only opens the card
    expect(stolen).to_have_attribute("aria-expanded", "true")
    expect(stolen).to_have_attribute("aria-describedby", "word-card-text")
    box, word = card.bounding_box(), stolen.bounding_box()
    assert box is not None and word is not None
    assert box["x"] >= 0 and box["y"] >= 0
    assert box["x"] + box["width"] <= PHONE["width"] and box["y"] + box["height"] <= PHONE["height"]
    # next to the word: just below it, or just above where there is no room below
    gap = min(abs(box["y"] - (word["y"] + word["height"])), abs(word["y"] - (box["y"] + box["height"])))
    assert gap < 10, (box, word)

    page.locator("#conv-title").tap()  # elsewhere
    expect(card).to_have_count(0)
    expect(stolen).to_have_attribute("aria-expanded", "false")

    highlighted(page, "card").tap()
    expect(card).to_contain_text("Attribution -0.200: pulled it down")
    expect(card).to_contain_text("4th of 4 in this message")
    stolen.tap()  # another word's card replaces it: one at a time
    expect(card).to_have_count(1)
    expect(card).to_contain_text("“stolen”")

    card.get_by_role("button", name="Not a reason (unmark)").tap()
    expect(stolen).to_have_class(UNMARKED)
    expect(card.get_by_role("button")).to_have_text("Mark again")
    expect(card).to_contain_text("Unmarked: sent with your verdict")
    expect(page.locator("#unmarked-count")).to_contain_text("1 word(s) unmarked")
    page.keyboard.press("Escape")
    expect(card).to_have_count(0)
    expect(stolen).to_have_class(UNMARKED)

    page.locator("#feedback-panel [data-verdict=wrong]").tap()
    expect(page.locator("#feedback-state")).to_have_text("Marked wrong.")
    assert latest_unmarked_words(api) == ["stolen"]


def test_a_hover_opens_the_card_and_a_click_still_unmarks(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "alice")
    page.click("[data-conversation-id='conv-stolen-card']")
    card = page.get_by_role("dialog")
    ridiculous = highlighted(page, "ridiculous")
    expect(ridiculous).not_to_have_attribute("title", re.compile("."))  # the card replaces the tooltip

    ridiculous.hover()
    expect(card).to_contain_text("Attribution +0.420: pushed stress up")
    expect(card).to_contain_text("1st of 4 in this message")
    expect(card).to_contain_text("49% of this message's total positive attribution")
    ridiculous.click()  # the fast path: unmarked at once
    expect(ridiculous).to_have_class(UNMARKED)
    expect(card.get_by_role("button")).to_have_text("Mark again")
    page.mouse.move(5, 5)  # away: the card a hover opened closes
    expect(card).to_have_count(0)

    highlighted(page, "card").hover()
    expect(card).to_contain_text("pulled it down")
    expect(card).to_contain_text("no share of this message's positive attribution")
    highlighted(page, "nobody").hover()
    expect(card).to_have_count(1)
    expect(card).to_contain_text("3rd of 4 in this message")
    card.get_by_role("button", name="Not a reason (unmark)").click()  # the mouse can reach the button
    expect(highlighted(page, "nobody")).to_have_class(UNMARKED)

    page.click("#feedback-panel [data-verdict=correct]")
    expect(page.locator("#feedback-state")).to_have_text("Marked right.")
    assert sorted(latest_unmarked_words(api)) == ["nobody", "ridiculous"]


def test_keyboard_focus_opens_the_card_and_escape_closes_it(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "alice")
    page.click("[data-conversation-id='conv-stolen-card']")
    card = page.get_by_role("dialog")
    nobody = highlighted(page, "nobody")

    nobody.focus()
    expect(card).to_contain_text("3rd of 4 in this message")
    expect(card).to_contain_text("14% of this message's total positive attribution")
    page.keyboard.press("Enter")  # toggles as before
    expect(nobody).to_have_class(UNMARKED)
    expect(card.get_by_role("button")).to_have_text("Mark again")
    page.keyboard.press("Tab")  # the card follows its word: Tab reaches its button
    expect(card.get_by_role("button")).to_be_focused()
    page.keyboard.press("Enter")
    expect(nobody).not_to_have_class(UNMARKED)
    page.keyboard.press("Escape")
    expect(card).to_have_count(0)
    expect(nobody).to_be_focused()  # back on the word, its card stays closed
    expect(nobody).to_have_attribute("aria-expanded", "false")

    page.keyboard.press("Space")
    expect(nobody).to_have_class(UNMARKED)
    highlighted(page, "stolen").focus()
    expect(card).to_have_count(1)
    expect(card).to_contain_text("“stolen”")
