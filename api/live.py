"""The one live socket: streams new audit records (id-ordered, polled from the database) to the pages.

The worker and the api need no shared in-memory bus: each socket remembers the last id it sent and asks
the database for newer records every ``live_poll_interval_s``. Ids are handed out in order but may commit
out of order on PostgreSQL, so a socket sends records only up to the process's audit horizon
(``api.audit_horizon``): every id up to the last one sent is final, and a page that reconnects with it
(``?after=``) misses nothing.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import urlsplit

import structlog
from anyio import to_thread
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from sqlalchemy.orm import Session, sessionmaker

from api.audit_horizon import AuditHorizon
from api.deps import authenticate
from api.queries import audit_after
from api.routes.audit import MAX_ID
from api.schemas import AuditOut
from api.security import SessionClaims
from api.sessions import Via, signed_in_user

router = APIRouter(tags=["live"])
log = structlog.get_logger("api.live")

POLICY_VIOLATION = 1008


def same_origin(websocket: WebSocket) -> bool:
    """Browsers always send Origin on WebSockets; refuse other sites (cross-site socket hijacking)."""
    origin = websocket.headers.get("origin")
    return origin is None or urlsplit(origin).netloc == websocket.headers.get("host")


def _authenticate(websocket: WebSocket) -> tuple[SessionClaims, Via] | None:
    factory: sessionmaker[Session] = websocket.app.state.session_factory
    with factory() as session:
        found = authenticate(websocket, session)
        if found is None:
            return None
        _user, claims, via = found
        return claims, via


def _horizon_now(factory: sessionmaker[Session], horizon: AuditHorizon) -> int | None:
    with factory() as session:
        return horizon.current(session)


def _poll(
    factory: sessionmaker[Session], horizon: AuditHorizon, claims: SessionClaims, via: Via, after_id: int
) -> list[dict[str, Any]] | None:
    """Newer records, or None once the socket's session has ended (logout, deactivation, new password).

    With records to send, the session is checked again after they were read, in a new database session
    (each statement sees the database as of its own start: SQLite outside a write, PostgreSQL's read
    committed), so no record is sent once the session has ended."""
    with factory() as session:
        user = signed_in_user(session, claims, via)
        if user is None:
            return None
        through = horizon.current(session)
        if through is None or through <= after_id:
            return []
        records = [
            AuditOut.model_validate(r).model_dump(mode="json")
            for r in audit_after(session, user, after_id, through=through)
        ]
    if records:
        with factory() as session:
            if signed_in_user(session, claims, via) is None:
                return None
    return records


@router.websocket("/live")
async def live(websocket: WebSocket, after: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None) -> None:
    """Audit records newer than ``after`` (default: from now), filtered to what this user may see."""
    if not same_origin(websocket):
        await websocket.close(code=POLICY_VIOLATION, reason="cross-origin")
        return
    found = await to_thread.run_sync(_authenticate, websocket)
    if found is None:
        await websocket.close(code=POLICY_VIOLATION, reason="not authenticated")
        return
    claims, via = found
    factory: sessionmaker[Session] = websocket.app.state.session_factory
    horizon: AuditHorizon = websocket.app.state.audit_horizon
    interval: float = websocket.app.state.api_settings.live_poll_interval_s
    await websocket.accept()
    try:
        # "from now" is the horizon, not the newest id: a record below the newest one may still commit
        start = after if after is not None else await to_thread.run_sync(_horizon_now, factory, horizon)
        while start is None:  # a new process waits once for the audit writers running when it first looked
            if await _disconnected_within(websocket, interval):
                return
            start = await to_thread.run_sync(_horizon_now, factory, horizon)
        last_id = start
        await websocket.send_json({"type": "hello", "last_id": last_id})
        while True:
            records = await to_thread.run_sync(_poll, factory, horizon, claims, via, last_id)
            if records is None:
                await websocket.close(code=POLICY_VIOLATION, reason="signed out")
                return
            for record in records:
                await websocket.send_json({"type": "audit", "record": record})
                last_id = record["id"]
            if await _disconnected_within(websocket, interval):
                return
    except WebSocketDisconnect:
        return


async def _disconnected_within(websocket: WebSocket, interval: float) -> bool:
    """Wait up to ``interval`` seconds; True if the client went away meanwhile."""
    try:
        message = await asyncio.wait_for(websocket.receive(), timeout=interval)
    except TimeoutError:
        return False
    return bool(message["type"] == "websocket.disconnect")
