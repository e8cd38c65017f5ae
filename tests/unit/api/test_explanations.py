"""Explanations in the conversation detail as the worker stores them: filled, still pending, failed.

The pipeline stores a placeholder per driving message with the escalation, and the worker's explainer
thread (``triage.worker.explaining.explain_pending``) fills it with the model's explanation or its error.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api import factories
from tests.unit.api.conftest import bearer
from tests.unit.triage.fakes import FakeScorer
from triage.storage.db import session_scope
from triage.worker.explaining import explain_pending

FURIOUS = "I am furious my card was stolen and nobody helps"  # the fake model's stress word: "furious"


@pytest.fixture
def explained(factory: sessionmaker[Session], team: dict[str, int]) -> None:
    """Three escalations: "real" explained by the model, "failed" whose model raised, "pending"."""
    with session_scope(factory) as session:
        for conversation_id in ("real", "failed", "pending"):
            factories.escalated(session, conversation_id, text=FURIOUS, explained=False)
    assert explain_pending(factory, FakeScorer(), limit=1) == [1]  # oldest first: "real"
    assert explain_pending(factory, FakeScorer(fail_explain=True), limit=1) == [2]


def stored(client: TestClient, conversation_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The explanation of the conversation's escalation, and the customer message it explains."""
    detail = client.get(f"/api/v1/conversations/{conversation_id}", headers=bearer(client, "sam")).json()
    [explanation] = detail["escalations"][0]["explanations"]
    return explanation, detail["messages"][2]


def test_a_real_explanation_points_into_the_message_it_explains(client: TestClient, explained: None) -> None:
    explanation, message = stored(client, "real")
    assert explanation["message_id"] == message["id"] and explanation["text"] == message["text"] == FURIOUS
    for word in explanation["words"]:  # offsets into the stored (redacted) text that the page marks
        assert message["text"][word["start"] : word["end"]] == word["word"]
    assert [w["word"] for w in explanation["words"] if w["attribution"] > 0] == ["furious"]
    assert explanation["top_words"] == ["furious"] and explanation["target"] == "stress"
    # the fake model's faithfulness: score 0.97 for "furious", 0.2 once the top word is removed
    assert (explanation["score"], explanation["score_without_top"]) == (0.97, 0.2)
    assert explanation["model"] == "fake-emotions@test" and "pending" not in explanation


def test_a_pending_explanation_is_a_placeholder_without_words(client: TestClient, explained: None) -> None:
    explanation, message = stored(client, "pending")
    assert explanation == {"message_id": message["id"], "text": FURIOUS, "pending": True}


def test_a_failed_explanation_says_why_and_has_no_words(client: TestClient, explained: None) -> None:
    explanation, message = stored(client, "failed")
    assert explanation == {
        "message_id": message["id"],
        "text": FURIOUS,
        "error": "RuntimeError: explainer exploded",
    }
