"""End to end: a conversation full of personal data goes through the real stack (Rasa, actions, worker, api)
on SQLite and on PostgreSQL; then every table of every database Clearline and Rasa write, and every log,
is searched for the raw values. None may be found.

The provider's database is left out on purpose: it is the bank's own record of its customers (the bot
reads it to check an identity), not a store Clearline or Rasa writes conversations into.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from sqlalchemy import create_engine, inspect, text

from api.users import DEMO_PASSWORD
from tests.e2e.stack import Customer, Stack, poll, running_stack

pytestmark = [pytest.mark.rasa, pytest.mark.slow]

EMAIL = "carla@example.net"  # a customer the provider knows by e-mail and card only (no sender mapping)
PHONE = "+44 7700 900461"
IBAN = "GB82 WEST 1234 5698 7654 32"
CARD = "4539 1488 0343 6467"  # a Luhn-valid number a customer types where it does not belong
# each value also as a run without separators: a store that drops the spaces still holds it
RAW = [EMAIL, PHONE, "7700 900461", IBAN, CARD]
RAW_COMPACT = [re.sub(r"\s", "", value) for value in RAW]
PG_SERVER = "postgresql://postgres@127.0.0.1:5432"


def _postgres_databases(prefix: str) -> dict[str, str]:
    return {name: f"{prefix}_{name}" for name in ("core", "tracker", "events")}


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def private_stack(request: pytest.FixtureRequest) -> Iterator[Stack]:
    if request.param == "sqlite":
        with running_stack() as stack:
            yield stack
        return
    names = _postgres_databases(f"clearline_e2e_{uuid.uuid4().hex[:8]}")
    with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
        for database in names.values():
            admin.execute(f'CREATE DATABASE "{database}"')
    overrides = {
        "CLEARLINE_DATABASE_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{names['core']}",
        "CLEARLINE_RASA_TRACKER_URL": f"{PG_SERVER}/{names['tracker']}",
        "CLEARLINE_EVENTS_URL": f"postgresql+psycopg://postgres@127.0.0.1:5432/{names['events']}",
    }
    try:
        with running_stack(lambda _runtime: overrides) as stack:
            yield stack
    finally:
        with psycopg.connect(f"{PG_SERVER}/postgres", autocommit=True) as admin:
            for database in names.values():
                admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def _database_urls(stack: Stack) -> dict[str, str]:
    urls = {
        "clearline": stack.env["CLEARLINE_DATABASE_URL"],
        "rasa tracker store": stack.env["CLEARLINE_RASA_TRACKER_URL"],
        "rasa event broker": stack.env["CLEARLINE_EVENTS_URL"],
    }
    return {name: re.sub(r"^postgresql(?=://)", "postgresql+psycopg", url) for name, url in urls.items()}


def _every_table(url: str) -> dict[str, str]:
    """Each table of the database with all its rows as one text (every column, JSON included)."""
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            dump = {}
            for table in inspect(connection).get_table_names():
                rows = connection.execute(text(f'SELECT * FROM "{table}"'))  # noqa: S608 - schema names
                dump[table] = "\n".join(" ".join(str(value) for value in row) for row in rows)
            return dump
    finally:
        engine.dispose()


def _found(haystack: str) -> list[str]:
    compact = re.sub(r"\s", "", haystack)
    return [value for value in RAW if value in haystack] + [
        value for value in RAW_COMPACT if value in compact
    ]


async def retrying_409(call: Callable[[], Awaitable[httpx.Response]], attempts: int = 3) -> httpx.Response:
    """The call again while the api answers 409 (a concurrent change), at most ``attempts`` times."""
    response = await call()
    for _ in range(attempts - 1):
        if response.status_code != 409:
            break
        response = await call()
    return response


async def _play(stack: Stack) -> str:
    customer = Customer(stack.rasa)
    await customer.connect()
    api = httpx.AsyncClient(base_url=stack.api, timeout=10)
    try:
        await customer.say("Where is my new card? It still hasn't arrived")
        asked = await customer.replies()
        assert any("email" in reply.lower() for reply in asked), asked
        await customer.say(f"it's {EMAIL}")
        asked = await customer.replies()
        assert any("last four" in reply.lower() for reply in asked), asked
        # the next turn checks the card against the e-mail read back sealed from Rasa's tracker store
        await customer.say("0005")
        answer = await customer.replies()
        assert not any("couldn't match" in reply for reply in answer), answer
        await customer.say(f"Also call me on {PHONE}, refund to my IBAN {IBAN}, my old card was {CARD}")
        await customer.replies()
        mark = len(customer.history)  # the policy may already escalate on the annoyed message
        await customer.say("I was charged twice for the same thing and nobody has fixed it, this is annoying")
        await customer.replies()
        await customer.say(
            f"This is absolutely unacceptable!!! I am furious, ring {PHONE} NOW, nobody helps me"
        )
        await customer.wait_for("team", timeout_s=60, since=mark)

        async def login(username: str) -> dict[str, str]:
            body = {"username": username, "password": DEMO_PASSWORD}
            token = (await api.post("/api/v1/auth/token", json=body)).json()["access_token"]
            return {"Authorization": f"Bearer {token}"}

        alice, sam = await login("alice"), await login("sam")
        cid = customer.session_id

        async def escalated() -> dict[str, Any] | None:
            body = (await api.get(f"/api/v1/conversations/{cid}", headers=sam)).json()
            return body if body.get("escalations") else None

        await poll(escalated, 30, "the escalation")
        assert (
            await api.put("/api/v1/agents/me/status", json={"status": "available"}, headers=alice)
        ).is_success
        detail = (await api.get(f"/api/v1/conversations/{cid}", headers=sam)).json()
        me = (await api.get("/api/v1/auth/me", headers=alice)).json()["user"]["id"]
        if detail["assigned_agent_id"] is None:
            assert (await api.post(f"/api/v1/conversations/{cid}/accept", json={}, headers=alice)).is_success
        elif detail["assigned_agent_id"] != me:
            body = {"to_agent_id": me, "reason": f"alice knows {EMAIL}"}
            assert (
                await api.post(f"/api/v1/conversations/{cid}/reassign", json=body, headers=sam)
            ).is_success
        reply = f"Carla, I will call you on {PHONE} and write to {EMAIL}."
        # a 409 on either action: the worker stored a message of this conversation (the join notice, the
        # reply) between the api's read and write; the api says "reload and retry", and a client does that
        sent = await retrying_409(
            lambda: api.post(f"/api/v1/conversations/{cid}/reply", json={"text": reply}, headers=alice)
        )
        assert sent.status_code == 201, sent.text
        assert (await customer.wait_for("I will call you", timeout_s=30))[-1] == reply  # delivered as written
        resolved = await retrying_409(
            lambda: api.post(
                f"/api/v1/conversations/{cid}/resolve",
                json={"reason": f"refund to {IBAN} agreed"},
                headers=alice,
            )
        )
        assert resolved.is_success, resolved.text
        escalation = (await escalated() or {})["escalations"][0]["id"]
        comment = {"verdict": "correct", "comment": f"she gave {CARD} in the chat"}
        given = await api.post(f"/api/v1/escalations/{escalation}/feedback", json=comment, headers=sam)
        assert given.status_code == 201, given.text

        async def stored() -> bool:
            body = (await api.get(f"/api/v1/conversations/{cid}", headers=sam)).json()
            texts = [message["text"] for message in body["messages"]]
            return any("<PHONE>" in t and "<IBAN>" in t for t in texts) and any("<EMAIL>" in t for t in texts)

        await poll(stored, 30, "the redacted messages in the transcript")
        # the placeholders Rasa's store put in are listed with the message, so the console shows them as
        # redactions (a customer who types "<PHONE>" is shown as text)
        body = (await api.get(f"/api/v1/conversations/{cid}", headers=sam)).json()
        message = next(m for m in body["messages"] if "<IBAN>" in m["text"])
        marked = {m["entity"]: message["text"][m["start"] : m["end"]] for m in message["redactions"] or []}
        assert marked == {"PHONE_NUMBER": "<PHONE>", "IBAN_CODE": "<IBAN>", "CREDIT_CARD": "<CARD_NUMBER>"}, (
            message
        )
        return cid
    finally:
        await api.aclose()
        await customer.sio.disconnect()


async def test_no_raw_personal_data_in_any_store_or_log(private_stack: Stack) -> None:
    try:
        conversation = await _play(private_stack)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- stack output (tail) ---\n{private_stack.log_tail(60)}") from exc
    searched = []
    for store, url in _database_urls(private_stack).items():
        tables = _every_table(url)
        assert any(conversation in rows for rows in tables.values()), (
            f"nothing of the conversation in {store}"
        )
        for table, rows in tables.items():
            assert not _found(rows), f"raw personal data in {store}, table {table}: {_found(rows)}"
            searched.append(f"{store}.{table}")
    expected = {"messages", "escalations", "audit_log", "feedback", "outbox"}
    assert {f"clearline.{table}" for table in expected} <= set(searched), searched
    assert {"rasa tracker store.events", "rasa event broker.events"} <= set(searched), searched
    logs = {"stack output": "".join(private_stack.output)}
    for path in Path(private_stack.runtime).rglob("*"):
        if path.is_file() and not path.name.startswith("provider.db"):
            logs[str(path)] = path.read_bytes().decode("utf-8", "replace")
    for name, content in logs.items():
        assert not _found(content), f"raw personal data in {name}: {_found(content)}"
