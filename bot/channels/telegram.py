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

Request verification is Rasa's: an update is handled only when the Bot API's ``getMe`` answers the bot
name given as ``verify``.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from aiogram.bot.api import TelegramAPIServer
from aiogram.utils.exceptions import TelegramAPIError
from rasa.core.channels import telegram as rasa_telegram
from rasa.shared.exceptions import RasaException

API_URL_VARIABLE = "TELEGRAM_API_URL"
PUBLIC_API_URL = "https://api.telegram.org"


def api_server() -> TelegramAPIServer:
    return TelegramAPIServer.from_base(os.environ.get(API_URL_VARIABLE) or PUBLIC_API_URL)


class TelegramOutput(rasa_telegram.TelegramOutput):
    def __init__(self, access_token: str | None) -> None:
        super().__init__(access_token)
        self.server = api_server()


class TelegramInput(rasa_telegram.TelegramInput):
    """Rasa's Telegram input under its own name ("telegram"), loaded by module path from credentials."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._output: TelegramOutput | None = None

    def get_output_channel(self) -> TelegramOutput:
        if self._output is None:
            self._register_webhook()
            self._output = TelegramOutput(self.access_token)
        return self._output

    def _register_webhook(self) -> None:
        async def register() -> None:
            bot = TelegramOutput(self.access_token)
            try:
                await bot.set_webhook(url=self.webhook_url)
            finally:
                await bot.session.close()  # Bot.close is deprecated in aiogram 2.x

        try:
            asyncio.run(register())
        except TelegramAPIError as error:
            raise RasaException("Failed to set channel webhook: " + str(error)) from error
