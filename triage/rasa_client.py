"""Rasa's HTTP API, used to pause/resume the bot and to speak to the customer on their channel."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import httpx


class RasaError(Exception):
    """Rasa did not confirm the command (transport error or a non-2xx answer)."""


class RasaClient:
    """Commands of the outbox: ``pause``, ``resume``, ``say`` (agent text) and ``utter`` (a response)."""

    def __init__(
        self, base_url: str, token: str, *, timeout: float = 5.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._token = token
        self._responses: dict[str, str] = {}  # response name -> text, read once from Rasa's domain
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout, transport=transport)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> RasaClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _post(self, path: str, body: Any, params: dict[str, str] | None = None) -> None:
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

    def append_events(
        self, conversation_id: str, events: list[dict[str, Any]], *, deliver: bool = False
    ) -> None:
        """Append events in one request (Rasa applies them under the conversation's lock); with
        ``deliver`` their bot messages also go to the customer's latest channel."""
        params = {"output_channel": "latest", "execute_side_effects": "true"} if deliver else None
        self._post(self._path(conversation_id, "tracker/events"), events, params)

    def pause(self, conversation_id: str) -> None:
        self.append_events(conversation_id, [{"event": "pause"}])

    def resume(self, conversation_id: str) -> None:
        # Closing the active loop keeps a form left open before the hand-off from swallowing the
        # customer's next message.
        self.append_events(conversation_id, [{"event": "resume"}, {"event": "active_loop", "name": None}])

    def say(self, conversation_id: str, text: str) -> None:
        """Send text to the customer as a bot message. No action is inserted into the conversation
        (unlike Rasa's execute endpoint), so the customer's next message is understood as usual,
        however soon it comes."""
        self.append_events(conversation_id, [{"event": "bot", "text": text}], deliver=True)

    def utter(self, conversation_id: str, response: str) -> None:
        """Send one of the bot's own responses (its text from Rasa's domain) to the customer."""
        self.say(conversation_id, self.response_text(response))

    def response_text(self, response: str) -> str:
        if response not in self._responses:
            try:
                answer = self._http.get(
                    "/domain", params={"token": self._token}, headers={"Accept": "application/json"}
                )
            except httpx.HTTPError as exc:
                raise RasaError(f"GET /domain failed: {type(exc).__name__}: {exc}") from exc
            if not answer.is_success:
                raise RasaError(f"GET /domain answered {answer.status_code}: {answer.text[:300]}")
            for name, variants in (answer.json().get("responses") or {}).items():
                texts = [v.get("text") for v in variants if isinstance(v, dict) and v.get("text")]
                if texts:
                    self._responses[name] = str(texts[0])
        if response not in self._responses:
            raise RasaError(f"the bot's domain has no text response {response!r}")
        return self._responses[response]

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
