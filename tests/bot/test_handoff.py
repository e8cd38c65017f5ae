"""The hand-off action against a real HTTP server on loopback."""

import asyncio
import socket

import pytest
from actions.handoff import CONFIRMATION, UNAVAILABLE, ActionHandoff
from aiohttp import web
from rasa_sdk.executor import CollectingDispatcher

from tests.bot.conftest import make_tracker


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


async def run_handoff_against(status: int | None, tracker, monkeypatch) -> tuple[list[str], list[dict]]:
    """Serve /api/v1/handoff with `status` (None: nothing listens on the port) and run the action."""
    received: list[dict] = []

    async def handoff(request: web.Request) -> web.Response:
        received.append({"auth": request.headers.get("Authorization"), "body": await request.json()})
        return web.json_response({"status": "queued"}, status=status)

    port = free_port()
    monkeypatch.setenv("CLEARLINE_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("CLEARLINE_TRIAGE_TOKEN", "test-token")
    monkeypatch.setenv("CLEARLINE_HANDOFF_TIMEOUT_S", "2")
    runner = None
    if status is not None:
        app = web.Application()
        app.router.add_post("/api/v1/handoff", handoff)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        dispatcher = CollectingDispatcher()
        events = await ActionHandoff().run(dispatcher, tracker, {})
        assert events == []
        return [message["text"] for message in dispatcher.messages], received
    finally:
        if runner is not None:
            await runner.cleanup()


@pytest.mark.parametrize("status", [200, 201, 202])
def test_accepted_handoff_confirms_briefly(status: int, monkeypatch: pytest.MonkeyPatch) -> None:
    tracker = make_tracker("conv-42", intent="request_human", text="I want a human")
    messages, received = asyncio.run(run_handoff_against(status, tracker, monkeypatch))
    assert messages == [CONFIRMATION]
    assert received == [
        {
            "auth": "Bearer test-token",
            "body": {"conversation_id": "conv-42", "reason": "customer_request", "intent": "request_human"},
        }
    ]


def test_accepted_offer_is_reported_as_such(monkeypatch: pytest.MonkeyPatch) -> None:
    tracker = make_tracker("conv-7", intent="affirm", text="yes please")
    _, received = asyncio.run(run_handoff_against(200, tracker, monkeypatch))
    assert received[0]["body"]["reason"] == "fallback_offer_accepted"
    assert received[0]["body"]["intent"] == "affirm"


@pytest.mark.parametrize("status", [500, 404, 204, 401])
def test_refused_handoff_is_told_honestly(status: int, monkeypatch: pytest.MonkeyPatch) -> None:
    tracker = make_tracker("conv-42", intent="request_human")
    messages, received = asyncio.run(run_handoff_against(status, tracker, monkeypatch))
    assert len(received) == 1
    assert messages == [UNAVAILABLE]


def test_unreachable_api_is_told_honestly(monkeypatch: pytest.MonkeyPatch) -> None:
    tracker = make_tracker("conv-42", intent="request_human")
    messages, received = asyncio.run(run_handoff_against(None, tracker, monkeypatch))
    assert received == []
    assert messages == [UNAVAILABLE]
    assert "support@northwindpay.example" in messages[0]


def test_slow_api_times_out_and_is_told_honestly(monkeypatch: pytest.MonkeyPatch) -> None:
    async def scenario() -> list[str]:
        async def slow(request: web.Request) -> web.Response:
            await asyncio.sleep(5)
            return web.json_response({}, status=200)

        app = web.Application()
        app.router.add_post("/api/v1/handoff", slow)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        monkeypatch.setenv("CLEARLINE_API_URL", f"http://127.0.0.1:{port}")
        monkeypatch.setenv("CLEARLINE_HANDOFF_TIMEOUT_S", "0.5")
        try:
            dispatcher = CollectingDispatcher()
            await ActionHandoff().run(dispatcher, make_tracker(intent="request_human"), {})
            return [message["text"] for message in dispatcher.messages]
        finally:
            await runner.cleanup()

    assert asyncio.run(scenario()) == [UNAVAILABLE]
