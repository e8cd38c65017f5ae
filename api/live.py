"""The one live socket: streams new audit records (id-ordered, polled from the database) to the pages.

``audit_log.id`` is monotonic, so the worker and the api need no shared in-memory bus: each socket
remembers the last id it sent and asks the database for newer records every ``live_poll_interval_s``.
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any
from urllib.parse import urlsplit

import structlog
from anyio import to_thread
from fastapi import APIRouter, Query, WebSocket, WebSocketDisconnect
from sqlalchemy.orm import Session, sessionmaker

from api.deps import authenticate
from api.queries import audit_after, last_audit_id
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


def _authenticate(websocket: WebSocket) -> tuple[SessionClaims, Via, int] | None:
    factory: sessionmaker[Session] = websocket.app.state.session_factory
    with factory() as session:
        found = authenticate(websocket, session)
        if found is None:
            return None
        _user, claims, via = found
        return claims, via, last_audit_id(session)


def _poll(
    factory: sessionmaker[Session], claims: SessionClaims, via: Via, after_id: int
) -> list[dict[str, Any]] | None:
    """Newer records, or None once the socket's session has ended (logout, deactivation, new password).

    With records to send, the session is checked again after they were read, in a new database session
    (each statement sees the database as of its own start: SQLite outside a write, PostgreSQL's read
    committed), so no record is sent once the session has ended."""
    with factory() as session:
        user = signed_in_user(session, claims, via)
        if user is None:
            return None
        records = [
            AuditOut.model_validate(r).model_dump(mode="json") for r in audit_after(session, user, after_id)
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
    claims, via, newest = found
    last_id = newest if after is None or after < 0 else after
    factory: sessionmaker[Session] = websocket.app.state.session_factory
    interval: float = websocket.app.state.api_settings.live_poll_interval_s
    await websocket.accept()
    await websocket.send_json({"type": "hello", "last_id": last_id})
    try:
        while True:
            records = await to_thread.run_sync(_poll, factory, claims, via, last_id)
            if records is None:
                await websocket.close(code=POLICY_VIOLATION, reason="signed out")
                return
            for record in records:
                await websocket.send_json({"type": "audit", "record": record})
                last_id = record["id"]
            try:
                message = await asyncio.wait_for(websocket.receive(), timeout=interval)
            except TimeoutError:
                continue
            if message["type"] == "websocket.disconnect":
                return
    except WebSocketDisconnect:
        return
