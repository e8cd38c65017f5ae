"""The agent's display name reaches the customer (issue #20): the "joined" notice and the reply's author,
sent by the outbox relay to a real HTTP server on loopback standing in for Rasa."""

from __future__ import annotations

from triage.rasa.client import RasaClient
from triage.rasa.events import AGENT_REPLY

from .fake_rasa import RasaDouble

EVENTS = "/conversations/c1/tracker/events"


def test_joined_notice_and_reply_carry_the_display_name(rasa: RasaDouble) -> None:
    with RasaClient(rasa.url, "s3cret") as client:
        client.send("c1", "agent_joined", {"agent_id": 7, "agent_name": "Alice Moreau"})
        client.send(
            "c1", "say", {"text": "Hi, your card is frozen.", "message_id": 3, "agent_name": "Alice Moreau"}
        )
        client.send("c1", "agent_joined", {"agent_id": 8, "agent_name": None})  # a user with no name
        client.send("c1", "say", {"text": "Queued before names", "message_id": 4})  # an older outbox row
    bodies = [r.body for r in rasa.requests if r.path == EVENTS]
    assert bodies == [
        # not an agent's reply: the worker stores it as the bot's notice, as the customer saw it
        [
            {
                "event": "bot",
                "text": "Alice Moreau from Northwind Pay joined",
                "metadata": {"clearline": {"handoff": "joined", "agent": "Alice Moreau"}},
            }
        ],
        [
            {
                "event": "bot",
                "text": "Hi, your card is frozen.",
                "metadata": {AGENT_REPLY: True, "clearline": {"handoff": "agent", "agent": "Alice Moreau"}},
            }
        ],
        [
            {
                "event": "bot",
                "text": "A member of our team from Northwind Pay joined",
                "metadata": {"clearline": {"handoff": "joined", "agent": "A member of our team"}},
            }
        ],
        [
            {
                "event": "bot",
                "text": "Queued before names",
                "metadata": {AGENT_REPLY: True, "clearline": {"handoff": "agent"}},
            }
        ],
    ]
