"""Fixtures for the action server tests (run with .venv-rasa's pytest; see bot/check.sh)."""

import asyncio
import copy
import datetime as dt
import importlib
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BOT_DIR = Path(__file__).resolve().parents[2] / "bot"
sys.path.insert(0, str(BOT_DIR))  # the action server imports its code as the `actions` package from bot/

from actions.provider_db import Base, create_schema, get_engine, session_scope  # noqa: E402
from actions.provider_seed import seed_demo_data  # noqa: E402
from rasa_sdk import Action, Tracker  # noqa: E402
from rasa_sdk.executor import CollectingDispatcher  # noqa: E402
from sqlalchemy import text as sql  # noqa: E402

TODAY = dt.date.today()


@pytest.fixture
def provider_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A real, seeded SQLite provider database in tmp, configured for the actions."""
    url = f"sqlite:///{tmp_path / 'provider.db'}"
    create_schema(url)
    with session_scope(url) as session:
        seed_demo_data(session, today=TODAY)
    monkeypatch.setenv("CLEARLINE_PROVIDER_DB_URL", url)
    yield url
    get_engine(url).dispose()


@pytest.fixture
def broken_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A provider database URL whose tables were never created (every query fails)."""
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    monkeypatch.setenv("CLEARLINE_PROVIDER_DB_URL", url)
    return url


# The provider's customers table before tiers (the previous version's schema).
LEGACY_CUSTOMERS_DDL = """
CREATE TABLE customers (
    id INTEGER NOT NULL PRIMARY KEY,
    name VARCHAR(120) NOT NULL,
    email VARCHAR(254) NOT NULL UNIQUE,
    sender_id VARCHAR(120) UNIQUE
)
"""


@pytest.fixture
def legacy_provider(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A provider database from the version before tiers (no customers.tier), with Anna and one card."""
    url = f"sqlite:///{tmp_path / 'legacy.db'}"
    engine = get_engine(url)
    with engine.begin() as connection:
        connection.execute(sql(LEGACY_CUSTOMERS_DDL))
    Base.metadata.create_all(engine)  # the other tables; the existing customers table is left as it is
    with engine.begin() as connection:
        connection.execute(
            sql(
                "INSERT INTO customers (id, name, email, sender_id) "
                "VALUES (1, 'Anna Smith', 'anna.smith@example.com', 'demo-anna')"
            )
        )
        connection.execute(
            sql(
                "INSERT INTO cards (customer_id, last_four, kind, status) "
                "VALUES (1, '4242', 'physical', 'ACTIVE')"
            )
        )
    monkeypatch.setenv("CLEARLINE_PROVIDER_DB_URL", url)
    yield url
    engine.dispose()


def make_tracker(
    sender_id: str = "web-123",
    *,
    intent: str = "inform",
    text: str = "",
    slots: dict[str, Any] | None = None,
    active_loop: str | None = None,
    requested_slot: str | None = None,
    channel: str | None = None,
    history: list[dict[str, Any]] | None = None,
) -> Tracker:
    """A tracker as the action server receives it, at the point where an action runs."""
    all_slots = {
        "customer_email": None,
        "card_last_four": None,
        "customer_tier": None,
        "transfer_reference": None,
        "refund_reference": None,
    }
    all_slots.update(slots or {})
    all_slots["requested_slot"] = requested_slot
    latest = {"text": text, "intent": {"name": intent, "confidence": 0.99}, "entities": []}
    return Tracker(
        sender_id,
        all_slots,
        latest,
        [*(history or []), {"event": "user", "text": text, "parse_data": latest, "input_channel": channel}],
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


def run_action(action: Action, tracker: Tracker, domain: dict | None = None) -> tuple[list[dict], list[str]]:
    """Run an action as the action server would; returns (events, texts the customer would see)."""
    dispatcher = CollectingDispatcher()
    result = action.run(dispatcher, tracker, domain or {})
    events = asyncio.run(result) if asyncio.iscoroutine(result) else result
    return events, [message.get("text") or message.get("response") for message in dispatcher.messages]


def slots_set(events: list[dict]) -> dict[str, Any]:
    return {event["name"]: event["value"] for event in events if event.get("event") == "slot"}


@pytest.fixture
def restore_stock(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Whatever a test patches (bot/rasa_patches.py) is stock Rasa again afterwards."""
    import debug_copies
    import rasa.server
    import rasa_patches
    from rasa.core.actions.action import RemoteAction
    from rasa.core.lock_store import LockStore
    from rasa.core.policies.rule_policy import RulePolicy
    from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
    from rasa.shared.core.events import Event
    from sqlalchemy import event as sa_event
    from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
    from sqlalchemy.engine import Engine

    monkeypatch.setattr(RemoteAction, "_validate_action_result", RemoteAction._validate_action_result)
    monkeypatch.setattr(
        rasa.server, "validate_events_in_request_body", rasa.server.validate_events_in_request_body
    )
    monkeypatch.setattr(SQLTrackerStore, "save", SQLTrackerStore.save)
    monkeypatch.setattr(SQLTrackerStore, "_retrieve", SQLTrackerStore._retrieve)
    monkeypatch.setattr(TrackerStore, "_stream_new_events", TrackerStore._stream_new_events)
    monkeypatch.setattr(Event, "resolve_by_type", Event.__dict__["resolve_by_type"])
    monkeypatch.setattr(
        SQLiteDialect_pysqlite, "get_pool_class", SQLiteDialect_pysqlite.__dict__["get_pool_class"]
    )
    monkeypatch.setattr(LockStore, "lock", LockStore.__dict__["lock"])
    monkeypatch.setattr(RulePolicy, "_get_possible_keys", RulePolicy._get_possible_keys)
    for module_name in debug_copies.MODULES:
        monkeypatch.setattr(importlib.import_module(module_name), "copy", copy)
    yield
    if sa_event.contains(Engine, "connect", rasa_patches.use_write_ahead_log):
        sa_event.remove(Engine, "connect", rasa_patches.use_write_ahead_log)
    if sa_event.contains(Engine, "do_connect", rasa_patches.allow_pooled_sqlite_across_threads):
        sa_event.remove(Engine, "do_connect", rasa_patches.allow_pooled_sqlite_across_threads)


class _CustomerRef:
    """Equal to any ``customer_ref`` slot value (a keyed hash: its exact value depends on the key)."""

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and other.startswith("cref:v1:") and len(other) == 48

    def __repr__(self) -> str:
        return "<a customer_ref>"


ANY_REF = _CustomerRef()
