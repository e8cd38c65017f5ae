"""Clearline's changes to Rasa 3.6.21's hot path, applied by serve.py before Rasa starts.

Each one is measured with `clearline bench chat --stock` (README, "The customer's path") and keeps Rasa's
behaviour: only how often work is repeated changes. They apply to exactly the Rasa version they were
written against; on any other version serve.py starts stock Rasa and says so. CLEARLINE_RASA_PATCHES=off
turns them off (the bench's stock baseline).

- Action server responses: stock Rasa calls ``jsonschema.validate`` on every response, which checks the
  events schema against the JSON Schema meta-schema and builds a validator each time (45% of the server's
  CPU in a profile under load). Here the schema is checked once and one validator is reused; a malformed
  response is rejected with the same error and message as before. The same for the events that Clearline
  posts to Rasa's HTTP API (pause, resume, an agent's reply): `rasa.server` re-checked the schema per request.
- Saving a tracker to the SQL tracker store: stock Rasa loads and rebuilds the whole stored tracker only
  to learn how many events it has (for the event broker), then counts them again with a query (for the
  store), and publishes each new event to the SQL event broker in a transaction of its own. Here one count
  serves both, and a turn's events reach the SQL broker in one transaction (same rows, same order, now
  all or none). Both write a turn's rows with one INSERT statement (executemany) instead of the ORM's
  unit of work (its flush was ~7% of the server's samples).
- Reading a conversation from, and counting its events in, the SQL tracker store: an equivalent of stock
  Rasa's ORM query (same rows, same order) as Core statements built once (tracker_queries.py): ~0.8 ms
  less per count on SQLite.
- Event types: stock Rasa walks every subclass of Event to find the class of each event it deserialises
  (8% of the server's CPU); here the name -> class map is built once and rebuilt when a name is missing,
  so the first class of that name still wins and classes defined later are still found.
- Rasa's SQLite files (tracker store, event broker) use write-ahead logging, like Clearline's own: a
  commit writes the log once instead of the rollback journal and the database, and the worker reading the
  broker's file no longer blocks Rasa's writes. Durability is unchanged (synchronous stays FULL).
- Rasa's SQLite files are opened through a connection pool: SQLAlchemy 1.4 (Rasa's) opens and closes a new
  connection for every session on a file database (NullPool), several per message, and closing the last
  connection to a write-ahead-logged file checkpoints the log into the database and deletes it, so each
  message paid for connects, the WAL pragma and checkpoints (~10% of the server's CPU in a py-spy profile
  under `clearline bench chat`). A pool keeps them open, as SQLAlchemy 2.0 does by default for files (and,
  like it, lets a pooled connection move between threads: one user at a time, so SQLite's same-thread
  check only gets in the way).
- Waiting for a conversation's lock: stock Rasa's ``LockStore.lock`` looks at a busy lock once a second, so
  a customer's message that arrives while Clearline posts to the same conversation (the hand-off's pause and
  notice, an agent's reply, the resume), or the other way round, waits a whole second after the lock is
  free. Here it looks every 20 ms (``LOCK_POLL_SECONDS``); the tickets keep the order, and a caller that
  names its own wait keeps it.
- Matching memorised rules: stock ``RulePolicy._get_possible_keys`` tests every rule (~380 here) against
  the latest state several times per message (~10% of the server's CPU). Here an index by the intent and
  previous action that a rule's last state requires picks the rules that can pass that test, and stock
  Rasa's test runs on those only, so the same rules come out (rule_candidates.py).
- Copies made only for debug logs: ``rasa.core.processor`` and the rule policy deep-copy events, states and
  parse data for every ``structlogger.debug`` call they make, whether or not debug logging is on (~4% of
  the server's CPU); there a deep copy is now made only while the module's logger is enabled for DEBUG
  (debug_copies.py, which checks the modules' source first).
"""

from __future__ import annotations

import itertools
import json
import logging
import sqlite3
from typing import Any

PINNED_RASA = "3.6.21"
# how often a message waiting for its conversation's lock looks again: dict lookups in memory, two
# synchronous Redis round trips (read, then tidy) for the shared lock store; stock Rasa waits 1 s
LOCK_POLL_SECONDS = 0.02
logger = logging.getLogger(__name__)


def apply() -> list[str]:
    """Apply every patch; returns the names applied (none when the Rasa version is not the pinned one)."""
    import rasa

    if rasa.__version__ != PINNED_RASA:
        logger.warning(
            "Clearline's Rasa patches are for rasa %s, this is %s: running stock Rasa",
            PINNED_RASA,
            rasa.__version__,
        )
        return []
    patch_action_response_validation()
    patch_http_api_events_validation()
    patch_sql_tracker_store_save()
    patch_sql_tracker_store_retrieve()
    patch_event_type_lookup()
    patch_sqlite_write_ahead_log()
    patch_sqlite_connection_pool()
    patch_lock_poll()
    patch_rule_lookup()
    debug_copies = patch_debug_only_copies()
    return [
        "action_response_validation",
        "http_api_events_validation",
        "sql_tracker_store_save",
        "sql_tracker_store_retrieve",
        "event_type_lookup",
        "sqlite_wal",
        "sqlite_pool",
        "lock_poll",
        "rule_lookup",
        *(["debug_only_copies"] if debug_copies else []),
    ]


def validator_once(schema: dict[str, Any]) -> Any:
    """What jsonschema.validate builds per call: the schema checked and a validator made, here once."""
    from jsonschema import validators

    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def patch_action_response_validation() -> None:
    from jsonschema.exceptions import best_match
    from rasa.core.actions.action import RemoteAction
    from rasa.shared.constants import DOCS_BASE_URL

    validator = validator_once(RemoteAction.action_response_format_spec())

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        # what jsonschema.validate does after checking the schema, with the message stock Rasa adds
        error = best_match(validator.iter_errors(result))
        if error is not None:
            error.message += (
                f". Failed to validate Action server response from API, "
                f"make sure your response from the Action endpoint is valid. "
                f"For more information about the format visit "
                f"{DOCS_BASE_URL}/custom-actions"
            )
            raise error
        return True

    RemoteAction._validate_action_result = _validate_action_result  # type: ignore[method-assign]


def patch_http_api_events_validation() -> None:
    import rasa.server
    from jsonschema.exceptions import best_match
    from rasa.shared.utils.schemas.events import EVENTS_SCHEMA

    stock = rasa.server.validate_events_in_request_body
    validator = validator_once(EVENTS_SCHEMA)

    def validate_events_in_request_body(request: Any) -> None:
        events = request.json if isinstance(request.json, list) else [request.json]
        if best_match(validator.iter_errors(events)) is not None:
            stock(request)  # the rare invalid request: stock Rasa builds its own 400 answer
            raise AssertionError("stock Rasa accepted events the schema rejects")

    rasa.server.validate_events_in_request_body = validate_events_in_request_body


def patch_sql_tracker_store_save() -> None:
    from rasa.core.brokers.sql import SQLEventBroker
    from rasa.core.tracker_store import SQLTrackerStore, TrackerStore

    import tracker_queries

    stock_stream = TrackerStore._stream_new_events

    async def save(self: SQLTrackerStore, tracker: Any) -> None:
        with self.session_scope() as session:
            stored = tracker_queries.stored_event_count(self, session, tracker.sender_id)
        new_events = list(itertools.islice(tracker.events, stored, len(tracker.events)))
        if self.event_broker is not None:
            await self._stream_new_events(self.event_broker, new_events, tracker.sender_id)
        rows = []
        for event in new_events:
            data = event.as_dict()
            rows.append(
                {
                    "sender_id": tracker.sender_id,
                    "type_name": event.type_name,
                    "timestamp": data.get("timestamp"),
                    "intent_name": data.get("parse_data", {}).get("intent", {}).get("name"),
                    "action_name": data.get("name"),
                    "data": json.dumps(data),
                }
            )
        if rows:
            with self.session_scope() as session:
                session.execute(self.SQLEvent.__table__.insert(), rows)
                session.commit()

    async def _stream_new_events(
        self: TrackerStore, event_broker: Any, new_events: list[Any], sender_id: str
    ) -> None:
        if not isinstance(event_broker, SQLEventBroker):
            await stock_stream(self, event_broker, new_events, sender_id)
            return
        rows = [
            {"sender_id": sender_id, "data": json.dumps({"sender_id": sender_id, **event.as_dict()})}
            for event in new_events
        ]
        if rows:
            with event_broker.session_scope() as session:
                session.execute(event_broker.SQLBrokerEvent.__table__.insert(), rows)
                session.commit()

    SQLTrackerStore.save = save  # type: ignore[method-assign]
    TrackerStore._stream_new_events = _stream_new_events  # type: ignore[method-assign]


def patch_sql_tracker_store_retrieve() -> None:
    from rasa.core.tracker_store import SQLTrackerStore
    from rasa.shared.core.trackers import DialogueStateTracker

    import tracker_queries

    async def _retrieve(
        self: SQLTrackerStore, sender_id: str, fetch_events_from_all_sessions: bool
    ) -> DialogueStateTracker | None:
        with self.session_scope() as session:
            serialised = tracker_queries.stored_event_data(
                self, session, sender_id, fetch_events_from_all_sessions
            )
        events = [json.loads(data) for data in serialised]
        if self.domain and events:
            logger.debug("Recreating tracker from sender id '%s'", sender_id)
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        logger.debug("Can't retrieve tracker matching sender id '%s' from SQL storage.", sender_id)
        return None

    SQLTrackerStore._retrieve = _retrieve  # type: ignore[method-assign]


def patch_event_type_lookup() -> None:
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    by_name: dict[str, type] = {}

    def resolve_by_type(type_name: str, default: type | None = None) -> type | None:
        found = by_name.get(type_name)
        if found is None:  # first use, or a class defined since: build the map again
            by_name.clear()
            for subclass in all_subclasses(Event):
                by_name.setdefault(subclass.type_name, subclass)  # the first of a name wins, as in stock
            found = by_name.get(type_name)
        if found is not None:
            return found
        if type_name == "topic":
            return None  # stock Rasa's backwards compatibility for old TopicSet events
        if default is not None:
            return default
        raise ValueError(f"Unknown event name '{type_name}'.")

    Event.resolve_by_type = staticmethod(resolve_by_type)  # type: ignore[method-assign,assignment]


def use_write_ahead_log(dbapi_connection: Any, _record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()


def patch_sqlite_write_ahead_log() -> None:
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    if not event.contains(Engine, "connect", use_write_ahead_log):
        event.listen(Engine, "connect", use_write_ahead_log)


def pool_sqlite_files(url: Any) -> type:
    """SQLAlchemy 2.0's choice for pysqlite: a queue of connections for a file, one per thread in memory."""
    from sqlalchemy import pool
    from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite

    return pool.QueuePool if SQLiteDialect_pysqlite._is_url_file_db(url) else pool.SingletonThreadPool


def allow_pooled_sqlite_across_threads(
    dialect: Any, _record: Any, _cargs: Any, cparams: dict[str, Any]
) -> None:
    if dialect.name == "sqlite":
        cparams.setdefault("check_same_thread", False)


def patch_sqlite_connection_pool() -> None:
    from sqlalchemy import event
    from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
    from sqlalchemy.engine import Engine

    SQLiteDialect_pysqlite.get_pool_class = classmethod(  # type: ignore[assignment,method-assign]
        lambda _cls, url: pool_sqlite_files(url)
    )
    if not event.contains(Engine, "do_connect", allow_pooled_sqlite_across_threads):
        event.listen(Engine, "do_connect", allow_pooled_sqlite_across_threads)


def patch_lock_poll() -> None:
    from rasa.core.lock_store import LOCK_LIFETIME, LockStore

    stock = LockStore.__dict__["lock"]
    if getattr(stock, "clearline_poll", False):
        return

    def lock(
        self: LockStore,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = LOCK_POLL_SECONDS,
    ) -> Any:
        return stock(self, conversation_id, lock_lifetime, wait_time_in_seconds)

    lock.clearline_poll = True  # type: ignore[attr-defined]
    LockStore.lock = lock  # type: ignore[method-assign]


def patch_rule_lookup() -> None:
    from rasa.core.policies.rule_policy import RulePolicy

    import rule_candidates

    def _get_possible_keys(self: RulePolicy, lookup: dict[str, str], states: list[Any]) -> set[str]:
        index = rule_candidates.index_for(self, lookup)
        return rule_candidates.possible_keys(index, states, self._is_rule_applicable)

    RulePolicy._get_possible_keys = _get_possible_keys  # type: ignore[method-assign]


def patch_debug_only_copies() -> bool:
    import debug_copies

    return debug_copies.apply()
