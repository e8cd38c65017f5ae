"""bot/serve.py: what the Rasa server is started with."""

import importlib.util
from pathlib import Path

import pytest
import yaml

from tests.bot.conftest import BOT_DIR

WEB_CHAT = "channels.web_chat.WebChatInput"  # Rasa's socket.io channel with the hand-off marker
TELEGRAM = "channels.telegram.TelegramInput"  # Rasa's Telegram channel, API host configurable
SLACK = "channels.slack.SlackInput"

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
        "TELEGRAM_SECRET_TOKEN": "s",
    }
    without_secret = {k: v for k, v in environ.items() if k != "TELEGRAM_SECRET_TOKEN"}
    unsafe = yaml.safe_load(serve.write_credentials(without_secret, tmp_path / "u.yml").read_text())
    assert set(unsafe) == {"rest", WEB_CHAT}  # no Telegram without the webhook's secret
    environ_partial_slack = {**environ, "SLACK_BOT_TOKEN": "xoxb"}
    written = yaml.safe_load(serve.write_credentials(environ_partial_slack, tmp_path / "c.yml").read_text())
    assert set(written) == {"rest", WEB_CHAT, TELEGRAM}
    assert written[WEB_CHAT]["session_persistence"] is True
    assert written[TELEGRAM]["access_token"] == "${TELEGRAM_ACCESS_TOKEN}"  # Rasa expands it at start
    bare = yaml.safe_load(serve.write_credentials({}, tmp_path / "bare.yml").read_text())
    assert set(bare) == {"rest", WEB_CHAT}


def test_the_api_hosts_are_optional_and_do_not_decide_whether_a_channel_is_included(tmp_path: Path) -> None:
    slack = {"SLACK_BOT_TOKEN": "xoxb", "SLACK_CHANNEL": "C1", "SLACK_SIGNING_SECRET": "s"}
    hosts = {"TELEGRAM_API_URL": "http://127.0.0.1:1", "SLACK_API_URL": "http://127.0.0.1:2/api/"}
    written = yaml.safe_load(serve.write_credentials({**slack, **hosts}, tmp_path / "c.yml").read_text())
    assert set(written) == {"rest", WEB_CHAT, SLACK}  # the stand-in's URL alone adds no Telegram
    assert "API_URL" not in yaml.safe_dump(written)  # read by bot/channels/ from the environment


def test_demo_token_is_refused_outside_demo_mode() -> None:
    assert serve.api_token({"CLEARLINE_RASA_TOKEN": "s3cret", "CLEARLINE_DEMO": "false"}) == "s3cret"
    assert serve.api_token({}) == serve.DEMO_SECRET
    with pytest.raises(SystemExit, match="CLEARLINE_RASA_TOKEN"):
        serve.api_token({"CLEARLINE_DEMO": "false"})
    # "off" is not demo mode for Clearline's settings (pydantic) and so not for Rasa either
    with pytest.raises(SystemExit, match="CLEARLINE_RASA_TOKEN"):
        serve.api_token({"CLEARLINE_DEMO": "off"})


def test_a_redis_lock_store_is_added_to_the_endpoints_only_when_configured(tmp_path: Path) -> None:
    plain = yaml.safe_load(serve.write_endpoints({}, tmp_path / "plain.yml").read_text())
    assert "lock_store" not in plain
    assert plain["tracker_store"]["url"] == "${CLEARLINE_RASA_TRACKER_URL}"  # left for Rasa to fill in
    environ = {"CLEARLINE_RASA_LOCK_STORE_URL": "redis://:s3cret@cache.internal:6380/4"}
    locked = yaml.safe_load(serve.write_endpoints(environ, tmp_path / "locked.yml").read_text())
    assert locked["lock_store"] == {
        "type": "concurrent_lock_store.ConcurrentRedisLockStore",
        "url": "cache.internal",
        "port": 6380,
        "db": 4,
        "use_ssl": False,
        "key_prefix": "clearline",
        "password": "s3cret",
    }


@pytest.mark.parametrize("url", ["http://cache:6379/1", "redis://cache:6379/first"])
def test_a_lock_store_url_that_is_not_redis_is_refused(url: str) -> None:
    with pytest.raises(SystemExit, match="CLEARLINE_RASA_LOCK_STORE_URL"):
        serve.lock_store_endpoint(url)


def test_several_rasa_processes_need_a_lock_store() -> None:
    assert serve.sanic_workers({}) == "1"
    lock = {"CLEARLINE_RASA_LOCK_STORE_URL": "redis://127.0.0.1:6379/7"}
    assert serve.sanic_workers({**lock, "CLEARLINE_RASA_WORKERS": "3"}) == "3"
    with pytest.raises(SystemExit, match="needs CLEARLINE_RASA_LOCK_STORE_URL"):
        serve.sanic_workers({"CLEARLINE_RASA_WORKERS": "2"})
    for bad in ("0", "two", "-1", "²", "٣"):
        with pytest.raises(SystemExit, match="whole number"):
            serve.sanic_workers({**lock, "CLEARLINE_RASA_WORKERS": bad})
