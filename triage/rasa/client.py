"""Rasa's HTTP API, used to pause/resume the bot and to speak to the customer on their channel."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import httpx
import structlog

from triage.rasa.events import AGENT_REPLY, CLEARLINE_MARKER, parsed_intent, unanswered_after_resume
from triage.rasa.responses import Variant, parse_responses, pick

log = structlog.get_logger("triage.rasa.client")

# what the customer reads when an agent takes the conversation: the bot's response (bot/domain/handoff.yml),
# or this text if the domain has none (the brand is the bot's)
AGENT_JOINED = "utter_agent_joined"
AGENT_JOINED_TEXT = "{agent_name} from Northwind Pay joined"


class RasaError(Exception):
    """Rasa did not confirm the command (transport error or a non-2xx answer)."""


class MissingResponse(RasaError):
    """The bot's domain has no text response of that name (e.g. a model older than the relay)."""


# how old the cached domain must be before a missing response makes the client read it again
DOMAIN_REREAD_S = 30.0


class RasaClient:
    """Commands of the outbox: ``pause``, ``resume``, ``say`` (agent text), ``utter`` (a response) and
    ``answer_pending`` (have the bot answer a message that came during the hand-back)."""

    def __init__(
        self, base_url: str, token: str, *, timeout: float = 5.0, transport: httpx.BaseTransport | None = None
    ) -> None:
        self._token = token
        self._responses: dict[str, list[Variant]] | None = None  # read from Rasa's domain, cached
        self._responses_read_at = 0.0
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

    def answer_pending(self, conversation_id: str, since: float) -> bool:
        """After a resume, have the bot answer the message the customer sent while it was still paused
        (see ``unanswered_after_resume``); return whether there was one.

        Rasa logged that message and its NLU result but predicted nothing. Its ``trigger_intent``
        endpoint runs the prediction loop on the same intent and entities and sends the answer to the
        customer's latest channel; it logs an external user event, which the worker skips.
        """
        message = unanswered_after_resume(self.tracker_events(conversation_id), since)
        if message is None:
            return False
        parsed = parsed_intent(message)
        body = {"name": parsed.name or "nlu_fallback", "entities": parsed.entities}
        self._post(self._path(conversation_id, "trigger_intent"), body, {"output_channel": "latest"})
        log.info("late_message_answered", conversation_id=conversation_id, intent=body["name"])
        return True

    def tracker_events(self, conversation_id: str) -> list[dict[str, Any]]:
        """The conversation's events since its last restart, oldest first."""
        events = self._get_json(self._path(conversation_id, "tracker")).get("events")
        return [e for e in events if isinstance(e, dict)] if isinstance(events, list) else []

    def _get_json(self, path: str, headers: dict[str, str] | None = None) -> dict[str, Any]:
        try:
            answer = self._http.get(path, params={"token": self._token}, headers=headers)
        except httpx.HTTPError as exc:
            raise RasaError(f"GET {path} failed: {type(exc).__name__}: {exc}") from exc
        if not answer.is_success:
            raise RasaError(f"GET {path} answered {answer.status_code}: {answer.text[:300]}")
        try:
            body = answer.json()
        except ValueError as exc:
            raise RasaError(f"GET {path} answered no JSON: {answer.text[:300]}") from exc
        if not isinstance(body, dict):
            raise RasaError(f"GET {path} answered {type(body).__name__}, not an object")
        return body

    def say(self, conversation_id: str, text: str, agent_name: str | None = None) -> None:
        """Send an agent's text to the customer, marked as the agent's (``AGENT_REPLY``) and, when known,
        with the agent's display name, which the web chat shows as its author."""
        marker: dict[str, Any] = {"handoff": "agent"}
        if agent_name:
            marker["agent"] = agent_name
        self._send_bot_text(conversation_id, text, {AGENT_REPLY: True, CLEARLINE_MARKER: marker})

    def agent_joined(self, conversation_id: str, agent_name: str | None, language: str | None = None) -> None:
        """Tell the customer who took the conversation: "<name> from Northwind Pay joined" (in their
        language where the domain has it). A bot message (the worker stores it in the transcript as
        such), marked ``{"handoff": "joined", "agent"}``."""
        name = agent_name or "A member of our team"
        marker: dict[str, Any] = {"handoff": "joined", "agent": name}
        template = (
            pick(self._domain_responses()[AGENT_JOINED], language).text
            if AGENT_JOINED in self._domain_responses()
            else AGENT_JOINED_TEXT
        )
        text = template.replace("{agent_name}", name)
        self._send_bot_text(conversation_id, text, {CLEARLINE_MARKER: marker})

    def utter(
        self,
        conversation_id: str,
        response: str,
        handoff: str | None = None,
        language: str | None = None,
        slots: dict[str, Any] | None = None,
    ) -> None:
        """Send one of the bot's own responses (its text and buttons from Rasa's domain, in the customer's
        language where it has one) to the customer; with ``handoff``, marked with the hand-off state it
        announces; ``slots`` are set in the same request (what a question is about)."""
        metadata = {CLEARLINE_MARKER: {"handoff": handoff}} if handoff else {}
        variant = self.response_variant(response, language)
        after = [{"event": "slot", "name": name, "value": value} for name, value in (slots or {}).items()]
        self._send_bot_text(conversation_id, variant.text, metadata, variant.buttons, after)

    def _send_bot_text(
        self,
        conversation_id: str,
        text: str,
        metadata: dict[str, Any],
        buttons: tuple[dict[str, str], ...] = (),
        after: list[dict[str, Any]] | None = None,
    ) -> None:
        """A bot message delivered to the customer's latest channel. No action is inserted into the
        conversation (unlike Rasa's execute endpoint), so the customer's next message is understood as
        usual, however soon it comes."""
        event: dict[str, Any] = {"event": "bot", "text": text}
        if buttons:
            event["data"] = {"buttons": list(buttons)}
        if metadata:
            event["metadata"] = metadata
        self.append_events(conversation_id, [event, *(after or [])], deliver=True)

    def _domain_responses(self, *, stale_after: float | None = None) -> dict[str, list[Variant]]:
        """The domain's responses, read once and again when ``stale_after`` seconds have passed (a
        response that is missing may come with a newer model)."""
        now = time.monotonic()
        stale = stale_after is not None and now - self._responses_read_at >= stale_after
        if self._responses is None or stale:
            # Rasa 3.6 answers the domain in YAML (or 406) unless JSON is asked for
            self._responses = parse_responses(
                self._get_json("/domain", headers={"Accept": "application/json"})
            )
            self._responses_read_at = now
        return self._responses

    def response_variant(self, response: str, language: str | None = None) -> Variant:
        variants = self._domain_responses().get(response)
        if not variants:
            variants = self._domain_responses(stale_after=DOMAIN_REREAD_S).get(response)
        if not variants:
            raise MissingResponse(f"the bot's domain has no text response {response!r}")
        return pick(variants, language)

    def response_text(self, response: str, language: str | None = None) -> str:
        return self.response_variant(response, language).text

    def send(self, conversation_id: str, kind: str, payload: dict[str, Any]) -> None:
        """Dispatch one outbox command."""
        if kind == "pause":
            self.pause(conversation_id)
        elif kind == "resume":
            self.resume(conversation_id)
        elif kind == "utter":
            handoff, slots = payload.get("handoff"), payload.get("slots")
            try:
                self.utter(
                    conversation_id,
                    str(payload["name"]),
                    str(handoff) if handoff else None,
                    _language(payload),
                    slots if isinstance(slots, dict) else None,
                )
            except MissingResponse:
                if not payload.get("optional"):
                    raise
                # e.g. the rating question with a bot model from before it: skipped, never holding up
                # the conversation's later commands
                log.warning(
                    "optional_response_skipped", conversation_id=conversation_id, name=payload["name"]
                )
        elif kind == "say":
            name = payload.get("agent_name")
            self.say(conversation_id, str(payload["text"]), str(name) if name else None)
        elif kind == "agent_joined":
            name = payload.get("agent_name")
            self.agent_joined(conversation_id, str(name) if name else None, _language(payload))
        elif kind == "answer_pending":
            self.answer_pending(conversation_id, float(payload["since"]))
        else:
            raise RasaError(f"unknown outbox command {kind!r}")


def _language(payload: dict[str, Any]) -> str | None:
    """The customer's language an outbox command carries (``store_effects`` adds it), if any."""
    language = payload.get("language")
    return language if isinstance(language, str) and language else None
