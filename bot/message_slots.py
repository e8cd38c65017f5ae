"""At most N customer messages in progress at once in one Rasa process; the others wait in arrival order.

Rasa handles every message that arrives at once as a task of its own on one event loop. A turn gives the
loop up at each call to the action server, and each time it comes back it queues behind every other
message's work: the loop shares its one core among all of them, so a turn with three action calls (a
conversation's first message, a form) waits three times as long as an FAQ answer, and under load those turns
make the reply time's long tail. With a few slots, a message that has started runs to its reply while the
later ones wait their turn: the core does the same work in another order (figures: docs/customer-path.md).

A slot is never waited for longer than ``MAX_WAIT_S``: a message that waited that long goes ahead without
one (logged), so turns stuck on a slow action server cannot hold every other customer back. Under
sustained overload (slots full for longer than that) every message waits the 2 s and then goes ahead:
worse than Rasa's own order there.

``CLEARLINE_RASA_MESSAGE_SLOTS``: a whole number >= 1, or 0 for Rasa's own unlimited interleaving; default 2,
and 0 with ``CLEARLINE_RASA_PATCHES=off`` (stock Rasa).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import Any

DEFAULT_SLOTS = 2
MAX_WAIT_S = 2.0
logger = logging.getLogger(__name__)


def slots_wanted(environ: Mapping[str, str], default: int = DEFAULT_SLOTS) -> int:
    value = environ.get("CLEARLINE_RASA_MESSAGE_SLOTS", str(default)).strip()
    if not value.isdigit():
        raise SystemExit(
            f"error: CLEARLINE_RASA_MESSAGE_SLOTS must be a whole number (0: no limit), not {value!r}"
        )
    return int(value)


def limit_messages_in_progress(slots: int, max_wait_s: float = MAX_WAIT_S) -> bool:
    """Wrap ``Agent.handle_message`` (every channel's way in) in a gate of ``slots``; False for 0 (Rasa's
    own method stays). The conversation's lock is taken inside, so no message holds it while it waits."""
    from rasa.core.agent import Agent

    stock = Agent.__dict__["handle_message"]
    stock = getattr(stock, "clearline_stock", stock)
    if slots <= 0:
        Agent.handle_message = stock  # type: ignore[method-assign]
        return False
    gate: asyncio.Semaphore | None = None  # made on the server's loop, at its first message

    async def handle_message(self: Agent, message: Any) -> Any:
        nonlocal gate
        if gate is None:
            gate = asyncio.Semaphore(slots)  # FIFO, and a cancelled wait gives its turn on
        try:
            await asyncio.wait_for(gate.acquire(), max_wait_s)
        except asyncio.TimeoutError:
            logger.warning(
                "no free message slot within %.1f s: this message goes ahead without one", max_wait_s
            )
            return await stock(self, message)
        try:
            return await stock(self, message)
        finally:
            gate.release()

    handle_message.clearline_stock = stock  # type: ignore[attr-defined]
    Agent.handle_message = handle_message  # type: ignore[method-assign]
    return True
