"""What people write about a conversation (reasons, feedback comments) is stored redacted, like the
customer's words: the raw value reaches no table."""

from __future__ import annotations

import typing

import pytest
from fastapi.testclient import TestClient
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import inspect, text
from sqlalchemy.orm import Session, sessionmaker

from api import schemas
from tests.unit.api import factories
from tests.unit.api.conftest import bearer
from triage.storage.db import session_scope

EMAIL = "jane.doe@example.com"
CARD = "4111 1111 1111 1111"
PII_NOTE = f"customer {EMAIL} pasted card {CARD} here"
REDACTED_NOTE = "customer <EMAIL> pasted card <CARD_NUMBER> here"
FREE_TEXT_FIELDS = {"reason", "over_capacity_reason", "comment", "word"}


def _request_models() -> list[type[BaseModel]]:
    return [
        model
        for model in vars(schemas).values()
        if isinstance(model, type)
        and issubclass(model, schemas.StrictModel)
        and model is not schemas.StrictModel
    ]


def test_every_free_text_field_of_a_request_is_redacted_on_the_way_in() -> None:
    checked = []
    for model in _request_models():
        for name in FREE_TEXT_FIELDS & set(model.model_fields):
            hints = typing.get_type_hints(model, include_extras=True)
            assert hints[name] is not None
            adapter = TypeAdapter(hints[name])
            assert adapter.validate_python(PII_NOTE) == REDACTED_NOTE, f"{model.__name__}.{name}"
            checked.append(f"{model.__name__}.{name}")
    # the fields an agent or supervisor types into: a new one without redaction fails the assertion above
    assert {
        "ResolveIn.reason",
        "TransferIn.reason",
        "ReassignIn.over_capacity_reason",
        "FeedbackIn.comment",
        "UnmarkedWord.word",
        "AddedWord.word",
        "MissedFlagIn.comment",
    } <= set(checked)


def _all_text(session: Session) -> str:
    """Every value of every table, as text: what a copy of the database would reveal."""
    dump = []
    for table in inspect(session.get_bind()).get_table_names():
        for row in session.execute(text(f'SELECT * FROM "{table}"')):  # noqa: S608 - names from the schema
            dump.append(" ".join(str(value) for value in row))
    return "\n".join(dump)


@pytest.mark.parametrize("route", ["resolve", "unflag", "feedback", "missed_flag"])
def test_reasons_and_comments_reach_no_table_raw(
    client: TestClient, factory: sessionmaker[Session], team: dict[str, int], route: str
) -> None:
    with session_scope(factory) as session:
        factories.escalated(session, "c1")
    sam = bearer(client, "sam")
    if route == "resolve":
        response = client.post("/api/v1/conversations/c1/resolve", json={"reason": PII_NOTE}, headers=sam)
    elif route == "unflag":
        response = client.post("/api/v1/escalations/1/unflag", json={"reason": PII_NOTE}, headers=sam)
    elif route == "feedback":
        response = client.post(
            "/api/v1/escalations/1/feedback", json={"verdict": "wrong", "comment": PII_NOTE}, headers=sam
        )
    else:
        with session_scope(factory) as session:
            factories.bot_only(session, "c2")
        response = client.post(
            "/api/v1/conversations/c2/missed-flag", json={"comment": PII_NOTE}, headers=sam
        )
    assert response.status_code in (200, 201), response.text
    with factory() as session:
        stored = _all_text(session)
    assert REDACTED_NOTE in stored
    assert EMAIL not in stored and CARD not in stored and CARD.replace(" ", "") not in stored
