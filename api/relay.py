"""The api's side of the outbox: after its own commits it tries to deliver Rasa commands at once
(the worker's loop delivers whatever is left, with retries)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TypeVar

import structlog
from fastapi import BackgroundTasks, Request
from sqlalchemy.orm import Session, sessionmaker

from api.unit_of_work import commit_work
from triage.settings import CoreSettings
from triage.storage.outbox import RasaCommands, deliver_outbox

log = structlog.get_logger("api.relay")

T = TypeVar("T")


class OutboxRelay:
    """Delivers the api's outbox commands through ONE Rasa client for the process's life: its HTTP
    connections and its copy of the bot's responses (read once from Rasa's domain) are reused."""

    def __init__(self, factory: sessionmaker[Session], make_client: Callable[[], RasaCommands]) -> None:
        self._factory = factory
        self._make_client = make_client
        self._client: RasaCommands | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, factory: sessionmaker[Session], core: CoreSettings) -> OutboxRelay:
        def make_client() -> RasaCommands:
            from triage.rasa.client import RasaClient
            from triage.webhooks import OutboxCommands

            return OutboxCommands(RasaClient(core.rasa_url, core.rasa_token))  # alerts' webhooks too

        return cls(factory, make_client)

    @property
    def client(self) -> RasaCommands:
        with self._lock:
            if self._client is None:
                self._client = self._make_client()
            return self._client

    def deliver(self) -> int:
        """Send due commands; failures stay in the outbox for the worker to retry, never raise here."""
        try:
            return deliver_outbox(self._factory, self.client)
        except Exception as exc:  # a background task must not crash; the outbox keeps the commands
            log.warning("outbox relay failed", error=f"{type(exc).__name__}: {exc}")
            return 0

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
        close = getattr(client, "close", None)
        if callable(close):
            close()


def act_and_relay(
    session: Session,
    request: Request,
    background: BackgroundTasks,
    work: Callable[[], T],
    *,
    expected_version: int | None = None,
) -> T:
    """Run and commit an action on conversations (run again on a stale row when the client named no
    version: ``api.unit_of_work``), then deliver its outbox commands after the response."""
    result = commit_work(session, work, expected_version=expected_version)
    relay: OutboxRelay = request.app.state.relay
    background.add_task(relay.deliver)
    return result
