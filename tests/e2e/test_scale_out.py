"""End to end on more than one machine's worth of processes: two Rasa servers on one PostgreSQL tracker
store and Redis lock store, publishing through RabbitMQ to two workers (tests/e2e/scale_out_stack.py).

A customer talks through the REST channel, alternating between the two Rasa servers; the leading worker
is killed with SIGKILL before the customer gets angry. The conversation escalates all the same, the
agent's reply reaches the customer, and after the resolve the bot answers again. The REST channel answers
only within its request: what the outbox sends later (the hand-off notice, the agent's reply, the
resume notice) is a bot event in the customer's tracker, read here through Rasa's HTTP API.
"""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.users import DEMO_PASSWORD
from tests.e2e.scale_out_stack import (
    PARTITIONS,
    ScaleOutStack,
    leader_gauge,
    running_scale_out_stack,
    worker_metric,
)
from tests.e2e.stack import poll

pytestmark = [pytest.mark.rasa, pytest.mark.slow, pytest.mark.postgres]

HANDOFF_NOTICE = "A member of our team will join shortly"  # utter_handoff_notice (bot/domain/core.yml)
RESUMED_NOTICE = "You're back with the assistant"  # utter_handoff_resumed
PROCESSED = "clearline_events_processed_total"  # the worker's counter of broker events consumed
HELD = "clearline_worker_partitions_held"  # partition leases a worker holds
QUESTION = "What exchange rate do you use when I pay abroad?"


@pytest.fixture(scope="module")
def stack() -> Iterator[ScaleOutStack]:
    with running_scale_out_stack() as started:
        yield started


class RestCustomer:
    """A customer on Rasa's REST channel, each message to the next Rasa server in turn."""

    def __init__(self, stack: ScaleOutStack) -> None:
        self.stack = stack
        self.sender = f"e2e-scale-{uuid.uuid4().hex[:12]}"
        self.client = httpx.AsyncClient(timeout=90)
        self.sent = 0
        self.servers_used: list[str] = []

    async def say(self, text: str) -> list[str]:
        """The bot's answers within the request, from the server whose turn it is."""
        url = self.stack.rasa_urls[self.sent % len(self.stack.rasa_urls)]
        self.sent += 1
        self.servers_used.append(url)
        response = await self.client.post(
            f"{url}/webhooks/rest/webhook", json={"sender": self.sender, "message": text}
        )
        assert response.status_code == 200, response.text
        return [str(message.get("text", "")) for message in response.json()]

    async def tracker_events(self, server: int) -> list[dict[str, Any]]:
        response = await self.client.get(
            f"{self.stack.rasa_urls[server]}/conversations/{self.sender}/tracker",
            params={"token": self.stack.token, "include_events": "ALL"},
        )
        assert response.status_code == 200, response.text
        return list(response.json()["events"])

    async def bot_texts(self, server: int) -> list[str]:
        return [str(e.get("text") or "") for e in await self.tracker_events(server) if e["event"] == "bot"]

    async def wait_for_bot_text(self, needle: str, timeout_s: float) -> None:
        """Until a bot event with ``needle`` is in the tracker, read through either server in turn."""
        reads = 0

        async def delivered() -> bool:
            nonlocal reads
            reads += 1
            return any(needle in text for text in await self.bot_texts(reads % 2))

        await poll(delivered, timeout_s, f"{needle!r} in the customer's tracker")


def assert_whole_turns(events: list[dict[str, Any]]) -> None:
    """Every user message is answered, and the bot listens again, before the next user message."""
    users = [i for i, event in enumerate(events) if event["event"] == "user"]
    for this, following in itertools.pairwise(users):
        turn = events[this + 1 : following]
        assert any(e["event"] == "bot" for e in turn), f"no answer to {events[this]['text']!r}: {turn}"
        listens = [e for e in turn if e["event"] == "action" and e["name"] == "action_listen"]
        assert turn and listens and turn[-1] in listens, f"turns interleaved: {turn}"


async def test_rest_customer_escalates_through_two_rasa_servers_and_two_workers(stack: ScaleOutStack) -> None:
    customer = RestCustomer(stack)
    api = httpx.AsyncClient(base_url=stack.api_url, timeout=30)
    try:
        await play_conversation(stack, customer, api)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- logs (tails) ---\n{stack.logs()}") from exc
    finally:
        await api.aclose()
        await customer.client.aclose()


async def play_conversation(stack: ScaleOutStack, customer: RestCustomer, api: httpx.AsyncClient) -> None:
    # 1. Ordinary questions, answered by A then B: one tracker, one session, both turns in order.
    assert await customer.say("hello"), "server A did not greet"
    answer = await customer.say(QUESTION)
    assert any("rate" in text.lower() for text in answer), answer
    for server in (0, 1):
        events = await customer.tracker_events(server)
        user_texts = [event["text"] for event in events if event["event"] == "user"]
        assert user_texts == ["hello", QUESTION], user_texts
        starts = [e for e in events if e["event"] == "action" and e["name"] == "action_session_start"]
        assert len(starts) == 1, "server B started a session of its own: the tracker is not shared"

    # 1b. Two messages at the same moment, one to each server: Redis's lock store makes the servers take
    #     them one after the other, so each turn is whole in the one tracker (with each server's own
    #     in-memory lock both would load the same tracker and interleave or lose a turn).
    #     Rasa's own RedisLockStore failed this in about 1 run of 3 (both servers took ticket 0); three rounds
    #     make a regression likely to show in any one run.
    sent = ["hello", QUESTION]
    for at_once in (
        ["hello again", "How long does a transfer abroad take?"],
        ["hi there", QUESTION],
        ["good morning", "How long does a transfer abroad take?"],
    ):
        answers = await asyncio.gather(*(customer.say(text) for text in at_once))
        assert all(answers), answers
        sent.extend(at_once)
    events = await customer.tracker_events(1)
    assert sorted(e["text"] for e in events if e["event"] == "user") == sorted(sent)
    assert_whole_turns(events)

    # 2. The leading worker crashes; the other must take over its partitions and its leadership. The two
    #    split the partitions by lease (4 and 4): whichever holds this conversation's, after the kill the
    #    survivor holds all of them.
    assert leader_gauge(stack.worker_urls[0]) == 1.0

    async def first_turns_read() -> bool:
        return sum(worker_metric(url, PROCESSED) or 0 for url in stack.worker_urls) > 0

    async def partitions_split() -> bool:
        return [worker_metric(url, HELD) for url in stack.worker_urls] == [PARTITIONS / 2] * 2

    await poll(first_turns_read, 60, "a worker to process the first turns")
    await poll(partitions_split, 60, "the two workers to split the partitions")
    stack.kill("worker-1")

    async def second_worker_leads() -> bool:
        return leader_gauge(stack.worker_urls[1]) == 1.0

    # 3. Growing frustration, through A then B: the surviving worker scores it and escalates; the
    #    customer is told that a person is coming.
    await customer.say("I was charged twice for the same thing and nobody has fixed it, this is annoying")
    await customer.say(
        "This is absolutely unacceptable!!! I am furious, you took my money twice and I want it back NOW"
    )
    await poll(second_worker_leads, 60, "worker-2 to lead after worker-1 was killed")
    await customer.wait_for_bot_text(HANDOFF_NOTICE, timeout_s=120)

    async def login(username: str) -> dict[str, str]:
        body = {"username": username, "password": DEMO_PASSWORD}
        response = await api.post("/api/v1/auth/token", json=body)
        assert response.status_code == 200, response.text
        return {"Authorization": f"Bearer {response.json()['access_token']}"}

    alice, sam = await login("alice"), await login("sam")
    cid = customer.sender

    async def escalated() -> dict[str, Any] | None:
        response = await api.get(f"/api/v1/conversations/{cid}", headers=sam)
        body = response.json() if response.status_code == 200 else {}
        return body if body.get("escalations") else None

    escalation = (await poll(escalated, 60, "the escalation"))["escalations"][0]
    assert escalation["trigger"] == "policy"
    assert any(factor["factor"] == "stress" for factor in escalation["factors"])

    # 4. The agent takes the conversation and replies; the reply reaches the customer's tracker.
    status = await api.put("/api/v1/agents/me/status", json={"status": "available"}, headers=alice)
    assert status.status_code == 200, status.text
    me = (await api.get("/api/v1/auth/me", headers=alice)).json()["user"]["id"]
    detail = (await api.get(f"/api/v1/conversations/{cid}", headers=sam)).json()
    if detail["assigned_agent_id"] is None:
        accepted = await api.post(f"/api/v1/conversations/{cid}/accept", json={}, headers=alice)
        assert accepted.status_code == 200, accepted.text
    elif detail["assigned_agent_id"] != me:
        body = {"to_agent_id": me, "reason": "e2e: alice takes it"}
        moved = await api.post(f"/api/v1/conversations/{cid}/reassign", json=body, headers=sam)
        assert moved.status_code == 200, moved.text
    reply = "Hi, I'm Alice from Northwind Pay. I can see the double charge and I'm refunding it now."
    sent = await api.post(f"/api/v1/conversations/{cid}/reply", json={"text": reply}, headers=alice)
    assert sent.status_code == 201, sent.text
    await customer.wait_for_bot_text(reply, timeout_s=60)

    # 5. While handed off the bot stays silent on either server; the message reaches the agent.
    assert await customer.say("thank you, how long will the refund take?") == [], "the bot answered"

    async def customer_message_stored() -> bool:
        response = await api.get(f"/api/v1/conversations/{cid}", headers=alice)
        return any("how long will the refund take" in m["text"] for m in response.json()["messages"])

    await poll(customer_message_stored, 60, "the customer's message in the agent's transcript")

    # 6. Resolving resumes the bot (the customer is told), and the other server answers again.
    resolved = await api.post(f"/api/v1/conversations/{cid}/resolve", json={}, headers=alice)
    assert resolved.status_code == 200, resolved.text
    await customer.wait_for_bot_text(RESUMED_NOTICE, timeout_s=60)
    answer = await customer.say(QUESTION)
    assert any("rate" in text.lower() for text in answer), answer
    # that was message 6, through B, while the api relays the outbox through A
    assert customer.servers_used[-1] == stack.rasa_urls[1]
    # the agent's reply reached the tracker once, and the resume notice came after it
    texts = await customer.bot_texts(0)
    assert texts.count(reply) == 1, texts
    resumed = [i for i, text in enumerate(texts) if RESUMED_NOTICE in text]
    assert len(resumed) == 1 and resumed[0] > texts.index(reply), texts
    # the kill was real: the survivor took every partition and did all of this alone
    assert stack.services["worker-1"].process.poll() is not None
    assert (worker_metric(stack.worker_urls[1], PROCESSED) or 0) > 0
    assert worker_metric(stack.worker_urls[1], HELD) == PARTITIONS
    assert leader_gauge(stack.worker_urls[1]) == 1.0
