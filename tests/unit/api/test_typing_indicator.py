"""The typing indicator through the API (issue #20): the agent's signal reaches the customer's chat with
the agent's name, the customer's reaches the console; each role, each refusal, expiry, the reply clearing
the agent's signal, the rate limit. Real app, real SQLite database built by the migrations."""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from itsdangerous import URLSafeTimedSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from api.chat_identity import CHAT_COOKIE
from api.settings import get_api_settings
from tests.unit.api import factories
from tests.unit.api.conftest import bearer, login
from tests.unit.api.test_chat_history import open_chat
from triage.storage.db import Conversation, ConversationState, Role, User, session_scope, utcnow
from triage.storage.workplace_tables import TypingSignal

PAGE = {"X-Clearline-Chat": "1"}
TYPING = {"typing": True}


def staff_typing(
    client: TestClient, conversation_id: str, headers: dict[str, str], body: object = None
) -> int:
    url = f"/api/v1/conversations/{conversation_id}/typing"
    return client.post(url, json=TYPING if body is None else body, headers=headers).status_code


def customer_typing_seen(client: TestClient, conversation_id: str, headers: dict[str, str]) -> bool:
    response = client.get(f"/api/v1/conversations/{conversation_id}/typing", headers=headers)
    assert response.status_code == 200, response.text
    return bool(response.json()["customer_typing"])


def agent_typing_seen(client: TestClient) -> dict[str, object]:
    response = client.get("/api/v1/chat/typing")
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def customer_types(client: TestClient, typing: bool = True) -> None:
    assert client.post("/api/v1/chat/typing", json={"typing": typing}, headers=PAGE).status_code == 204


def expire_all(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        session.execute(update(TypingSignal).values(until=utcnow() - timedelta(seconds=1)))


def signals(factory: sessionmaker[Session]) -> list[tuple[str, str, int | None]]:
    with session_scope(factory) as session:
        rows = session.execute(select(TypingSignal.conversation_id, TypingSignal.party, TypingSignal.user_id))
        return sorted((r.conversation_id, r.party, r.user_id) for r in rows)


def with_alice(factory: sessionmaker[Session], chat_id: str, team: dict[str, int]) -> None:
    with session_scope(factory) as session:
        conversation = factories.escalated(session, chat_id)  # the cards queue
        factories.assign(session, conversation, session.get_one(User, team["alice"]))


@pytest.fixture
def chat_with_alice(client: TestClient, factory: sessionmaker[Session], team: dict[str, int]) -> str:
    """This browser's chat, escalated to the cards queue and assigned to Alice."""
    chat_id = open_chat(client)
    with_alice(factory, chat_id, team)
    return chat_id


def test_the_agent_typing_reaches_the_customers_chat_with_her_name_until_the_reply(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    chat_id = open_chat(client)
    assert agent_typing_seen(client) == {"agent_typing": False, "agent": None}  # nothing stored yet
    with_alice(factory, chat_id, team)
    alice = bearer(client, "alice")
    assert staff_typing(client, chat_id, alice) == 204
    assert agent_typing_seen(client) == {"agent_typing": True, "agent": "Alice"}
    assert signals(factory) == [(chat_id, "agent", team["alice"])]  # who and until when; never a text

    assert staff_typing(client, chat_id, alice, {"typing": False}) == 204  # she emptied the box
    assert agent_typing_seen(client)["agent_typing"] is False
    assert staff_typing(client, chat_id, alice) == 204
    reply = client.post(f"/api/v1/conversations/{chat_id}/reply", json={"text": "Hello"}, headers=alice)
    assert reply.status_code == 201, reply.text
    assert agent_typing_seen(client) == {"agent_typing": False, "agent": None}  # gone with the message
    assert signals(factory) == []


def test_a_supervisor_may_signal_and_the_customer_sees_the_supervisors_name(
    client: TestClient, factory: sessionmaker[Session], chat_with_alice: str
) -> None:
    chat_id = chat_with_alice
    assert staff_typing(client, chat_id, bearer(client, "sam")) == 204
    assert agent_typing_seen(client) == {"agent_typing": True, "agent": "Sam"}  # as on a reply of his


def test_expired_signals_read_as_not_typing_both_ways(
    client: TestClient, factory: sessionmaker[Session], chat_with_alice: str
) -> None:
    chat_id = chat_with_alice
    alice = bearer(client, "alice")
    assert staff_typing(client, chat_id, alice) == 204
    customer_types(client)
    assert agent_typing_seen(client)["agent_typing"] is True
    assert customer_typing_seen(client, chat_id, alice) is True
    expire_all(factory)
    assert agent_typing_seen(client) == {"agent_typing": False, "agent": None}
    assert customer_typing_seen(client, chat_id, alice) is False
    customer_types(client)  # the next signal overwrites the expired row
    assert customer_typing_seen(client, chat_id, alice) is True


def test_the_customers_typing_reaches_whoever_may_see_the_conversation(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    chat_id = open_chat(client)
    customer_types(client)  # with the assistant (not even stored yet): ignored quietly
    with session_scope(factory) as session:
        factories.escalated(session, chat_id)  # queued in cards: waiting for a person
    customer_types(client)  # (the page's header is required, sent by customer_types)
    alice, sam = bearer(client, "alice"), bearer(client, "sam")
    assert customer_typing_seen(client, chat_id, alice) is True  # her queue
    assert customer_typing_seen(client, chat_id, sam) is True
    bob = client.get(f"/api/v1/conversations/{chat_id}/typing", headers=bearer(client, "bob"))
    assert bob.status_code == 404  # not his queue: the same answer as for an unknown id
    customer_types(client, typing=False)  # sent
    assert customer_typing_seen(client, chat_id, alice) is False
    assert client.get("/api/v1/conversations/no-such-conversation/typing", headers=alice).status_code == 404
    assert client.get(f"/api/v1/conversations/{chat_id}/typing").status_code == 401


@pytest.mark.parametrize("state", [ConversationState.BOT, ConversationState.RESOLVED])
def test_the_customers_typing_is_not_recorded_with_the_assistant(
    client: TestClient, factory: sessionmaker[Session], chat_with_alice: str, state: ConversationState
) -> None:
    chat_id = chat_with_alice
    with session_scope(factory) as session:
        session.get_one(Conversation, chat_id).state = state
    customer_types(client)
    assert signals(factory) == []
    assert customer_typing_seen(client, chat_id, bearer(client, "alice")) is False


def test_who_may_signal_as_staff_and_in_which_state(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    with session_scope(factory) as session:
        cara = factories.user(session, "cara", Role.AGENT, ("cards",))
        mine = factories.escalated(session, "conv-alice")
        factories.assign(session, mine, session.get_one(User, team["alice"]))
        factories.escalated(session, "conv-queued")
        done = factories.escalated(session, "conv-done")
        factories.assign(session, done, cara)
        done.state = ConversationState.RESOLVED
    alice, bob, sam = bearer(client, "alice"), bearer(client, "bob"), bearer(client, "sam")
    assert staff_typing(client, "no-such-conversation", alice) == 404
    assert staff_typing(client, "conv-alice", bob) == 404  # not his queue: may not see it
    assert (
        staff_typing(client, "conv-alice", bearer(client, "cara")) == 403
    )  # her queue, Alice's conversation
    assert staff_typing(client, "conv-queued", alice) == 403  # nobody holds it: accept it first
    assert staff_typing(client, "conv-done", bearer(client, "cara")) == 409  # hers, but resolved
    assert staff_typing(client, "conv-queued", sam) == 409  # no agent on it: no customer waits for a reply
    assert staff_typing(client, "conv-alice", sam) == 204
    assert staff_typing(client, "conv-alice", {}) == 401
    assert signals(factory) == [("conv-alice", "agent", team["sam"])]


def test_a_signed_in_page_needs_its_csrf_token(
    client: TestClient, factory: sessionmaker[Session], chat_with_alice: str
) -> None:
    chat_id = chat_with_alice
    csrf = login(client, "alice")
    assert staff_typing(client, chat_id, {}) == 403  # the session cookie alone: a forged request
    assert staff_typing(client, chat_id, {"X-CSRF-Token": csrf}) == 204


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"typing": "yes"},
        {"typing": 1},
        {"typing": None},
        {"typing": True, "text": "what I typed"},
        [True],
    ],
)
def test_a_wrong_body_is_refused_and_nothing_is_stored(
    client: TestClient, factory: sessionmaker[Session], chat_with_alice: str, body: object
) -> None:
    chat_id = chat_with_alice
    assert staff_typing(client, chat_id, bearer(client, "alice"), body) == 422
    assert client.post("/api/v1/chat/typing", json=body, headers=PAGE).status_code == 422
    assert signals(factory) == []


def test_wrong_methods_and_a_body_that_is_not_json(
    client: TestClient, factory: sessionmaker[Session], chat_with_alice: str
) -> None:
    chat_id = chat_with_alice
    alice = bearer(client, "alice")
    for method in ("PUT", "DELETE", "PATCH"):
        assert (
            client.request(method, f"/api/v1/conversations/{chat_id}/typing", headers=alice).status_code
            == 405
        )
        assert client.request(method, "/api/v1/chat/typing", headers=PAGE).status_code == 405
    raw = client.post(
        "/api/v1/chat/typing", content=b"\xff\xfe", headers={**PAGE, "Content-Type": "application/json"}
    )
    assert raw.status_code == 422
    assert signals(factory) == []


def test_the_chat_cookie_names_the_one_conversation_a_browser_may_signal_in(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    with session_scope(factory) as session:
        other = factories.escalated(session, "b" * 32)  # someone else's chat, with Alice
        factories.assign(session, other, session.get_one(User, team["alice"]))
    assert staff_typing(client, "b" * 32, bearer(client, "alice")) == 204
    open_chat(client)  # this browser's own chat: with the assistant
    assert agent_typing_seen(client) == {"agent_typing": False, "agent": None}  # not the other one's
    customer_types(client)
    assert signals(factory) == [("b" * 32, "agent", team["alice"])]  # nothing written for the other

    assert client.post("/api/v1/chat/typing", json=TYPING).status_code == 403  # no page header
    forged = URLSafeTimedSerializer("not-the-app-key", salt="clearline-chat").dumps("b" * 32)
    for value in (forged, "b" * 32, ""):
        client.cookies.clear()
        client.cookies.set(CHAT_COOKIE, value)
        assert client.get("/api/v1/chat/typing").status_code == 401, value
        assert client.post("/api/v1/chat/typing", json=TYPING, headers=PAGE).status_code == 401, value
    client.cookies.clear()
    assert client.get("/api/v1/chat/typing").status_code == 401
    assert client.post("/api/v1/chat/typing", json=TYPING, headers=PAGE).status_code == 401
    assert signals(factory) == [("b" * 32, "agent", team["alice"])]


def test_signals_are_rate_limited_per_chat(client: TestClient, chat_with_alice: str) -> None:
    allowed = int(get_api_settings().typing_rate_limit.split("/")[0])
    chat_id = chat_with_alice
    for _ in range(allowed):
        customer_types(client)
    assert client.post("/api/v1/chat/typing", json=TYPING, headers=PAGE).status_code == 429
    # per credential, not per address: the agent on the same machine still signals
    assert staff_typing(client, chat_id, bearer(client, "alice")) == 204


def test_the_routes_are_in_the_openapi(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths["/api/v1/conversations/{conversation_id}/typing"]) == {"get", "post"}
    assert set(paths["/api/v1/chat/typing"]) == {"get", "post"}
