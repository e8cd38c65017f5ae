"""Rasa's Telegram channel (3.6.21, aiogram 2.x) with a configurable Bot API host and an output channel
the HTTP API can use.

Behaviour pinned to rasa 3.6.21's ``rasa.core.channels.telegram``; two differences only:

- ``TELEGRAM_API_URL`` (default ``https://api.telegram.org``, so production is unchanged) is the Bot API
  host, e.g. a loopback stand-in in tests or a self-hosted Bot API server. aiogram's ``Bot`` takes it as
  its ``server``.
- Rasa's ``TelegramInput.get_output_channel`` registers the webhook with ``asyncio.run`` every time it is
  called. Called at start-up (building the blueprint) that works, but the output it returns keeps an
  aiohttp session bound to the finished loop; called by the HTTP API (``output_channel=latest``, how an
  agent's reply reaches the customer) it raises "asyncio.run() cannot be called from a running event
  loop" (RasaHQ/rasa#13040). Here the webhook is registered once, at start-up, with a Bot of its own
  that is closed afterwards, and every caller gets the one output channel, whose session is made in the
  server's loop on first use.

- ``secret_token`` (``TELEGRAM_SECRET_TOKEN``, required by credentials.channels.yml): the webhook is
  registered with it and an update without the matching ``X-Telegram-Bot-Api-Secret-Token`` header is
  refused (403) before Rasa sees it. Rasa's own check (``getMe`` answers the bot name given as
  ``verify``) only proves the access token is right, not who sent the update; the secret does, and the
  bot trusts a Telegram sender id as the customer (actions/settings.py identity channels).
"""

from __future__ import annotations

import asyncio
import hmac
import os
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram.bot.api import TelegramAPIServer
from aiogram.utils.exceptions import TelegramAPIError
from rasa.core.channels import telegram as rasa_telegram
from rasa.core.channels.channel import InputChannel, UserMessage
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

API_URL_VARIABLE = "TELEGRAM_API_URL"
PUBLIC_API_URL = "https://api.telegram.org"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"  # noqa: S105 - a header's name


def api_server() -> TelegramAPIServer:
    return TelegramAPIServer.from_base(os.environ.get(API_URL_VARIABLE) or PUBLIC_API_URL)


class TelegramOutput(rasa_telegram.TelegramOutput):
    def __init__(self, access_token: str | None) -> None:
        super().__init__(access_token)
        self.server = api_server()


class TelegramInput(rasa_telegram.TelegramInput):
    """Rasa's Telegram input under its own name ("telegram"), loaded by module path from credentials."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        if not credentials:
            cls.raise_missing_credentials_exception()
        secret = str(credentials.get("secret_token") or "")
        if not secret:
            raise RasaException("telegram needs secret_token (TELEGRAM_SECRET_TOKEN): see bot/CHANNELS.md")
        return cls(
            credentials.get("access_token"),
            credentials.get("verify"),
            credentials.get("webhook_url"),
            secret_token=secret,
        )

    def __init__(self, *args: Any, secret_token: str = "", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.secret_token = secret_token
        self._output: TelegramOutput | None = None

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = super().blueprint(on_new_message)
        secret = self.secret_token

        @hook.middleware("request")
        async def only_from_telegram(request: Request) -> HTTPResponse | None:
            if request.method != "POST" or not secret:
                return None
            given = request.headers.get(SECRET_HEADER, "")
            if hmac.compare_digest(given.encode(), secret.encode()):
                return None
            return response.text("forbidden", status=403)

        return hook

    def get_output_channel(self) -> TelegramOutput:
        if self._output is None:
            self._register_webhook()
            self._output = TelegramOutput(self.access_token)
        return self._output

    def _register_webhook(self) -> None:
        async def register() -> None:
            bot = TelegramOutput(self.access_token)
            try:
                # aiogram 2.x's set_webhook predates the Bot API's secret_token: the raw method
                params = {"url": self.webhook_url}
                if self.secret_token:
                    params["secret_token"] = self.secret_token
                await bot.request("setWebhook", params)
            finally:
                await bot.session.close()  # Bot.close is deprecated in aiogram 2.x

        try:
            asyncio.run(register())
        except TelegramAPIError as error:
            raise RasaException("Failed to set channel webhook: " + str(error)) from error
