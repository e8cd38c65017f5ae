"""The agent console and the supervisor dashboard in a real browser against a real api process."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from tests.browser.conftest import sign_in
from tests.browser.seed import XSS_IMG, XSS_SCRIPT
from tests.browser.server import RunningApi
from tests.unit.api import factories
from tests.unit.triage.fakes import FakeScorer
from triage import services
from triage.audit import POLICY
from triage.storage.db import (
    Feedback,
    Message,
    OutboxCommand,
    Sender,
    make_engine,
    make_session_factory,
    session_scope,
    utcnow,
)
from triage.worker.explaining import explain_pending

pytestmark = pytest.mark.browser


def open_conversation(page: Page, conversation_id: str) -> None:
    page.click(f"[data-conversation-id='{conversation_id}']")
    expect(page.locator("#conv-title")).to_have_text(f"Conversation {conversation_id}")


def test_agent_sees_highlighted_words_with_legend_and_replies(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "alice")
    open_conversation(page, "conv-stolen-card")
    marks = page.locator("#transcript mark.hl")
    expect(marks.filter(has_text="ridiculous")).to_have_class(re.compile(r"\bup-3\b"))
    marks.filter(has_text="stolen").hover()  # its card, no title tooltip (test_console_word_card.py)
    expect(page.get_by_role("dialog")).to_contain_text("Attribution +0.310")
    expect(page.locator("#legend")).to_be_visible()
    expect(page.locator("#legend")).to_contain_text("strongly up")
    expect(page.locator("#faithfulness")).to_have_text(
        "Removing these words (“ridiculous”, “stolen”, “nobody”) lowers the stress score from 0.91 to 0.32."
    )
    expect(page.locator("#factors")).to_contain_text("Priority 100 (P1)")
    expect(page.locator("#emotions")).to_contain_text("anger")
    expect(page.locator("#trajectory svg circle")).to_have_count(2)
    # the reference line is the policy's own (0.4): only the 0.91 utterance is drawn above it
    expect(page.locator("#trajectory svg")).to_contain_text("triage counts from 0.40")
    expect(page.locator("#trajectory svg circle.high")).to_have_count(1)

    page.fill("#reply-text", "Hi, I'm Alice. I have frozen your card.")
    page.click("#reply-form button[type=submit]")
    # generous: on a busy machine the api may still be importing presidio for the first redaction
    expect(page.locator("#transcript .msg.agent")).to_contain_text("I have frozen your card.", timeout=30_000)

    factory = make_session_factory(make_engine(api.db_url))
    with factory() as session:
        reply = session.scalars(select(Message).where(Message.sender == Sender.AGENT)).one()
        assert (
            reply.conversation_id == "conv-stolen-card"
            and reply.text == "Hi, I'm Alice. I have frozen your card."
        )
        say = session.scalars(select(OutboxCommand).where(OutboxCommand.kind == "say")).one()
        assert say.payload["message_id"] == reply.id


def test_agent_marks_the_flag_and_unmarks_a_word(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "alice")
    open_conversation(page, "conv-stolen-card")
    word = page.locator("#transcript mark.hl", has_text="nobody")
    word.click()
    expect(word).to_have_class(re.compile(r"\bunmarked\b"))
    expect(page.locator("#unmarked-count")).to_contain_text("1 word(s) unmarked")
    page.click("#feedback-panel [data-verdict=wrong]")
    expect(page.locator("#feedback-state")).to_have_text("Marked wrong.")
    with make_session_factory(make_engine(api.db_url))() as session:
        feedback = session.scalars(select(Feedback)).one()
    assert feedback.verdict == "wrong"
    assert [w["word"] for w in feedback.unmarked_words] == ["nobody"]


def test_customer_html_renders_as_text(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "alice")
    open_conversation(page, "conv-xss")
    transcript = page.locator("#transcript")
    expect(transcript).to_contain_text(XSS_SCRIPT)
    expect(transcript).to_contain_text(XSS_IMG)
    assert transcript.locator("img, script").count() == 0
    said = transcript.locator(".msg", has_text="mail me at")
    expect(said.locator(".msg-text")).to_have_text("mail me at email or call phone")
    expect(said.locator(".pii")).to_have_count(2)
    assert page.evaluate("window.__xss") is None


def test_only_stored_redactions_become_chips(page: Page, api: RunningApi) -> None:
    """What the customer typed as "<SCRIPT>" or "<EMAIL>" stays text; the address redacted is a chip."""
    sign_in(page, api, "alice")
    open_conversation(page, "conv-xss")
    forged = page.locator("#transcript .msg", has_text="I typed")
    expect(forged.locator(".msg-text")).to_have_text("I typed <SCRIPT> and <EMAIL>, mine is email")
    expect(forged.locator(".pii")).to_have_count(1)
    expect(forged.locator(".pii")).to_have_text("email")
    expect(forged.locator(".pii")).to_have_attribute("title", "redacted before it was stored")


def test_new_assignments_arrive_live(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "bob")
    expect(page.locator("#queues")).to_contain_text("conv-transfer")
    expect(page.locator("#live-state")).to_have_text("live")
    factory = make_session_factory(make_engine(api.db_url))
    with session_scope(factory) as session:  # the worker's router would do this in another process
        services.assign_waiting(session, utcnow())
    expect(page.locator("#mine")).to_contain_text("conv-transfer", timeout=10_000)
    with session_scope(factory) as session:
        services.set_priority(session, "conv-transfer", priority=95, reason="vip", actor=POLICY)
    expect(page.locator("#mine [data-conversation-id='conv-transfer'] .band")).to_have_text(
        "P1", timeout=10_000
    )


def test_supervisor_sees_the_flagged_list_and_the_explanation(page: Page, api: RunningApi) -> None:
    sign_in(page, api, "sam")
    flagged = page.locator("#flagged tbody")
    expect(flagged).to_contain_text("conv-stolen-card")
    expect(page.locator("#figures")).to_contain_text("Escalations (24 h)")
    expect(page.locator("#agents")).to_contain_text("Alice")
    expect(page.locator("#queues .sla.breached").first).to_be_visible()
    page.locator("#flagged button", has_text="conv-stolen-card").click()
    expect(page.locator("#transcript mark.hl").first).to_be_visible()
    expect(page.locator("#audit")).to_contain_text("escalate")
    # the list scrolls, which clips markers drawn outside it: "10." showed as "0."
    assert page.eval_on_selector("#audit li", "li => getComputedStyle(li).listStylePosition") == "inside"
    expect(page.locator("#conv-meta")).not_to_contain_text("null")
    page.click("#conv-actions >> text=Priority")
    page.fill("#conv-actions input[name=priority]", "55")
    page.fill("#conv-actions input[name=reason]", "calmer after the call")
    page.click("#conv-actions >> text=Confirm")
    expect(page.locator("#audit")).to_contain_text("calmer after the call")
    expect(page.locator("#reply-form")).to_be_visible()  # assigned: a supervisor may write too
    page.select_option("#filters select[name=feedback]", "wrong")
    page.click("#filters button[type=submit]")
    expect(flagged.locator("tr")).to_have_count(1)


def test_no_reply_box_in_a_resolved_conversation(page: Page, api: RunningApi) -> None:
    """The box was shown (a class's display beat the hidden attribute) and the api refused the send."""
    factory = make_session_factory(make_engine(api.db_url))
    with session_scope(factory) as session:
        factories.escalated(session, "conv-resolved", text="my card is gone and nobody answers")
        session.flush()
        services.resolve(session, "conv-resolved", actor=POLICY, reason="the customer called instead")
    sign_in(page, api, "sam")
    page.locator("#flagged button", has_text="conv-resolved").click()
    expect(page.locator("#conv-meta")).to_contain_text("resolved")
    expect(page.locator("#transcript")).to_contain_text("nobody answers")
    expect(page.locator("#reply-form")).to_be_hidden()


def test_the_explanation_view_of_a_real_a_pending_and_a_failed_explanation(
    page: Page, api: RunningApi
) -> None:
    """As the worker stores them: a placeholder first, then the model's explanation or its error."""
    furious = "I am furious my card was stolen and nobody helps"  # the fake model's stress word: "furious"
    factory = make_session_factory(make_engine(api.db_url))
    with session_scope(factory) as session:
        factories.escalated(session, "conv-explain-failed", text=furious, explained=False)
    explain_pending(factory, FakeScorer(fail_explain=True))
    with session_scope(factory) as session:
        factories.escalated(session, "conv-explain-pending", text=furious, explained=False)
    sign_in(page, api, "sam")
    sentence, marks = page.locator("#faithfulness"), page.locator("#transcript mark.hl")
    page.locator("#flagged button", has_text="conv-explain-failed").click()
    expect(sentence).to_have_text(
        "The word-level explanation failed; the factors above are why this conversation was escalated."
    )
    expect(marks).to_have_count(0)
    expect(page.locator("#legend")).to_be_hidden()
    page.locator("#flagged button", has_text="conv-explain-pending").click()
    expect(sentence).to_have_text("The word-level explanation is being computed; it appears here when ready.")
    expect(marks).to_have_count(0)
    expect(page.locator("#legend")).to_be_hidden()
    explain_pending(factory, FakeScorer())  # the worker's explainer thread; its audit record reaches the page
    expect(marks).to_have_text(["furious"], timeout=10_000)
    expect(sentence).to_have_text("Removing the word “furious” lowers the stress score from 0.97 to 0.20.")
    expect(page.locator("#legend")).to_be_visible()
