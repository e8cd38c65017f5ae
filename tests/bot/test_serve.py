"""bot/serve.py: what the Rasa server is started with."""

import importlib.util
from pathlib import Path

import pytest
import yaml

from tests.bot.conftest import BOT_DIR

WEB_CHAT = "channels.web_chat.WebChatInput"  # Rasa's socket.io channel with the hand-off marker

spec = importlib.util.spec_from_file_location("serve", BOT_DIR / "serve.py")
serve = importlib.util.module_from_spec(spec)
spec.loader.exec_module(serve)


def test_unset_endpoints_get_sqlite_defaults_in_the_runtime_folder() -> None:
    values = serve.endpoint_environment({})
    runtime = BOT_DIR.parent / "data" / "runtime"
    assert values["CLEARLINE_RASA_TRACKER_URL"] == f"sqlite:///{runtime / 'rasa_tracker.db'}"
    assert values["CLEARLINE_EVENTS_URL"] == f"sqlite:///{runtime / 'rasa_events.db'}"
    assert values["CLEARLINE_ACTION_URL"] == "http://127.0.0.1:5055/webhook"


def test_postgres_urls_are_passed_through_with_rasas_driver() -> None:
    values = serve.endpoint_environment(
        {"CLEARLINE_EVENTS_URL": "postgresql+psycopg://u:p@db:5432/clearline"}
    )
    assert values["CLEARLINE_EVENTS_URL"] == "postgresql://u:p@db:5432/clearline"


def test_channels_are_added_only_when_all_their_variables_are_set(tmp_path: Path) -> None:
    environ = {
        "TELEGRAM_ACCESS_TOKEN": "t",
        "TELEGRAM_BOT_NAME": "b",
        "TELEGRAM_WEBHOOK_URL": "https://x/webhook",
    }
    environ_partial_slack = {**environ, "SLACK_BOT_TOKEN": "xoxb"}
    written = yaml.safe_load(serve.write_credentials(environ_partial_slack, tmp_path / "c.yml").read_text())
    assert set(written) == {"rest", WEB_CHAT, "telegram"}
    assert written[WEB_CHAT]["session_persistence"] is True
    assert written["telegram"]["access_token"] == "${TELEGRAM_ACCESS_TOKEN}"  # Rasa expands it at start
    bare = yaml.safe_load(serve.write_credentials({}, tmp_path / "bare.yml").read_text())
    assert set(bare) == {"rest", WEB_CHAT}


def test_demo_token_is_refused_outside_demo_mode() -> None:
    assert serve.api_token({"CLEARLINE_RASA_TOKEN": "s3cret", "CLEARLINE_DEMO": "false"}) == "s3cret"
    assert serve.api_token({}) == serve.DEMO_SECRET
    with pytest.raises(SystemExit, match="CLEARLINE_RASA_TOKEN"):
        serve.api_token({"CLEARLINE_DEMO": "false"})
