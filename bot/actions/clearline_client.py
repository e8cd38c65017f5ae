"""The small HTTP client the action server uses to ask Clearline for a hand-off and to pass on a rating."""

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


async def _post(api_url: str, path: str, token: str, payload: dict, timeout_s: float) -> tuple[int, str]:
    """POST JSON to Clearline with the bot's token: the status and the start of the body. Raises
    aiohttp.ClientError or asyncio.TimeoutError (3.10: not the builtin TimeoutError)."""
    headers = {"Authorization": f"Bearer {token}"}
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout_s)) as session,
        session.post(f"{api_url}{path}", json=payload, headers=headers, allow_redirects=False) as response,
    ):
        return response.status, (await response.text())[:200]


async def request_handoff(
    api_url: str, token: str, conversation_id: str, reason: str, intent: str | None, timeout_s: float
) -> HandoffResult:
    """POST {api_url}/api/v1/handoff; never raises for network or HTTP failures (the result says so)."""
    payload = {"conversation_id": conversation_id, "reason": reason, "intent": intent}
    try:
        status, body = await _post(api_url, "/api/v1/handoff", token, payload, timeout_s)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        logger.warning("hand-off request failed: %r", exc)
        return HandoffResult(False, None, repr(exc))
    if status in ACCEPTED_STATUSES:
        return HandoffResult(True, status, "accepted")
    logger.warning("hand-off refused by Clearline: %s %s", status, body)
    return HandoffResult(False, status, body)


async def post_csat(
    api_url: str,
    token: str,
    conversation_id: str,
    rating: int,
    about: str,
    channel: str | None,
    timeout_s: float,
) -> int | None:
    """POST {api_url}/api/v1/csat; Clearline's status (201: kept), None when no answer came. Never raises
    for network or HTTP failures (the customer is told; nothing else depends on it)."""
    payload = {"conversation_id": conversation_id, "rating": rating, "about": about, "channel": channel}
    try:
        status, body = await _post(api_url, "/api/v1/csat", token, payload, timeout_s)
    except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
        logger.warning("rating request failed: %r", exc)
        return None
    if status not in (200, 201):
        logger.warning("rating refused by Clearline: %s %s", status, body)
    return status
