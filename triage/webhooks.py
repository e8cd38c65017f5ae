"""Outbound webhooks (alerts to Slack-compatible receivers), delivered by the outbox relay beside Rasa's
commands: a "webhook" command is POSTed to its URL, every other command goes to Rasa. A failure (a
refused connection, a non-2xx answer) leaves the command in the outbox, retried with backoff, until the
outbox gives it up (``triage.storage.outbox.gives_up``)."""

from __future__ import annotations

from typing import Any

import httpx

from triage.domain.lifecycle import WEBHOOK
from triage.storage.outbox import RasaCommands

# short: the relay sends one command at a time, and a receiver that hangs must not hold back the others
TIMEOUT_S = 2.0
# client errors that a later try can cure: a timeout, too early, too many requests
RETRYABLE_CLIENT_ERRORS = frozenset({408, 425, 429})


class WebhookRefused(RuntimeError):
    """The receiver answered with a non-2xx status."""

    def __init__(self, status: int) -> None:
        super().__init__(f"webhook answered {status}")
        self.status = status

    @property
    def final(self) -> bool:
        """A client error that no retry cures (404: no such hook, 403: its token revoked, 400: refused).
        A redirect (3xx, never followed) is not final: retried like a server error, then given up."""
        return 400 <= self.status < 500 and self.status not in RETRYABLE_CLIENT_ERRORS


class WebhookPoster:
    def __init__(self, timeout_s: float = TIMEOUT_S) -> None:
        # no redirects followed: the operator configured this URL, a redirect elsewhere is not theirs
        self._client = httpx.Client(timeout=timeout_s, follow_redirects=False)

    def post(self, url: str, body: dict[str, Any]) -> None:
        response = self._client.post(url, json=body)
        if not response.is_success:
            raise WebhookRefused(response.status_code)

    def close(self) -> None:
        self._client.close()


class OutboxCommands:
    """What the outbox relay sends through: webhooks here, the rest to Rasa."""

    def __init__(self, rasa: RasaCommands, webhooks: WebhookPoster | None = None) -> None:
        self.rasa = rasa
        self.webhooks = webhooks or WebhookPoster()

    def send(self, conversation_id: str, kind: str, payload: dict[str, Any]) -> None:
        if kind == WEBHOOK:
            self.webhooks.post(str(payload["url"]), dict(payload["body"]))
            return
        self.rasa.send(conversation_id, kind, payload)

    def close(self) -> None:
        self.webhooks.close()
        close = getattr(self.rasa, "close", None)
        if callable(close):
            close()
