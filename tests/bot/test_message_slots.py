"""bot/message_slots.py: at most N messages in progress in Rasa, the others in arrival order."""

from __future__ import annotations

import asyncio
from typing import Any

import message_slots
import pytest
from rasa.core.agent import Agent


@pytest.fixture
def recording_agent(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Agent.handle_message replaced by one that records how many run at once and in which order they
    start (each gives the loop up a few times, as a turn does at its action calls)."""
    seen: dict[str, Any] = {"running": 0, "most": 0, "started": []}

    async def handle_message(_self: Agent, message: str) -> str:
        seen["running"] += 1
        seen["most"] = max(seen["most"], seen["running"])
        seen["started"].append(message)
        for _ in range(3):
            await asyncio.sleep(0)
        seen["running"] -= 1
        return f"reply to {message}"

    monkeypatch.setattr(Agent, "handle_message", handle_message)
    return seen


def _six_at_once() -> list[str]:
    agent = Agent.__new__(Agent)

    async def run() -> list[str]:
        return list(await asyncio.gather(*(agent.handle_message(f"m{i}") for i in range(6))))  # type: ignore[arg-type]

    return asyncio.run(run())


def test_at_most_the_slots_run_at_once_and_the_rest_start_in_arrival_order(
    recording_agent: dict[str, Any],
) -> None:
    assert message_slots.limit_messages_in_progress(2) is True
    replies = _six_at_once()
    assert replies == [f"reply to m{i}" for i in range(6)]
    assert recording_agent["most"] == 2
    assert recording_agent["started"] == [f"m{i}" for i in range(6)]


def test_without_a_limit_rasa_interleaves_every_message(recording_agent: dict[str, Any]) -> None:
    message_slots.limit_messages_in_progress(1)
    assert message_slots.limit_messages_in_progress(0) is False  # and a limit set before is gone
    _six_at_once()
    assert recording_agent["most"] == 6


def test_applied_twice_the_limit_is_the_last_one_not_both(recording_agent: dict[str, Any]) -> None:
    message_slots.limit_messages_in_progress(1)
    message_slots.limit_messages_in_progress(3)
    _six_at_once()
    assert recording_agent["most"] == 3


def test_a_message_that_fails_gives_its_slot_back(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    async def handle_message(_self: Agent, message: str) -> str:
        calls.append(message)
        if message == "bad":
            raise RuntimeError("the action server is down")
        return "ok"

    monkeypatch.setattr(Agent, "handle_message", handle_message)
    message_slots.limit_messages_in_progress(1)
    agent = Agent.__new__(Agent)

    async def run() -> list[Any]:
        return list(
            await asyncio.gather(
                agent.handle_message("bad"),  # type: ignore[arg-type]
                agent.handle_message("good"),  # type: ignore[arg-type]
                return_exceptions=True,
            )
        )

    failed, answered = asyncio.run(run())
    assert isinstance(failed, RuntimeError) and answered == "ok"
    assert calls == ["bad", "good"]


def test_a_message_that_waited_too_long_for_a_slot_goes_ahead_without_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = asyncio.Event()
    order: list[str] = []

    async def handle_message(_self: Agent, message: str) -> str:
        order.append(f"start {message}")
        if message == "stuck":  # a turn waiting on an action server that does not answer
            await release.wait()
        order.append(f"end {message}")
        return message

    monkeypatch.setattr(Agent, "handle_message", handle_message)
    message_slots.limit_messages_in_progress(1, max_wait_s=0.05)
    agent = Agent.__new__(Agent)

    async def run() -> list[str]:
        stuck = asyncio.ensure_future(agent.handle_message("stuck"))  # type: ignore[arg-type]
        await asyncio.sleep(0)
        answered = await agent.handle_message("faq")  # type: ignore[arg-type]
        release.set()
        return [answered, await stuck]

    assert asyncio.run(run()) == ["faq", "stuck"]
    assert order == ["start stuck", "start faq", "end faq", "end stuck"]


def test_the_default_is_two_slots_and_none_for_stock_rasa() -> None:
    assert message_slots.slots_wanted({}) == 2
    assert message_slots.slots_wanted({}, default=0) == 0  # serve.py with CLEARLINE_RASA_PATCHES=off
    assert message_slots.slots_wanted({"CLEARLINE_RASA_MESSAGE_SLOTS": "2"}, default=0) == 2


@pytest.mark.parametrize(("value", "slots"), [("0", 0), ("4", 4), (" 2 ", 2)])
def test_slots_come_from_the_environment(value: str, slots: int) -> None:
    assert message_slots.slots_wanted({"CLEARLINE_RASA_MESSAGE_SLOTS": value}) == slots


@pytest.mark.parametrize("value", ["-1", "two", "1.5", ""])
def test_a_wrong_slot_count_is_refused(value: str) -> None:
    with pytest.raises(SystemExit, match="CLEARLINE_RASA_MESSAGE_SLOTS must be a whole number"):
        message_slots.slots_wanted({"CLEARLINE_RASA_MESSAGE_SLOTS": value})
