"""When the outbox stops trying a command: an alert's webhook refused for good or failing for ~20 minutes is
given up; Rasa's commands never are (they carry what the customer must see)."""

from __future__ import annotations

import httpx
import pytest

from triage.storage.outbox import WEBHOOK_ATTEMPTS, backoff, gives_up
from triage.webhooks import WebhookRefused


@pytest.mark.parametrize(
    ("status", "final"),
    [
        (400, True),
        (403, True),
        (404, True),
        (410, True),
        (408, False),
        (429, False),
        (301, False),
        (503, False),
    ],
)
def test_only_a_client_error_that_no_retry_cures_is_final(status: int, final: bool) -> None:
    assert WebhookRefused(status).final is final


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503])
def test_timeouts_throttling_and_server_errors_are_retried(status: int) -> None:
    refused = WebhookRefused(status)
    assert not refused.final
    assert str(refused) == f"webhook answered {status}"  # what last_error keeps
    assert not gives_up("webhook", 1, refused)


def test_a_webhook_refused_for_good_is_given_up_at_once() -> None:
    assert gives_up("webhook", 1, WebhookRefused(404))


def test_a_webhook_failing_on_is_given_up_after_its_attempts() -> None:
    down = httpx.ConnectError("connection refused")
    assert not gives_up("webhook", WEBHOOK_ATTEMPTS - 1, down)
    assert gives_up("webhook", WEBHOOK_ATTEMPTS, down)
    waited = sum(backoff(attempt).total_seconds() for attempt in range(1, WEBHOOK_ATTEMPTS))
    assert 15 * 60 <= waited <= 25 * 60  # "about 20 minutes" in the docs


@pytest.mark.parametrize("kind", ["say", "pause", "resume", "utter", "answer_pending", "agent_joined"])
def test_rasa_commands_are_never_given_up(kind: str) -> None:
    assert not gives_up(kind, 10_000, WebhookRefused(404))
    assert not gives_up(kind, 10_000, httpx.ConnectError("down"))
