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


async def run_against_clearline(
    action, path: str, status: int | None, tracker, monkeypatch
) -> tuple[list[str], list[dict], list[dict]]:
    """Serve Clearline's ``path`` on loopback answering ``status`` (None: nothing listens on the port), run
    the action; the responses it uttered, the requests Clearline received and the action's events."""
    received: list[dict] = []

    async def endpoint(request: web.Request) -> web.Response:
        received.append({"auth": request.headers.get("Authorization"), "body": await request.json()})
        return web.json_response({}, status=status)

    port = free_port()
    monkeypatch.setenv("CLEARLINE_API_URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("CLEARLINE_TRIAGE_TOKEN", "test-token")
    monkeypatch.setenv("CLEARLINE_HANDOFF_TIMEOUT_S", "2")
    runner = None
    if status is not None:
        app = web.Application()
        app.router.add_post(path, endpoint)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        dispatcher = CollectingDispatcher()
        events = await action.run(dispatcher, tracker, {})
        return [message["response"] for message in dispatcher.messages], received, events
    finally:
        if runner is not None:
            await runner.cleanup()


async def run_handoff_against(status: int | None, tracker, monkeypatch) -> tuple[list[str], list[dict]]:
    messages, received, events = await run_against_clearline(
        ActionHandoff(), "/api/v1/handoff", status, tracker, monkeypatch
    )
    assert events == []
    return messages, received


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


def test_the_hand_off_words_exist_in_english_and_in_spanish_french_and_german() -> None:
    """The action names responses; each has an English text and one per language the bot greets in."""
    from tests.bot.test_domain import merged_domain

    responses = merged_domain()["responses"]
    for name in (CONFIRMATION, UNAVAILABLE):
        languages = {(variant.get("condition") or [{}])[0].get("value") for variant in responses[name]}
        assert {None, "es", "fr", "de"} <= languages
    english = next(v["text"] for v in responses[UNAVAILABLE] if "condition" not in v)
    assert "support@northwindpay.example" in english


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
            return [message["response"] for message in dispatcher.messages]
        finally:
            await runner.cleanup()

    assert asyncio.run(scenario()) == [UNAVAILABLE]
