"""The tracker store's Core statements (bot/tracker_queries.py) read and count what stock Rasa's query does.

On SQLite and on the local PostgreSQL server: conversations with several sessions, one with none, an event
stamped at the very time of its session's start, and a sender the store has never seen.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import rasa_patches
import tracker_queries
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, Event, SessionStarted, SlotSet, UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from tests.bot.test_rasa_postgres import DATABASES, ensure_databases

DOMAIN = Domain.from_yaml(
    """
version: "3.1"
intents: [greet, card_arrival]
slots:
  card_status:
    type: text
    mappings: [{type: custom}]
"""
)
STOCK_RETRIEVE = SQLTrackerStore._retrieve


def _session(start: float) -> list[Event]:
    return [
        ActionExecuted("action_session_start", timestamp=start),
        SessionStarted(timestamp=start),
        ActionExecuted("action_listen", timestamp=start),  # stamped at the session's start: still in it
        UserUttered("hi", {"name": "greet", "confidence": 0.9}, timestamp=start + 1),
        ActionExecuted("utter_greet", timestamp=start + 2),
        BotUttered("Hello!", timestamp=start + 2),
        SlotSet("card_status", f"status at {start}", timestamp=start + 3),
    ]


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SQLTrackerStore]:
    if request.param == "sqlite":
        made = SQLTrackerStore(DOMAIN, db=str(tmp_path / "tracker.db"))
    else:
        ensure_databases()
        made = SQLTrackerStore(
            DOMAIN, dialect="postgresql", host="127.0.0.1", port=5432, username="postgres", db=DATABASES[0]
        )
    yield made
    made.engine.dispose()


def _conversations(store: SQLTrackerStore) -> dict[str, int]:
    """Saved conversations: sender id -> how many events their latest session has."""
    run = uuid.uuid4().hex[:8]
    shapes = {
        f"three-sessions-{run}": _session(1000.0) + _session(2000.0) + _session(3000.0),
        f"one-session-{run}": _session(1000.0),
        f"no-session-{run}": [
            ActionExecuted("action_listen", timestamp=10.0),
            UserUttered("where is my card", {"name": "card_arrival", "confidence": 0.8}, timestamp=11.0),
        ],
    }
    for sender, events in shapes.items():
        tracker = DialogueStateTracker(sender, DOMAIN.slots)
        for event in events:
            tracker.update(event)
        asyncio.run(store.save(tracker))
    return {
        f"three-sessions-{run}": 7,
        f"one-session-{run}": 7,
        f"no-session-{run}": 2,
        f"never-seen-{run}": 0,
    }


def _events(tracker: DialogueStateTracker | None) -> list[dict] | None:
    return None if tracker is None else [event.as_dict() for event in tracker.events]


def test_the_statements_read_and_count_what_stock_rasa_does(
    store: SQLTrackerStore, restore_stock: None
) -> None:
    expected_counts = _conversations(store)
    stock = {
        (sender, all_sessions): _events(asyncio.run(store._retrieve(sender, all_sessions)))
        for sender in expected_counts
        for all_sessions in (False, True)
    }
    rasa_patches.patch_sql_tracker_store_retrieve()
    assert SQLTrackerStore._retrieve is not STOCK_RETRIEVE
    for (sender, all_sessions), events in stock.items():
        assert _events(asyncio.run(store._retrieve(sender, all_sessions))) == events
    for sender, latest_session in expected_counts.items():
        with store.session_scope() as session:
            stock_count = store._event_query(session, sender, fetch_events_from_all_sessions=False).count()
            assert tracker_queries.stored_event_count(store, session, sender) == stock_count == latest_session
    # what was compared is not trivial: the latest session only, then every session, then nothing
    three = next(sender for sender in expected_counts if sender.startswith("three-sessions"))
    latest = asyncio.run(store.retrieve(three))
    full = asyncio.run(store.retrieve_full_tracker(three))
    assert latest is not None and full is not None
    assert [e.timestamp for e in latest.events if isinstance(e, SessionStarted)] == [3000.0]
    assert len(full.events) == 21
    assert latest.get_slot("card_status") == "status at 3000.0"
    assert asyncio.run(store.retrieve(next(s for s in expected_counts if s.startswith("never-seen")))) is None


def test_the_statements_are_built_once_per_store(tmp_path: Path) -> None:
    first = SQLTrackerStore(DOMAIN, db=str(tmp_path / "a.db"))
    second = SQLTrackerStore(DOMAIN, db=str(tmp_path / "b.db"))
    assert tracker_queries.statements_for(first) is tracker_queries.statements_for(first)
    assert tracker_queries.statements_for(first) is not tracker_queries.statements_for(second)


def test_rows_come_in_id_order_whatever_their_times_and_null_times_follow_stock(
    store: SQLTrackerStore, restore_stock: None
) -> None:
    """Rows written out of time order, some without a time (a NULL timestamp), and a session start without
    one: the statements give stock's rows in stock's order (by id) and stock's count."""
    run = uuid.uuid4().hex[:8]
    shapes: dict[str, list[tuple[str, float | None]]] = {
        f"shuffled-{run}": [
            ("action", 50.0),
            ("session_started", 30.0),
            ("user", 40.0),
            ("action", None),
            ("bot", 20.0),
            ("user", 35.0),
            ("slot", 30.0),
        ],
        f"null-session-{run}": [("user", 10.0), ("session_started", None), ("bot", 11.0), ("user", None)],
        f"only-nulls-{run}": [("user", None), ("bot", None)],
    }
    table = store.SQLEvent.__table__
    with store.session_scope() as session:
        for sender, rows in shapes.items():
            for position, (type_name, timestamp) in enumerate(rows):
                data = f'{{"event": "{type_name}", "position": {position}}}'
                session.execute(
                    table.insert(),
                    {"sender_id": sender, "type_name": type_name, "timestamp": timestamp, "data": data},
                )
        session.commit()
    with store.session_scope() as session:
        for sender in shapes:
            for all_sessions in (False, True):
                stock_rows = store._event_query(
                    session, sender, fetch_events_from_all_sessions=all_sessions
                ).all()
                ours = tracker_queries.stored_event_data(store, session, sender, all_sessions)
                assert ours == [row.data for row in stock_rows]
            stock_count = store._event_query(session, sender, fetch_events_from_all_sessions=False).count()
            assert tracker_queries.stored_event_count(store, session, sender) == stock_count
        # not trivially all rows: the shuffled conversation's latest session starts at 30.0
        shuffled = tracker_queries.stored_event_data(store, session, f"shuffled-{run}", False)
        assert [json.loads(data)["position"] for data in shuffled] == [0, 1, 2, 5, 6]
