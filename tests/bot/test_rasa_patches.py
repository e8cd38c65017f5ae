"""bot/rasa_patches.py: the same acceptance and the same errors as stock Rasa, and only on its version."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import rasa
import rasa.server
import rasa_patches
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.core.brokers.sql import SQLEventBroker
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted,
    BotUttered,
    Event,
    SessionStarted,
    SlotSet,
    UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.utils.common import all_subclasses
from serve import patches_wanted
from sqlalchemy import event as sa_event
from sqlalchemy import text
from sqlalchemy.pool import NullPool, QueuePool, SingletonThreadPool

VALID = [
    {},
    {"events": [], "responses": []},
    {
        "events": [{"event": "slot", "name": "customer_email", "value": "a@example.com"}],
        "responses": [{"text": "Your card is on its way."}],
    },
]
MALFORMED = [
    {"events": "not a list"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot", "name": 5}]},
    {"responses": ["a bare string"]},
    ["not", "an", "object"],
]


ALL_PATCHES = [
    "action_response_validation",
    "http_api_events_validation",
    "sql_tracker_store_save",
    "sql_tracker_store_retrieve",
    "event_type_lookup",
    "sqlite_wal",
    "sqlite_pool",
    "lock_poll",
    "rule_lookup",
    "debug_only_copies",
]


@pytest.fixture
def stock_and_patched(restore_stock: None) -> tuple[Callable[..., Any], Callable[..., Any]]:
    stock = RemoteAction._validate_action_result
    assert rasa_patches.apply() == ALL_PATCHES
    patched = RemoteAction._validate_action_result
    assert patched is not stock
    return stock, patched


ACTION = RemoteAction("action_card_delivery_status", None)


def _error(validate: Callable[..., Any], response: Any) -> str:
    with pytest.raises(ValidationError) as raised:
        validate(ACTION, response)
    return raised.value.message


@pytest.mark.parametrize("response", VALID)
def test_valid_responses_pass_both(stock_and_patched: tuple[Callable[..., Any], ...], response: Any) -> None:
    stock, patched = stock_and_patched
    assert stock(ACTION, response) is True
    assert patched(ACTION, response) is True


@pytest.mark.parametrize("response", MALFORMED)
def test_malformed_responses_are_rejected_with_stock_rasas_error(
    stock_and_patched: tuple[Callable[..., Any], ...], response: Any
) -> None:
    stock, patched = stock_and_patched
    message = _error(patched, response)
    assert "Failed to validate Action server response" in message
    assert message == _error(stock, response)


def test_the_patched_validator_is_reused_not_rebuilt(
    stock_and_patched: tuple[Callable[..., Any], ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, patched = stock_and_patched
    import jsonschema.validators

    def no_schema_checks(*args: object, **kwargs: object) -> None:
        raise AssertionError("the schema must not be checked again per response")

    monkeypatch.setattr(jsonschema.validators.Draft4Validator, "check_schema", no_schema_checks)
    monkeypatch.setattr(jsonschema.validators.Draft7Validator, "check_schema", no_schema_checks)
    monkeypatch.setattr(jsonschema.validators.Draft202012Validator, "check_schema", no_schema_checks)
    assert patched(ACTION, VALID[2]) is True


def test_another_rasa_version_runs_stock(restore_stock: None, monkeypatch: pytest.MonkeyPatch) -> None:
    stock = RemoteAction._validate_action_result
    monkeypatch.setattr(rasa, "__version__", "3.6.22")
    assert rasa_patches.apply() == []
    assert RemoteAction._validate_action_result is stock


@pytest.mark.parametrize(("value", "wanted"), [("on", True), ("OFF", False), ("1", True), ("false", False)])
def test_patches_are_switched_by_the_environment(value: str, wanted: bool) -> None:
    assert patches_wanted({"CLEARLINE_RASA_PATCHES": value}) is wanted
    assert patches_wanted({}) is True


def test_a_wrong_switch_value_is_refused() -> None:
    with pytest.raises(SystemExit, match="CLEARLINE_RASA_PATCHES must be on or off"):
        patches_wanted({"CLEARLINE_RASA_PATCHES": "maybe"})


DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, card_arrival]
slots:
  customer_email:
    type: text
    mappings: [{type: custom}]
responses:
  utter_greet: [{text: "Hello!"}]
"""
)


def _turns(tracker: DialogueStateTracker) -> list[list[Event]]:
    return [
        [ActionExecuted("action_session_start"), SessionStarted(), ActionExecuted("action_listen")],
        [UserUttered("hi", {"name": "greet", "confidence": 0.9}), ActionExecuted("utter_greet")],
        [BotUttered("Hello!"), SlotSet("customer_email", "a@example.com"), ActionExecuted("action_listen")],
        [],  # a save with nothing new
        [UserUttered("where is my card", {"name": "card_arrival", "confidence": 0.8})],
    ]


TRACKER_COLUMNS = "sender_id, type_name, timestamp, intent_name, action_name, data"


def _saved_rows(folder: Path) -> tuple[list[tuple[Any, ...]], list[tuple[str, dict[str, Any]]], int]:
    """Save a conversation turn by turn; return (tracker store rows: every column but the id, broker rows:
    sender column and event, broker commits)."""
    broker = SQLEventBroker(db=str(folder / "events.db"))
    commits: list[int] = []
    sa_event.listen(broker.engine, "commit", lambda connection: commits.append(1))
    store = SQLTrackerStore(DOMAIN, db=str(folder / "tracker.db"), event_broker=broker)
    tracker = DialogueStateTracker("anna", DOMAIN.slots)
    for turn in _turns(tracker):
        for new in turn:
            tracker.update(new)
        asyncio.run(store.save(tracker))
    with store.engine.connect() as connection:
        query = text(f"SELECT {TRACKER_COLUMNS} FROM events ORDER BY id")  # noqa: S608 - a constant
        stored = [tuple(row) for row in connection.execute(query)]
    with broker.engine.connect() as connection:
        published = [
            (row[0], json.loads(row[1]))
            for row in connection.execute(text("SELECT sender_id, data FROM events ORDER BY id"))
        ]
    return stored, published, len(commits)


def _no_time(event: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in event.items() if key != "timestamp"}


def _untimed(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The rows with the event times left out (each run makes its events at its own time); the time column
    must be the event's own time."""
    for row in rows:
        assert row[2] == json.loads(row[5])["timestamp"]
    return [(*row[:2], *row[3:5], _no_time(json.loads(row[5]))) for row in rows]


def test_saving_trackers_writes_the_same_rows_as_stock_with_one_broker_commit_per_turn(
    tmp_path: Path, restore_stock: None
) -> None:
    (tmp_path / "stock").mkdir()
    (tmp_path / "patched").mkdir()
    stock_rows, stock_published, stock_commits = _saved_rows(tmp_path / "stock")
    rasa_patches.apply()
    rows, published, commits = _saved_rows(tmp_path / "patched")
    assert _untimed(rows) == _untimed(stock_rows) and len(rows) == 10
    assert [(who, _no_time(event)) for who, event in published] == [
        (who, _no_time(event)) for who, event in stock_published
    ]
    assert len(published) == 10
    assert [event["event"] for _, event in published][:3] == ["action", "session_started", "action"]
    assert all(who == event["sender_id"] == "anna" for who, event in published)
    assert [row[3] for row in rows if row[1] == "user"] == ["greet", "card_arrival"]  # the intent column
    assert {row[4] for row in rows if row[1] == "action"} >= {"utter_greet", "action_listen"}
    assert stock_commits == 10  # one transaction per event
    assert commits == 4  # one per turn that had events


def test_event_types_resolve_as_in_stock(restore_stock: None) -> None:
    stock = Event.resolve_by_type
    names = {subclass.type_name for subclass in all_subclasses(Event)}
    expected = {name: stock(name) for name in names}
    rasa_patches.apply()
    assert {name: Event.resolve_by_type(name) for name in names} == expected
    assert Event.resolve_by_type("topic") is None
    assert Event.resolve_by_type("no_such_event", default=SlotSet) is SlotSet
    with pytest.raises(ValueError, match="Unknown event name 'no_such_event'"):
        Event.resolve_by_type("no_such_event")

    class LaterEvent(SlotSet):  # defined after the map was built
        type_name = "clearline_test_later_event"

    assert Event.resolve_by_type("clearline_test_later_event") is LaterEvent


def test_rasas_sqlite_files_use_write_ahead_logging(tmp_path: Path, restore_stock: None) -> None:
    before = SQLTrackerStore(DOMAIN, db=str(tmp_path / "stock.db"))
    with before.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "delete"
    rasa_patches.apply()
    store = SQLTrackerStore(DOMAIN, db=str(tmp_path / "tracker.db"))
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_rasas_sqlite_files_keep_their_connections_open_between_sessions(
    tmp_path: Path, restore_stock: None
) -> None:
    def connections_opened(store: SQLTrackerStore, sender: str) -> int:
        opened: list[object] = []
        sa_event.listen(store.engine, "connect", lambda connection, _record: opened.append(connection))
        for turn in range(3):
            tracker = asyncio.run(store.get_or_create_tracker(sender))
            tracker.update(UserUttered(f"message {turn}"))
            asyncio.run(store.save(tracker))
        return len(opened)

    stock = SQLTrackerStore(DOMAIN, db=str(tmp_path / "stock.db"))
    assert isinstance(stock.engine.pool, NullPool)
    assert connections_opened(stock, "stock") >= 6  # a new connection for every session
    rasa_patches.apply()
    store = SQLTrackerStore(DOMAIN, db=str(tmp_path / "tracker.db"))
    assert isinstance(store.engine.pool, QueuePool)
    assert connections_opened(store, "pooled") == 0  # the one opened when the store was made serves them all
    assert (tmp_path / "tracker.db-wal").exists()  # the log is no longer checkpointed away after each use
    # a pooled connection is used from another thread (Rasa runs some work in executors): no same-thread error
    with ThreadPoolExecutor(1) as pool:
        found = pool.submit(asyncio.run, store.retrieve("pooled")).result()
    assert found is not None
    assert [e.text for e in found.events if isinstance(e, UserUttered)] == [
        "message 0",
        "message 1",
        "message 2",
    ]
    # an in-memory database keeps SQLAlchemy's one connection per thread
    assert isinstance(SQLTrackerStore(DOMAIN, dialect="sqlite", db="").engine.pool, SingletonThreadPool)


class FakeRequest:
    def __init__(self, body: Any) -> None:
        self.json = body


POSTED_EVENTS = [
    {"event": "pause"},
    [{"event": "resume"}, {"event": "active_loop", "name": None}],
    {
        "event": "bot",
        "text": "An agent will be with you shortly.",
        "metadata": {"clearline": {"handoff": True}},
    },
]
BAD_POSTED_EVENTS = [
    {"event": "no_such_event"},
    [{"event": "slot", "name": 5}],
    "pause",
    [{"text": "no event"}],
]


def _rejection(validate: Callable[..., Any], body: Any) -> str:
    with pytest.raises(rasa.server.ErrorResponse) as raised:
        validate(FakeRequest(body))
    assert raised.value.status == 400
    return str(raised.value.error_info)


def test_events_posted_to_the_http_api_are_checked_as_stock_rasa_does(restore_stock: None) -> None:
    stock = rasa.server.validate_events_in_request_body
    rasa_patches.apply()
    patched = rasa.server.validate_events_in_request_body
    assert patched is not stock
    for body in POSTED_EVENTS:
        assert stock(FakeRequest(body)) is None
        assert patched(FakeRequest(body)) is None
    for body in BAD_POSTED_EVENTS:
        assert _rejection(patched, body) == _rejection(stock, body)


REAL_SLEEP = asyncio.sleep  # before any test replaces the lock store's


def _waits_for_a_busy_lock(lock_store: Any, monkeypatch: pytest.MonkeyPatch) -> tuple[list[float], list[str]]:
    """Three messages of one conversation: the first holds the lock for a while; the others wait. Returns the
    waits they asked for and the order in which they got the lock."""
    import rasa.core.lock_store

    waits: list[float] = []
    order: list[str] = []
    real_sleep = REAL_SLEEP

    async def recorded_sleep(seconds: float) -> None:
        waits.append(seconds)
        await real_sleep(0)

    monkeypatch.setattr(rasa.core.lock_store.asyncio, "sleep", recorded_sleep)

    async def message(name: str, hold: int) -> None:
        async with lock_store.lock("c1"):
            order.append(name)
            for _ in range(hold):
                await real_sleep(0)

    async def three() -> None:
        await asyncio.gather(message("first", 5), message("second", 0), message("third", 0))

    asyncio.run(three())
    return waits, order


def test_a_busy_conversation_lock_is_looked_at_again_soon_in_ticket_order(
    restore_stock: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rasa.core.lock_store import InMemoryLockStore

    stock_waits, stock_order = _waits_for_a_busy_lock(InMemoryLockStore(), monkeypatch)
    assert set(stock_waits) == {1}  # stock Rasa: a second between looks
    rasa_patches.apply()
    waits, order = _waits_for_a_busy_lock(InMemoryLockStore(), monkeypatch)
    assert waits and set(waits) == {rasa_patches.LOCK_POLL_SECONDS}
    assert order == stock_order == ["first", "second", "third"]
    rasa_patches.apply()  # twice is once: the patched method is not wrapped again
    assert _waits_for_a_busy_lock(InMemoryLockStore(), monkeypatch)[0][0] == rasa_patches.LOCK_POLL_SECONDS
