"""End to end: boot the stack the way `make run` does and play a customer conversation through socket.io.

Real processes on loopback (rasa, actions, api, worker started by `clearline run` through honcho), a
real socket.io client as the customer, the REST API as the agent (tests/e2e/stack.py).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from api.users import DEMO_PASSWORD
from tests.e2e.stack import Customer, Stack, poll, running_stack
from tests.listening import listening_addresses
from triage.rasa.client import RasaClient
from triage.settings import DEMO_SECRET

# one explanation takes 0.3-1.6 s with the shipped model; a loaded CI machine may be several times slower
EXPLAIN_TIMEOUT_S = 60

pytestmark = [pytest.mark.rasa, pytest.mark.slow]


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    with running_stack() as started:
        yield started


async def test_customer_conversation_escalates_and_agent_reply_reaches_the_customer(stack: Stack) -> None:
    try:
        await play_conversation(stack)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- stack output (tail) ---\n{stack.log_tail(60)}") from exc


async def play_conversation(stack: Stack) -> None:
    customer = Customer(stack.rasa)
    await customer.connect()
    api = httpx.AsyncClient(base_url=stack.api, timeout=10)
    try:
        # 1. Ordinary questions are answered by the bot.
        await customer.say("hello")
        assert await customer.replies(), "the bot did not greet"
        await customer.say("What exchange rate do you use when I pay abroad?")
        answer = await customer.replies()
        assert answer and any("rate" in text.lower() for text in answer), answer

        # 2. Growing frustration: the worker scores it, the policy escalates, the bot is paused and
        #    the customer is told that a person is coming.
        mark = len(customer.history)
        await customer.say("I was charged twice for the same thing and nobody has fixed it, this is annoying")
        await customer.replies()
        await customer.say(
            "This is absolutely unacceptable!!! I am furious, you took my money twice and I want it back NOW"
        )
        notice = await customer.wait_for("team", timeout_s=60, since=mark)
        assert notice

        # 3. The escalation carries its reasons and a word-level explanation.
        token = (
            await api.post("/api/v1/auth/token", json={"username": "alice", "password": DEMO_PASSWORD})
        ).json()["access_token"]
        api.headers["Authorization"] = f"Bearer {token}"
        sup_token = (
            await api.post("/api/v1/auth/token", json={"username": "sam", "password": DEMO_PASSWORD})
        ).json()["access_token"]
        sup = {"Authorization": f"Bearer {sup_token}"}

        async def escalated() -> dict[str, Any] | None:
            r = await api.get(f"/api/v1/conversations/{customer.session_id}", headers=sup)
            body = r.json() if r.status_code == 200 else {}
            return body if body.get("escalations") else None

        async def explained() -> dict[str, Any] | None:
            # the worker stores the escalation with {"pending": true} placeholders and fills them right
            # after, on its explainer thread: words read before that do not exist yet
            body = await escalated()
            entries = body["escalations"][0]["explanations"] if body else []
            return body if entries and not any(e.get("pending") for e in entries) else None

        await poll(escalated, 30, "the escalation")
        still = f"the worker to explain the escalation (still pending after {EXPLAIN_TIMEOUT_S} s)"
        detail = await poll(explained, EXPLAIN_TIMEOUT_S, still)
        escalation = detail["escalations"][0]
        assert escalation["trigger"] == "policy"
        assert any(f["factor"] == "stress" for f in escalation["factors"])
        explanation = escalation["explanations"][0]
        assert "error" not in explanation, f"the worker could not explain: {explanation['error']}"
        # The policy may already escalate on the first annoyed message: the explanation is of the
        # utterance that drove the flag, whichever it was, and its strongest words are the angry ones.
        top = sorted(explanation["words"], key=lambda w: w["attribution"], reverse=True)[:3]
        angry = {"annoying", "furious", "unacceptable", "nobody", "now"}
        assert angry & {w["word"].lower().strip("!.,") for w in top}, top
        text = explanation["text"]
        for w in explanation["words"]:
            assert text[w["start"] : w["end"]] == w["word"]

        # 4. The agent becomes available, takes the conversation and replies through the channel.
        r = await api.put("/api/v1/agents/me/status", json={"status": "available"})
        assert r.status_code == 200, r.text
        conv = (await api.get(f"/api/v1/conversations/{customer.session_id}", headers=sup)).json()
        if conv["state"] != "assigned" or conv["assigned_agent_name"] is None:
            r = await api.post(f"/api/v1/conversations/{customer.session_id}/accept", json={})
            assert r.status_code == 200, r.text
        else:
            assert conv["assigned_agent_id"] is not None
        me = (await api.get("/api/v1/auth/me")).json()
        conv = (await api.get(f"/api/v1/conversations/{customer.session_id}", headers=sup)).json()
        if conv["assigned_agent_id"] != me["user"]["id"]:
            r = await api.post(
                f"/api/v1/conversations/{customer.session_id}/reassign",
                json={"to_agent_id": me["user"]["id"], "reason": "e2e: alice takes it"},
                headers=sup,
            )
            assert r.status_code == 200, r.text
        reply = "Hi, I'm Alice from Northwind Pay. I can see the double charge and I'm refunding it now."
        r = await api.post(f"/api/v1/conversations/{customer.session_id}/reply", json={"text": reply})
        assert r.status_code == 201, r.text
        await customer.wait_for("I'm Alice from Northwind Pay", timeout_s=30)

        # 5. While handed off the bot stays silent; the customer's message reaches the agent.
        await customer.say("thank you, how long will the refund take?")
        assert await customer.replies(first_timeout_s=6) == [], "the bot answered during the hand-off"

        async def customer_message_stored() -> bool:
            r = await api.get(f"/api/v1/conversations/{customer.session_id}")
            return any("how long will the refund take" in m["text"] for m in r.json()["messages"])

        await poll(customer_message_stored, 30, "the customer's message in the agent's transcript")
        # Rasa's echo of the agent's reply (an earlier event than that message) is not stored twice
        transcript = (await api.get(f"/api/v1/conversations/{customer.session_id}")).json()["messages"]
        echoes = [m["sender"] for m in transcript if "I'm Alice from Northwind Pay" in m["text"]]
        assert echoes == ["agent"], echoes

        # 6. Resolving resumes the bot, and the customer is told. The customer asks at once, maybe
        #    before the resume has reached Rasa: the bot answers either way.
        mark = len(customer.history)
        r = await api.post(f"/api/v1/conversations/{customer.session_id}/resolve", json={})
        assert r.status_code == 200, r.text
        await customer.say("What exchange rate do you use when I pay abroad?")
        await customer.wait_for("assistant", timeout_s=30, since=mark)
        await customer.wait_for("rate", timeout_s=30, since=mark)
    finally:
        await api.aclose()
        await customer.sio.disconnect()


async def test_a_message_sent_before_the_resume_reaches_rasa_is_answered_after_it(stack: Stack) -> None:
    """The hand-back race, made certain: Rasa is still paused when the customer writes (as between an
    agent's resolve and the outbox's resume); after the resume the bot answers on the customer's channel."""
    customer = Customer(stack.rasa)
    await customer.connect()
    rasa = RasaClient(stack.rasa, stack.env.get("CLEARLINE_RASA_TOKEN", DEMO_SECRET))
    try:
        await customer.say("hello")
        assert await customer.replies(), "the bot did not greet"
        rasa.pause(customer.session_id)
        resolved_at = time.time()
        await customer.say("What exchange rate do you use when I pay abroad?")
        assert await customer.replies(first_timeout_s=4) == [], "the paused bot answered"
        assert rasa.answer_pending(customer.session_id, resolved_at) is False  # not resumed yet
        rasa.resume(customer.session_id)
        assert rasa.answer_pending(customer.session_id, resolved_at) is True
        answer = await customer.replies()
        assert any("rate" in text.lower() for text in answer), answer
        assert rasa.answer_pending(customer.session_id, resolved_at) is False  # answered once only
        assert await customer.replies(first_timeout_s=3) == []
    finally:
        rasa.close()
        await customer.sio.disconnect()


async def test_a_known_customers_tier_reaches_the_escalation(stack: Stack) -> None:
    """demo-anna (premium in the provider database; demo mode trusts the web widget's session id): the
    custom session start sets her tier, the worker reads the slot event, and the policy weighs it."""
    customer = Customer(stack.rasa, session_id="demo-anna")
    await customer.connect()
    api = httpx.AsyncClient(base_url=stack.api, timeout=10)
    try:
        token = (
            await api.post("/api/v1/auth/token", json={"username": "sam", "password": DEMO_PASSWORD})
        ).json()["access_token"]
        api.headers["Authorization"] = f"Bearer {token}"
        await customer.say("hello")
        assert await customer.replies(), "the bot did not greet"

        async def tiered() -> dict[str, Any] | None:
            r = await api.get("/api/v1/conversations/demo-anna")
            body = r.json() if r.status_code == 200 else {}
            return body if body.get("customer_tier") == "premium" else None

        await poll(tiered, 30, "the premium tier on the conversation")
        await customer.say("This is absolutely unacceptable, I am furious and nobody helps me!!!")

        async def escalated() -> dict[str, Any] | None:
            body = (await api.get("/api/v1/conversations/demo-anna")).json()
            return body if body.get("escalations") else None

        escalation = (await poll(escalated, 30, "the escalation"))["escalations"][0]
        tier = [f for f in escalation["factors"] if f["factor"] == "tier"]
        assert tier and tier[0]["value"] == "premium" and tier[0]["contribution"] > 0, escalation["factors"]
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- stack output (tail) ---\n{stack.log_tail(60)}") from exc
    finally:
        await api.aclose()
        await customer.sio.disconnect()


async def test_a_german_customer_is_answered_in_german_and_routed_to_an_agent_who_speaks_it(
    stack: Stack,
) -> None:
    """Issue #21 through the whole stack: the bot answers a German message in German with the offer of a
    person; the worker stores the language and sets the English model's stress aside; the customer's "yes"
    button hands off, and routing prefers Bob (lang-de) over Alice, who would win a tie on her lower id."""
    customer = Customer(stack.rasa)
    await customer.connect()
    api = httpx.AsyncClient(base_url=stack.api, timeout=10)
    url = f"/api/v1/conversations/{customer.session_id}"
    try:
        token = (
            await api.post("/api/v1/auth/token", json={"username": "sam", "password": DEMO_PASSWORD})
        ).json()["access_token"]
        api.headers["Authorization"] = f"Bearer {token}"
        await customer.say("Das ist eine Frechheit! Meine Karte wurde gestohlen und niemand hilft mir")
        assert await customer.wait_for("ich spreche nur Englisch", timeout_s=60)

        async def stored() -> dict[str, Any] | None:
            r = await api.get(url)
            body = r.json() if r.status_code == 200 else {}
            scored = [
                m for m in body.get("messages", []) if m["sender"] == "customer" and m["stress"] is not None
            ]
            return body if scored else None

        detail = await poll(stored, 60, "the German message, scored")
        (message,) = [m for m in detail["messages"] if m["sender"] == "customer"]
        assert detail["language"] == "de" and message["language"] == "de" and message["language_confidence"]
        assert message["stress_reliable"] is False and detail["escalations"] == []

        await customer.say("/request_human")  # the offer's "Ja, mit einer Person" button

        async def routed() -> dict[str, Any] | None:
            body = (await api.get(url)).json()
            return body if body.get("escalations") and body.get("assigned_agent_name") else None

        detail = await poll(routed, 60, "the hand-off, routed")
        factors = {f["factor"]: f["contribution"] for f in detail["escalations"][0]["factors"]}
        assert "stress" not in factors and factors.get("stress_unreliable", 0) == 0, factors
        assert detail["assigned_agent_name"] == "bob", detail["assigned_agent_name"]
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- stack output (tail) ---\n{stack.log_tail(60)}") from exc
    finally:
        await api.aclose()
        await customer.sio.disconnect()


def test_the_chat_bench_drives_the_running_stack(stack: Stack) -> None:
    """`clearline bench chat --rasa-url ...`: real customers through the REST channel, real figures."""
    from api.benchmarks.chat import ChatBenchConfig, run_chat_bench

    config = ChatBenchConfig(
        concurrency=3,
        duration=6.0,
        warmup=1.0,
        angry_share=0.5,
        rasa_url=stack.rasa,
        database_url=stack.env["CLEARLINE_DATABASE_URL"],
    )
    figures = run_chat_bench(config)
    assert figures["messages"] >= 6, figures
    assert figures["errors"] == 0, figures
    assert figures["reply_p50_ms"] is not None and figures["reply_p95_ms"] >= figures["reply_p50_ms"]
    assert sum(figures["conversations"].values()) >= 1
    assert "escalations" in figures  # timed from the database; how many depends on the model's scores


def test_every_process_of_the_stack_listens_on_loopback_only(stack: Stack) -> None:
    """`make run` is for one machine: by default Rasa, the action server, the api and the worker's health
    port (``CLEARLINE_API_HOST`` moves the last) are reachable from it alone (the action server's own
    default is every interface)."""
    for name in ("rasa", "actions", "api", "worker"):
        port = int(stack.env[f"CLEARLINE_{name.upper()}_PORT"])
        assert listening_addresses(port) == {"127.0.0.1"}, name
