"""Rasa's tracker store and event broker on PostgreSQL, configured only through the environment.

Both Rasa tables are called `events`, so the two stores need two databases (created here if missing).
"""

import json
import os
import sys
import uuid

import psycopg2
import pytest
from actions.provider_db import create_schema

from tests.bot.conftest import BOT_DIR
from tests.bot.test_rasa_server import TOKEN, action_server, free_port, running, say, trained_model

pytestmark = [pytest.mark.rasa, pytest.mark.postgres]
SERVER = os.environ.get("CLEARLINE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")
DATABASES = ("clearline_bot_test_tracker", "clearline_bot_test_events")


def ensure_databases() -> None:
    connection = psycopg2.connect(f"{SERVER}/postgres")
    connection.autocommit = True
    with connection.cursor() as cursor:
        for name in DATABASES:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
            if cursor.fetchone() is None:
                cursor.execute(f'CREATE DATABASE "{name}"')  # noqa: S608 - fixed names above
    connection.close()


def test_user_events_reach_the_postgres_event_broker(tmp_path) -> None:
    ensure_databases()
    tracker_db, events_db = DATABASES
    port, actions_port = free_port(), free_port()
    provider_url = f"sqlite:///{tmp_path / 'provider.db'}"
    create_schema(provider_url)  # no customers: the session starts without an identity
    env = {
        **os.environ,
        "CLEARLINE_RASA_TRACKER_URL": f"{SERVER}/{tracker_db}",
        # Clearline's own driver name, as the worker would be configured: serve.py maps it to psycopg2.
        "CLEARLINE_EVENTS_URL": f"{SERVER.replace('postgresql://', 'postgresql+psycopg://')}/{events_db}",
        "CLEARLINE_ACTION_URL": f"http://127.0.0.1:{actions_port}/webhook",
        "CLEARLINE_RASA_TOKEN": TOKEN,
        "CLEARLINE_PROVIDER_DB_URL": provider_url,
    }
    model = str(trained_model())
    command = [sys.executable, str(BOT_DIR / "serve.py"), "--port", str(port), "--model", model]
    sender = f"pg-{uuid.uuid4().hex[:8]}"
    url = f"http://127.0.0.1:{port}"
    with (
        action_server(actions_port, env, tmp_path / "actions.log"),  # runs the session start
        running(command, env, tmp_path / "rasa.log", f"{url}/status", {"token": TOKEN}),
    ):
        assert say(url, sender, "hello")[0].startswith("Hi, I'm the Northwind Pay assistant.")
    connection = psycopg2.connect(f"{SERVER}/{events_db}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT data FROM events WHERE sender_id = %s ORDER BY id", (sender,))
        events = [json.loads(row[0]) for row in cursor.fetchall()]
    connection.close()
    user = [event for event in events if event["event"] == "user"]
    assert [event["text"] for event in user] == ["hello"]
    assert user[0]["parse_data"]["intent"]["name"] == "greet"
