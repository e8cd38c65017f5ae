"""Rasa's HTTP API, used to pause/resume the bot and to speak to the customer on their channel."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx

AGENT_MESSAGE_SLOT = "agent_message"
AGENT_MESSAGE_RESPONSE = "utter_agent_message"


class RasaError(Exception):
    """Rasa did not confirm the command (transport error or a non-2xx answer)."""


class RasaClient:
    """Commands of the outbox: ``pause``, ``resume``, ``say`` (agent text) and ``utter`` (a response)."""

    def __init__(
        self, base_url: str, token: str, *, timeout: float = 5.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._token = token
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RasaClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _post(self, path: str, body: dict[str, Any], params: dict[str, str] | None = None) -> None:
        query = {"token": self._token, **(params or {})}
        try:
            response = self._http.post(path, json=body, params=query)
        except httpx.HTTPError as exc:
            raise RasaError(f"POST {path} failed: {type(exc).__name__}: {exc}") from exc
        if not response.is_success:
            raise RasaError(f"POST {path} answered {response.status_code}: {response.text[:300]}")

    @staticmethod
    def _path(conversation_id: str, tail: str) -> str:
        return f"/conversations/{quote(conversation_id, safe='')}/{tail}"

    def append_event(self, conversation_id: str, event: dict[str, Any]) -> None:
        self._post(self._path(conversation_id, "tracker/events"), event)

    def pause(self, conversation_id: str) -> None:
        self.append_event(conversation_id, {"event": "pause"})

    def resume(self, conversation_id: str) -> None:
        self.append_event(conversation_id, {"event": "resume"})
        # A form left open before the hand-off would otherwise swallow the customer's next message.
        self.append_event(conversation_id, {"event": "active_loop", "name": None})

    def utter(self, conversation_id: str, response: str) -> None:
        """Run a response; ``output_channel=latest`` sends it to the customer's own channel."""
        self._post(self._path(conversation_id, "execute"), {"name": response}, {"output_channel": "latest"})
        # Rasa's execute leaves the tracker after a bot action, not listening: without this the rule
        # policy judges the customer's next message as following our response and falls back.
        self.append_event(conversation_id, {"event": "action", "name": "action_listen"})

    def say(self, conversation_id: str, text: str) -> None:
        self.append_event(conversation_id, {"event": "slot", "name": AGENT_MESSAGE_SLOT, "value": text})
        self.utter(conversation_id, AGENT_MESSAGE_RESPONSE)

    def send(self, conversation_id: str, kind: str, payload: dict[str, Any]) -> None:
        """Dispatch one outbox command."""
        if kind == "pause":
            self.pause(conversation_id)
        elif kind == "resume":
            self.resume(conversation_id)
        elif kind == "utter":
            self.utter(conversation_id, str(payload["name"]))
        elif kind == "say":
            self.say(conversation_id, str(payload["text"]))
        else:
            raise RasaError(f"unknown outbox command {kind!r}")
