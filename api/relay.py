"""The api's side of the outbox: after its own commits it tries to deliver Rasa commands at once
(the worker's loop delivers whatever is left, with retries)."""

from __future__ import annotations

from collections.abc import Callable

import structlog
from fastapi import BackgroundTasks, Request
from sqlalchemy.orm import Session, sessionmaker

from triage.outbox import RasaCommands, deliver_outbox
from triage.settings import CoreSettings

log = structlog.get_logger("api.relay")


class OutboxRelay:
    def __init__(self, factory: sessionmaker[Session], make_client: Callable[[], RasaCommands]) -> None:
        self._factory = factory
        self._make_client = make_client

    @classmethod
    def from_settings(cls, factory: sessionmaker[Session], core: CoreSettings) -> OutboxRelay:
        def make_client() -> RasaCommands:
            from triage.rasa_client import RasaClient

            return RasaClient(core.rasa_url, core.rasa_token)

        return cls(factory, make_client)

    def deliver(self) -> int:
        """Send due commands; failures stay in the outbox for the worker to retry, never raise here."""
        client = self._make_client()
        try:
            return deliver_outbox(self._factory, client)
        except Exception as exc:  # a background task must not crash; the outbox keeps the commands
            log.warning("outbox relay failed", error=f"{type(exc).__name__}: {exc}")
            return 0
        finally:
            close = getattr(client, "close", None)
            if callable(close):
                close()


def commit_and_relay(session: Session, request: Request, background: BackgroundTasks) -> None:
    """Commit the request's unit of work, then deliver its outbox commands after the response."""
    session.commit()
    relay: OutboxRelay = request.app.state.relay
    background.add_task(relay.deliver)
