"""End to end through Rasa's real Telegram and Slack connectors (bot/channels/), against loopback
stand-ins of the providers' APIs (tests/channel_standins.py).

The stack is started the way `make run` starts it (tests/e2e/stack.py) with both channels configured and
pointed at the stand-ins (TELEGRAM_API_URL, SLACK_API_URL). A customer writes to the connector's webhook
as the provider would (Slack's requests signed with the signing secret); what the customer reads is what
the stand-in received (sendMessage, chat.postMessage). The agent works through the REST API.
"""

from __future__ import annotations

import asyncio
import itertools
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from api.users import DEMO_PASSWORD
from tests.channel_standins import (
    BOT_NAME,
    BOT_TOKEN,
    SECRET_HEADER,
    SLACK_BOT_TOKEN,
    SLACK_SIGNING_SECRET,
    TELEGRAM_SECRET,
    SlackStandIn,
    TelegramStandIn,
    serving,
    slack_message_event,
    slack_signed,
    telegram_update,
)
from tests.e2e.stack import Stack, poll, running_stack
from triage.settings import DEMO_SECRET

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

HANDOFF_NOTICE = "A member of our team will join shortly"  # utter_handoff_notice (bot/domain/core.yml)
RESUMED_NOTICE = "You're back with the assistant"  # utter_handoff_resumed
QUESTION = "What exchange rate do you use when I pay abroad?"
SLACK_CHANNEL = "C0SUPPORT"  # the channel the Slack app listens in besides direct messages


@dataclass
class Channels:
    stack: Stack
    telegram: TelegramStandIn
    slack: SlackStandIn


@pytest.fixture(scope="module")
def channels() -> Iterator[Channels]:
    telegram, slack = TelegramStandIn(), SlackStandIn()
    with serving(telegram, slack):

        def environment(_runtime: Any) -> dict[str, str]:
            return {
                "TELEGRAM_API_URL": telegram.url,
                "TELEGRAM_ACCESS_TOKEN": BOT_TOKEN,
                "TELEGRAM_BOT_NAME": BOT_NAME,
                "TELEGRAM_WEBHOOK_URL": "https://clearline.example/webhooks/telegram/webhook",
                "TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
                "SLACK_API_URL": slack.api_url,
                "SLACK_BOT_TOKEN": SLACK_BOT_TOKEN,
                "SLACK_CHANNEL": SLACK_CHANNEL,
                "SLACK_SIGNING_SECRET": SLACK_SIGNING_SECRET,
            }

        with running_stack(environment) as stack:
            yield Channels(stack, telegram, slack)


async def wait_for_text(
    texts: Callable[[], list[str]], needle: str, timeout_s: float, since: int = 0
) -> None:
    """Until one of ``texts()[since:]`` contains ``needle`` (case-insensitive)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if any(needle.lower() in text.lower() for text in texts()[since:]):
            return
        await asyncio.sleep(0.3)
    raise AssertionError(f"no message containing {needle!r} within {timeout_s} s; got {texts()[since:]}")


class Staff:
    """Alice (agent) and Sam (supervisor) on the REST API."""

    def __init__(self, api_url: str) -> None:
        self.http = httpx.AsyncClient(base_url=api_url, timeout=15)
        self.agent: dict[str, str] = {}
        self.supervisor: dict[str, str] = {}

    async def log_in(self) -> None:
        for name, headers in (("alice", self.agent), ("sam", self.supervisor)):
            r = await self.http.post("/api/v1/auth/token", json={"username": name, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            headers["Authorization"] = f"Bearer {r.json()['access_token']}"

    async def conversation(self, conversation_id: str) -> dict[str, Any] | None:
        r = await self.http.get(f"/api/v1/conversations/{conversation_id}", headers=self.supervisor)
        return r.json() if r.status_code == 200 else None

    async def escalated(self, conversation_id: str) -> dict[str, Any]:
        async def found() -> dict[str, Any] | None:
            body = await self.conversation(conversation_id)
            return body if body and body["escalations"] else None

        detail = await poll(found, 30, f"the escalation of {conversation_id}")
        listed = await self.http.get("/api/v1/conversations", headers=self.supervisor, params={"limit": 200})
        assert conversation_id in {c["id"] for c in listed.json()["items"]}
        return detail

    async def take_and_reply(self, conversation_id: str, text: str) -> None:
        """Alice takes the conversation (accepting it, or a reassignment to her) and replies."""
        r = await self.http.put("/api/v1/agents/me/status", json={"status": "available"}, headers=self.agent)
        assert r.status_code == 200, r.text
        me = (await self.http.get("/api/v1/auth/me", headers=self.agent)).json()["user"]["id"]
        conv = await self.conversation(conversation_id)
        assert conv is not None
        if conv["assigned_agent_id"] is None:
            r = await self.http.post(
                f"/api/v1/conversations/{conversation_id}/accept", json={}, headers=self.agent
            )
            assert r.status_code == 200, r.text
        conv = await self.conversation(conversation_id)
        assert conv is not None
        if conv["assigned_agent_id"] != me:
            r = await self.http.post(
                f"/api/v1/conversations/{conversation_id}/reassign",
                json={"to_agent_id": me, "reason": "e2e: alice takes it"},
                headers=self.supervisor,
            )
            assert r.status_code == 200, r.text
        r = await self.http.post(
            f"/api/v1/conversations/{conversation_id}/reply", json={"text": text}, headers=self.agent
        )
        assert r.status_code == 201, r.text

    async def resolve(self, conversation_id: str) -> None:
        r = await self.http.post(
            f"/api/v1/conversations/{conversation_id}/resolve", json={}, headers=self.agent
        )
        assert r.status_code == 200, r.text


@pytest.fixture
async def staff(channels: Channels) -> Any:
    team = Staff(channels.stack.api)
    await team.log_in()
    yield team
    await team.http.aclose()


def failing_with_log(channels: Channels) -> Any:
    """Re-raise an assertion with the stack's log tail, which says why Rasa or the worker did not act."""

    class Context:
        def __enter__(self) -> None:
            return None

        def __exit__(self, kind: Any, exc: BaseException | None, _tb: Any) -> None:
            if isinstance(exc, AssertionError):
                raise AssertionError(
                    f"{exc}\n--- stack output (tail) ---\n{channels.stack.log_tail(80)}"
                ) from exc

    return Context()


_update_ids = itertools.count(1)


async def test_a_telegram_customer_is_handed_to_an_agent_and_back(channels: Channels, staff: Staff) -> None:
    telegram = channels.telegram
    chat_id = random.randint(10**8, 10**9)  # Telegram's chat id is the conversation's id
    conversation_id = str(chat_id)
    webhook = f"{channels.stack.rasa}/webhooks/telegram/webhook"
    assert telegram.webhook_url == "https://clearline.example/webhooks/telegram/webhook"  # set at start

    async def say(text: str) -> None:
        async with httpx.AsyncClient(timeout=90) as http:
            update = telegram_update(next(_update_ids), chat_id, text)
            r = await http.post(webhook, json=update, headers={SECRET_HEADER: TELEGRAM_SECRET})
        assert r.status_code == 200 and r.text == "success", r.text

    # an update without the webhook's secret (anyone who knows the URL and a chat id) is refused
    async with httpx.AsyncClient(timeout=90) as http:
        forged = telegram_update(next(_update_ids), chat_id, "I want to talk to a human")
        for headers in ({}, {SECRET_HEADER: "guessed"}):
            refused = await http.post(webhook, json=forged, headers=headers)
            assert refused.status_code == 403, refused.text
    assert telegram.secret_token == TELEGRAM_SECRET

    def sent() -> list[str]:
        return telegram.sent(chat_id)

    with failing_with_log(channels):
        # 1. The bot answers through the connector (Rasa's webhook answers after the bot has sent).
        await say("hello")
        assert sent(), "the bot's greeting did not reach Telegram"
        await say(QUESTION)
        await wait_for_text(sent, "rate", 10)

        # 2. Asking for a person escalates; the conversation is Telegram's.
        mark = len(sent())
        await say("I want to talk to a human")
        await wait_for_text(sent, HANDOFF_NOTICE, 30, since=mark)
        detail = await staff.escalated(conversation_id)
        assert detail["channel"] == "telegram"
        assert detail["human_requested"] is True

        # 3. The agent's reply goes back through Telegram to the same chat. Telegram's API fails twice
        #    first: Rasa answers the outbox 500, the outbox retries, and the reply arrives once.
        reply = "Hi, this is Alice from Northwind Pay on Telegram. I'm looking at your payment now."
        telegram.fail("Alice from Northwind Pay on Telegram", times=2)
        await staff.take_and_reply(conversation_id, reply)
        await wait_for_text(sent, reply, 60)
        assert sent().count(reply) == 1, sent()
        tries = [c for c in telegram.called("sendMessage") if c.params.get("text") == reply]
        assert [c.status for c in tries] == [500, 500, 200]
        assert {str(c.params["chat_id"]) for c in tries} == {conversation_id}

        async def delivered() -> bool:
            body = await staff.conversation(conversation_id)
            agent = [m for m in (body or {}).get("messages", []) if m["sender"] == "agent"]
            return bool(agent) and all(m["delivered"] for m in agent)

        await poll(delivered, 15, "the agent's reply marked delivered")
        # the failed tries left nothing behind: Rasa saved the reply's bot event once, with the success
        async with httpx.AsyncClient(timeout=15) as http:
            r = await http.get(
                f"{channels.stack.rasa}/conversations/{conversation_id}/tracker",
                params={"token": channels.stack.env.get("CLEARLINE_RASA_TOKEN", DEMO_SECRET)},
            )
        assert [e.get("text") for e in r.json()["events"] if e["event"] == "bot"].count(reply) == 1
        transcript = (await staff.conversation(conversation_id) or {})["messages"]
        assert [m["sender"] for m in transcript if m["text"] == reply] == ["agent"]

        # 4. Resolving hands back to the bot, which answers the next message through Telegram again.
        mark = len(sent())
        await staff.resolve(conversation_id)
        await wait_for_text(sent, RESUMED_NOTICE, 30, since=mark)
        mark = len(sent())
        await say(QUESTION)
        await wait_for_text(sent, "rate", 30, since=mark)


async def test_a_slack_request_without_slacks_signature_is_refused(channels: Channels, staff: Staff) -> None:
    webhook = f"{channels.stack.rasa}/webhooks/slack/webhook"
    user, dm = "U0FORGED1", "D0FORGED1"
    body, headers = slack_signed(slack_message_event(user, dm, "hello"), secret="not-the-signing-secret")
    async with httpx.AsyncClient(timeout=30) as http:
        forged = await http.post(webhook, content=body, headers=headers)
        unsigned = await http.post(webhook, content=body, headers={"Content-Type": "application/json"})
    assert forged.status_code == 400, forged.text
    assert unsigned.status_code == 400, unsigned.text
    await asyncio.sleep(3)
    assert channels.slack.sent(dm) == [] and channels.slack.sent(user) == []
    assert await staff.conversation(user) is None  # Rasa never saw the message


async def test_a_slack_customer_is_handed_to_an_agent_and_back(channels: Channels, staff: Staff) -> None:
    slack = channels.slack
    suffix = f"{random.randint(0, 16**8):08X}"
    user, dm = f"U0{suffix}", f"D0{suffix}"  # the sender's user id is the conversation's id
    webhook = f"{channels.stack.rasa}/webhooks/slack/webhook"

    async def say(text: str) -> None:
        body, headers = slack_signed(slack_message_event(user, dm, text))
        async with httpx.AsyncClient(timeout=30) as http:
            r = await http.post(webhook, content=body, headers=headers)
        assert r.status_code == 200, r.text  # Rasa answers at once and handles the message in the background

    def in_dm() -> list[str]:  # the bot's answers, where the customer wrote
        return slack.sent(dm)

    def to_user() -> list[str]:  # the HTTP API's messages (notices, the agent's words): the user's DM
        return slack.sent(user)

    with failing_with_log(channels):
        await say("hello")
        await wait_for_text(in_dm, "", 30)  # any answer: the greeting
        mark = len(in_dm())
        await say(QUESTION)
        await wait_for_text(in_dm, "rate", 30, since=mark)

        await say("I want to talk to a human")
        await wait_for_text(lambda: in_dm() + to_user(), HANDOFF_NOTICE, 30)
        detail = await staff.escalated(user)
        assert detail["channel"] == "slack"

        reply = "Hi, this is Alice from Northwind Pay on Slack. I'm looking at your payment now."
        await staff.take_and_reply(user, reply)
        await wait_for_text(to_user, reply, 30)
        assert to_user().count(reply) == 1
        assert slack.sent(SLACK_CHANNEL) == []  # never posted where others read

        mark_dm, mark_user = len(in_dm()), len(to_user())
        await staff.resolve(user)
        await wait_for_text(to_user, RESUMED_NOTICE, 30, since=mark_user)
        await say(QUESTION)
        await wait_for_text(in_dm, "rate", 30, since=mark_dm)
        assert slack.sent(SLACK_CHANNEL) == []
