"""The language in the API's conversation payloads (issue #21): per conversation, per message, and whether
a message's stress counts for the policy (the emotion model reads English only)."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api import factories
from tests.unit.api.conftest import bearer
from triage.storage.db import Conversation, Message, Sender, session_scope


def test_detail_and_list_give_the_languages_and_which_stress_counts(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int]
) -> None:
    with session_scope(factory) as session:
        factories.escalated(session, "c1")  # an English customer turn, stored before languages: unknown
        session.add_all(
            [
                Message(
                    conversation_id="c1",
                    sender=Sender.CUSTOMER,
                    text="Mi tarjeta no llega y nadie me contesta",
                    stress=0.88,
                    flagged=True,
                    language="es",
                    language_confidence=0.93,
                ),
                Message(conversation_id="c1", sender=Sender.CUSTOMER, text="sí", stress=0.2, language="es"),
            ]
        )
        conversation = session.get(Conversation, "c1")
        assert conversation is not None
        conversation.language = "es"
    headers = bearer(client, "alice")
    detail = client.get("/api/v1/conversations/c1", headers=headers).json()
    assert detail["language"] == "es" and detail["stress_languages"] == ["en"]
    *_, english, spanish, short = detail["messages"]
    assert (english["language"], english["language_confidence"], english["stress_reliable"]) == (
        None,
        None,
        True,
    )
    assert (spanish["language"], spanish["language_confidence"], spanish["stress_reliable"]) == (
        "es",
        0.93,
        False,
    )
    assert (short["language"], short["language_confidence"], short["stress_reliable"]) == ("es", None, False)
    listed = client.get("/api/v1/conversations", headers=headers).json()["items"]
    assert [item["language"] for item in listed if item["id"] == "c1"] == ["es"]
