"""The api's outbox relay keeps one Rasa client (its connections and its copy of the bot's
responses) for the process, instead of building one, and re-reading Rasa's domain, per delivery."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from api.relay import OutboxRelay
from triage.storage.db import Base, make_engine, make_session_factory, session_scope
from triage.storage.outbox import enqueue


class CountingRasa:
    made = 0

    def __init__(self) -> None:
        CountingRasa.made += 1
        self.sent: list[tuple[str, str]] = []
        self.closed = False

    def send(self, conversation_id: str, kind: str, payload: dict[str, Any]) -> None:
        self.sent.append((conversation_id, kind))

    def close(self) -> None:
        self.closed = True


def test_one_client_serves_every_delivery_and_is_closed_at_shutdown(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'relay.db'}")
    Base.metadata.create_all(engine)
    factory = make_session_factory(engine)
    CountingRasa.made = 0
    relay = OutboxRelay(factory, CountingRasa)
    for conversation_id in ("c1", "c2"):
        with session_scope(factory) as session:
            enqueue(session, conversation_id, "pause")
        assert relay.deliver() == 1
    client = relay.client
    assert CountingRasa.made == 1
    assert isinstance(client, CountingRasa) and client.sent == [("c1", "pause"), ("c2", "pause")]
    relay.close()
    assert client.closed
    engine.dispose()
