"""The small HTTP client the action server uses to ask Clearline for a hand-off to a person."""

import asyncio
import logging
from dataclasses import dataclass

import aiohttp

logger = logging.getLogger(__name__)

# Clearline answers 200/201 (escalation created or already open) or 202 (accepted, queued). Anything else,
# including other 2xx codes and redirects, is not a confirmed hand-off.
ACCEPTED_STATUSES = frozenset({200, 201, 202})


@dataclass(frozen=True)
class HandoffResult:
    ok: bool
    status: int | None  # None when no HTTP answer came back at all
    detail: str


async def request_handoff(
    api_url: str, token: str, conversation_id: str, reason: str, intent: str | None, timeout_s: float
) -> HandoffResult:
    """POST {api_url}/api/v1/handoff; never raises for network or HTTP failures (the result says so)."""
    payload = {"conversation_id": conversation_id, "reason": reason, "intent": intent}
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
            session.post(
                f"{api_url}/api/v1/handoff", json=payload, headers=headers, allow_redirects=False
            ) as response,
        ):
            body = (await response.text())[:200]
            if response.status in ACCEPTED_STATUSES:
                return HandoffResult(True, response.status, "accepted")
            logger.warning("hand-off refused by Clearline: %s %s", response.status, body)
            return HandoffResult(False, response.status, body)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:  # 3.10: not the builtin TimeoutError
        logger.warning("hand-off request failed: %r", exc)
        return HandoffResult(False, None, repr(exc))
