"""The customer's chat after a reload: the signed chat cookie names the one conversation this browser
holds; its transcript (as stored, redacted) and true hand-off state come back; nothing else does."""

from __future__ import annotations

import re
from datetime import timedelta

from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy.orm import Session, sessionmaker

from api.chat_identity import CHAT_COOKIE
from tests.unit.api import factories
from triage.redaction import redact_with_spans
from triage.storage.db import Conversation, Message, Sender, session_scope, utcnow


def open_chat(client: TestClient) -> str:
    page = client.get("/chat")
    assert page.status_code == 200
    found = re.search(r'data-session-id="([0-9a-f]{32})"', page.text)
    assert found, "the page names its chat"
    assert CHAT_COOKIE in client.cookies
    return found.group(1)


def history(client: TestClient) -> dict:  # type: ignore[type-arg]
    response = client.get("/api/v1/chat/history")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def test_the_page_gives_a_chat_and_keeps_it_across_reloads(client: TestClient) -> None:
    chat_id = open_chat(client)
    assert open_chat(client) == chat_id  # a reload: the same conversation
    cookie_header = client.get("/chat").headers["set-cookie"].lower()
    # lax: a link to the chat from the bank's site or an e-mail keeps the conversation
    assert "httponly" in cookie_header and "samesite=lax" in cookie_header
    cookie = client.cookies.jar
    assert all(c.has_nonstandard_attr("HttpOnly") for c in cookie if c.name == CHAT_COOKIE)
    assert history(client) == {"session_id": chat_id, "state": "bot", "agent_name": None, "messages": []}


def test_the_true_state_and_transcript_come_back(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    chat_id = open_chat(client)
    with session_scope(factory) as session:
        factories.escalated(session, chat_id)  # queued: waiting for a person
        mine = redact_with_spans("write to carla@example.com please")
        session.add(
            Message(
                conversation_id=chat_id,
                sender=Sender.CUSTOMER,
                text=mine.text,
                redactions=[span.as_dict() for span in mine.spans],
                created_at=utcnow() + timedelta(seconds=1),
            )
        )
    waiting = history(client)
    assert waiting["state"] == "waiting" and waiting["agent_name"] is None
    assert [m["sender"] for m in waiting["messages"]] == ["me", "bot", "me", "me"]
    last = waiting["messages"][-1]
    assert "carla@example.com" not in last["text"]  # as stored: redacted, with where the placeholder is
    assert last["text"] == mine.text and last["redactions"] == [span.as_dict() for span in mine.spans]
    (span,) = last["redactions"]
    assert re.fullmatch(r"<[A-Z_]+>", last["text"][span["start"] : span["end"]]), span

    with session_scope(factory) as session:
        conversation = session.get_one(Conversation, chat_id)
        alice = session.get_one(factories.User, team["alice"])
        factories.assign(session, conversation, alice)
        session.add(
            Message(
                conversation_id=chat_id,
                sender=Sender.AGENT,
                agent_id=alice.id,
                text="Alice here",
                redactions=[],
                created_at=utcnow() + timedelta(seconds=2),
            )
        )
    with_agent = history(client)
    assert with_agent["state"] == "with_agent" and with_agent["agent_name"] == "Alice"
    assert with_agent["messages"][-1] == {
        **with_agent["messages"][-1],
        "sender": "agent",
        "agent_name": "Alice",
    }


def test_a_browser_reads_only_the_conversation_it_holds(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    with session_scope(factory) as session:
        factories.escalated(session, "someone-else")
    open_chat(client)
    assert history(client)["messages"] == []  # no parameter names another conversation
    forged = URLSafeTimedSerializer("not-the-app-key", salt="clearline-chat").dumps("someone-else")
    for value in (forged, "someone-else", "", "x" * 5000):
        client.cookies.clear()
        client.cookies.set(CHAT_COOKIE, value)
        assert client.get("/api/v1/chat/history").status_code == 401, value
    client.cookies.clear()
    assert client.get("/api/v1/chat/history").status_code == 401


def test_a_new_chat_needs_the_page_header_and_starts_empty(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    first = open_chat(client)
    with session_scope(factory) as session:
        factories.escalated(session, first)
    assert client.post("/api/v1/chat/new").status_code == 403  # a form on another site cannot set it
    assert history(client)["session_id"] == first
    started = client.post("/api/v1/chat/new", headers={"X-Clearline-Chat": "1"})
    assert started.status_code == 200
    second = started.json()["session_id"]
    assert second != first and history(client) == {
        "session_id": second,
        "state": "bot",
        "agent_name": None,
        "messages": [],
    }
    assert open_chat(client) == second  # the page now holds the new one


def test_a_long_chat_shows_its_newest_messages_in_order(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    chat_id = open_chat(client)
    start = utcnow()
    with session_scope(factory) as session:
        session.add(Conversation(id=chat_id, stress_trajectory=[]))
        session.add_all(
            Message(
                conversation_id=chat_id,
                sender=Sender.CUSTOMER,
                text=f"message {i}",
                created_at=start + timedelta(seconds=i),
            )
            for i in range(205)
        )
    texts = [m["text"] for m in history(client)["messages"]]
    assert len(texts) == 200 and texts[0] == "message 5" and texts[-1] == "message 204"
