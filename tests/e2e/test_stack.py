"""End to end: boot the stack the way `make run` does and play a customer conversation through socket.io.

Real processes on loopback (rasa, actions, api, worker started by `clearline run` through honcho), a
real socket.io client as the customer, the REST API as the agent. The runtime databases live in a
temporary folder so the developer's own demo data is untouched.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import socketio

from api.users import DEMO_PASSWORD
from triage.rasa.client import RasaClient
from triage.settings import DEMO_SECRET

ROOT = Path(__file__).resolve().parents[2]
CLEARLINE = Path(sys.executable).parent / "clearline"
START_TIMEOUT_S = 420
# one explanation takes 0.3-1.6 s with the shipped model; a loaded CI machine may be several times slower
EXPLAIN_TIMEOUT_S = 60

pytestmark = [pytest.mark.rasa, pytest.mark.slow]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Stack:
    proc: subprocess.Popen[str]
    env: dict[str, str]
    output: list[str] = field(default_factory=list)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.env['CLEARLINE_API_PORT']}"

    @property
    def rasa(self) -> str:
        return f"http://127.0.0.1:{self.env['CLEARLINE_RASA_PORT']}"

    def log_tail(self, n: int = 80) -> str:
        return "".join(self.output[-n:])


def _pump(stack: Stack, ready: threading.Event) -> None:
    assert stack.proc.stdout is not None
    for line in stack.proc.stdout:
        stack.output.append(line)
        if "Clearline is running (" in line:
            ready.set()


@pytest.fixture(scope="module")
def stack() -> Iterator[Stack]:
    # Not under pytest's basetemp: other test runs prune it, and the log must survive a failure.
    runtime = Path(tempfile.mkdtemp(prefix="clearline-e2e-"))
    env = {
        **os.environ,
        "CLEARLINE_DEMO": "true",
        "CLEARLINE_API_PORT": str(free_port()),
        "CLEARLINE_WORKER_PORT": str(free_port()),
        "CLEARLINE_RASA_PORT": str(free_port()),
        "CLEARLINE_ACTIONS_PORT": str(free_port()),
        "CLEARLINE_DATABASE_URL": f"sqlite:///{runtime / 'clearline.db'}",
        "CLEARLINE_EVENTS_URL": f"sqlite:///{runtime / 'rasa_events.db'}",
        "CLEARLINE_RASA_TRACKER_URL": f"sqlite:///{runtime / 'rasa_tracker.db'}",
        "CLEARLINE_PROVIDER_DB_URL": f"sqlite:///{runtime / 'provider.db'}",
    }
    proc = subprocess.Popen(
        [str(CLEARLINE), "run", "--health-timeout", str(START_TIMEOUT_S)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    stack = Stack(proc, env)
    ready = threading.Event()
    threading.Thread(target=_pump, args=(stack, ready), daemon=True).start()
    deadline = time.monotonic() + START_TIMEOUT_S + 120
    while not ready.wait(1.0):
        if proc.poll() is not None or time.monotonic() > deadline:
            os.killpg(proc.pid, signal.SIGKILL) if proc.poll() is None else None
            pytest.fail(f"the stack did not start:\n{stack.log_tail()}")
    try:
        yield stack
    finally:
        # Ctrl-C, as a person would: everything must stop cleanly.
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            pytest.fail(f"the stack did not stop within 60 s of Ctrl-C:\n{stack.log_tail()}")
        finally:
            (runtime / "stack.log").write_text("".join(stack.output))
            print(f"stack log: {runtime / 'stack.log'}")


class Customer:
    """A socket.io customer, as the web widget talks to Rasa."""

    def __init__(self, rasa_url: str, session_id: str | None = None) -> None:
        self.url = rasa_url
        self.session_id = session_id or f"e2e-{uuid.uuid4().hex[:12]}"
        self.sio = socketio.AsyncClient(reconnection=False)
        self.inbox: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self.history: list[str] = []  # every bot message, in order
        self.sio.on("bot_uttered", self._on_bot)

    async def _on_bot(self, data: dict[str, Any]) -> None:
        self.history.append(str(data.get("text", "")))
        await self.inbox.put(data)

    async def connect(self) -> None:
        confirmed = asyncio.Event()
        self.sio.on("session_confirm", lambda *_: confirmed.set())
        await self.sio.connect(self.url, transports=["websocket"], socketio_path="/socket.io")
        await self.sio.emit("session_request", {"session_id": self.session_id})
        await asyncio.wait_for(confirmed.wait(), 20)

    async def say(self, text: str) -> None:
        await self.sio.emit("user_uttered", {"message": text, "session_id": self.session_id})

    async def replies(self, quiet_s: float = 3.0, first_timeout_s: float = 30.0) -> list[str]:
        """Every bot message until the bot has been quiet for ``quiet_s`` seconds."""
        texts: list[str] = []
        timeout = first_timeout_s
        while True:
            try:
                data = await asyncio.wait_for(self.inbox.get(), timeout)
            except TimeoutError:
                return texts
            texts.append(str(data.get("text", "")))
            timeout = quiet_s

    async def wait_for(self, needle: str, timeout_s: float, since: int | None = None) -> list[str]:
        """Wait for a bot message containing ``needle``; with ``since``, one already received after
        that point in the history counts too."""
        if since is not None:
            earlier = [text for text in self.history[since:] if needle.lower() in text.lower()]
            if earlier:
                return earlier
        seen: list[str] = []
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                data = await asyncio.wait_for(self.inbox.get(), max(0.1, deadline - time.monotonic()))
            except TimeoutError:
                break
            seen.append(str(data.get("text", "")))
            if needle.lower() in seen[-1].lower():
                return seen
        raise AssertionError(f"no bot message containing {needle!r} within {timeout_s} s; saw {seen}")


async def poll(fn: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await fn()
        if value:
            return value
        await asyncio.sleep(0.5)
    raise AssertionError(f"timed out waiting for {what}")


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
