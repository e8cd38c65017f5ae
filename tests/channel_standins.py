"""Loopback stand-ins for the messaging providers' HTTP APIs, for tests of Rasa's real connectors.

Each is a small aiohttp server on 127.0.0.1, in a thread of its own, that answers what Rasa's connector
calls in the provider's JSON shapes and records every request. Rasa is pointed at one with
``TELEGRAM_API_URL`` / ``SLACK_API_URL`` (bot/channels/). Failures can be asked for: the next ``times``
sends whose text contains a needle are answered 500.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

BOT_TOKEN = "123456:stand-in-token"  # aiogram checks the shape <bot id>:<secret>
BOT_NAME = "clearline_test_bot"
TELEGRAM_SECRET = "stand-in-webhook-secret"  # noqa: S105 - TELEGRAM_SECRET_TOKEN in the tests
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header's name


@dataclass
class Call:
    method: str  # the provider's method name: sendMessage, chat.postMessage ...
    params: dict[str, Any]
    status: int  # what the stand-in answered


@dataclass
class StandIn:
    """What the provider was asked, and failures to answer with."""

    url: str = ""
    calls: list[Call] = field(default_factory=list)
    _failures: list[list[Any]] = field(default_factory=list)  # [needle, times left]
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def fail(self, needle: str, times: int) -> None:
        """Answer 500 to the next ``times`` sends whose text contains ``needle``."""
        with self._lock:
            self._failures.append([needle, times])

    def _should_fail(self, text: str) -> bool:
        with self._lock:
            for failure in self._failures:
                if failure[1] > 0 and failure[0] in text:
                    failure[1] -= 1
                    return True
        return False

    def _record(self, method: str, params: dict[str, Any], status: int) -> None:
        with self._lock:
            self.calls.append(Call(method, params, status))

    def called(self, method: str) -> list[Call]:
        with self._lock:
            return [call for call in self.calls if call.method == method]


class TelegramStandIn(StandIn):
    """Telegram's Bot API: ``/bot<token>/<method>`` answering ``{"ok": true, "result": ...}``."""

    def __init__(self) -> None:
        super().__init__()
        self.webhook_url: str | None = None
        self.secret_token: str | None = None  # what setWebhook registered: Telegram sends it with updates
        self._message_ids = itertools.count(1000)

    def sent(self, chat_id: str | int) -> list[str]:
        """The texts delivered (answered 200) to a chat, in order."""
        return [
            str(c.params.get("text"))
            for c in self.called("sendMessage")
            if c.status == 200 and str(c.params.get("chat_id")) == str(chat_id)
        ]

    async def handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != BOT_TOKEN:
            return web.json_response(
                {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
            )
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params: dict[str, Any] = await request.json()
        else:
            params = dict(await request.post())  # aiogram sends form fields
        if method == "getMe":
            result: Any = {"id": 123456, "is_bot": True, "first_name": "Clearline", "username": BOT_NAME}
        elif method == "setWebhook":
            self.webhook_url = str(params.get("url"))
            self.secret_token = params.get("secret_token")
            result = True
        elif method == "sendMessage":
            if self._should_fail(str(params.get("text", ""))):
                self._record(method, params, 500)
                body = {"ok": False, "error_code": 500, "description": "Internal Server Error"}
                return web.json_response(body, status=500)
            chat_id = int(params["chat_id"])
            result = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": "private"},
                "from": {"id": 123456, "is_bot": True, "first_name": "Clearline", "username": BOT_NAME},
                "text": params.get("text"),
            }
        else:
            self._record(method, params, 404)
            return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
        self._record(method, params, 200)
        return web.json_response({"ok": True, "result": result})

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/bot{token}/{method}", self.handle)]


class SlackStandIn(StandIn):
    """Slack's Web API under ``/api/``: ``chat.postMessage``, ``auth.test``."""

    def __init__(self) -> None:
        super().__init__()
        self._ts = itertools.count(1)

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    def sent(self, channel: str) -> list[str]:
        return [
            str(c.params.get("text"))
            for c in self.called("chat.postMessage")
            if c.status == 200 and c.params.get("channel") == channel
        ]

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.headers.get("Authorization") != f"Bearer {SLACK_BOT_TOKEN}":
            self._record(method, {}, 200)
            return web.json_response({"ok": False, "error": "invalid_auth"})  # Slack answers 200
        if request.content_type == "application/json":
            params: dict[str, Any] = await request.json()
        else:
            params = dict(await request.post())
        if method == "auth.test":
            self._record(method, params, 200)
            return web.json_response({"ok": True, "user_id": SLACK_BOT_USER, "team_id": "T0STANDIN"})
        if method != "chat.postMessage":
            self._record(method, params, 404)
            return web.json_response({"ok": False, "error": "unknown_method"}, status=404)
        if self._should_fail(str(params.get("text", ""))):
            self._record(method, params, 500)
            return web.json_response({"ok": False, "error": "internal_error"}, status=500)
        self._record(method, params, 200)
        ts = f"{int(time.time())}.{next(self._ts):06d}"
        return web.json_response({"ok": True, "channel": params.get("channel"), "ts": ts})

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/api/{method}", self.handle)]


SLACK_BOT_TOKEN = "xoxb-stand-in"  # noqa: S105 - a test value
SLACK_BOT_USER = "U0CLEARBOT"
SLACK_SIGNING_SECRET = "stand-in-signing-secret"  # noqa: S105 - a test value


@contextmanager
def serving(*standins: TelegramStandIn | SlackStandIn) -> Iterator[None]:
    """Serve each stand-in on its own loopback port, in one background thread, until the block ends."""
    loop = asyncio.new_event_loop()
    runners: list[web.AppRunner] = []
    started = threading.Event()

    async def start() -> None:
        for standin in standins:
            app = web.Application()
            app.add_routes(standin.routes())
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            standin.url = f"http://127.0.0.1:{port}"
            runners.append(runner)

    def run() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=run, name="channel-standins", daemon=True)
    thread.start()
    if not started.wait(10):
        raise RuntimeError("the channel stand-ins did not start")
    try:
        yield
    finally:

        async def stop() -> None:
            for runner in runners:
                await runner.cleanup()

        asyncio.run_coroutine_threadsafe(stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()


def telegram_update(update_id: int, chat_id: int, text: str, first_name: str = "Tess") -> dict[str, Any]:
    """An update as Telegram posts it to the bot's webhook: a private chat's text message."""
    return {
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": first_name},
            "from": {"id": chat_id, "is_bot": False, "first_name": first_name},
            "text": text,
        },
    }


def slack_message_event(user: str, channel: str, text: str) -> dict[str, Any]:
    """A direct message to the app, as Slack's Events API posts it to the request URL."""
    ts = f"{time.time():.6f}"
    return {
        "token": "verification-token-unused",
        "team_id": "T0STANDIN",
        "api_app_id": "A0STANDIN",
        "type": "event_callback",
        "event_id": f"Ev{ts.replace('.', '')}",
        "event_time": int(time.time()),
        "authorizations": [{"user_id": SLACK_BOT_USER, "is_bot": True}],
        "event": {
            "type": "message",
            "channel_type": "im",
            "channel": channel,
            "user": user,
            "text": text,
            "ts": ts,
            "event_ts": ts,
        },
    }


def slack_signed(body: dict[str, Any], secret: str = SLACK_SIGNING_SECRET) -> tuple[bytes, dict[str, str]]:
    """The body and headers of a request signed the way Slack signs it (v0, HMAC-SHA256 of
    ``v0:<timestamp>:<body>`` with the signing secret)."""
    raw = json.dumps(body).encode()
    timestamp = str(int(time.time()))
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + raw, hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}",
    }
    return raw, headers
