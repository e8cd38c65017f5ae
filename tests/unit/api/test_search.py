"""GET /api/v1/conversations?q=...: full-text search over the stored (redacted) transcripts, on SQLite's
FTS5 here and on PostgreSQL in test_postgres.py, with the user's visibility and the other filters."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import delete, text, update
from sqlalchemy.orm import Session, sessionmaker

from tests.unit.api.conftest import bearer
from tests.unit.api.test_conversations import three  # noqa: F401 - cards-1, transfers-1, calm
from triage.privacy import clearline
from triage.storage.db import Message, Sender, session_scope


@pytest.fixture
def searchable(factory: sessionmaker[Session], three: None) -> None:  # noqa: F811
    """A German customer in ``calm``, and a redacted e-mail address in transfers-1."""
    with session_scope(factory) as session:
        session.add(Message(conversation_id="calm", sender=Sender.CUSTOMER, text="Meine Überweisung fehlt"))
        session.add(Message(conversation_id="transfers-1", sender=Sender.CUSTOMER, text="write to <EMAIL>"))


def found(client: TestClient, user: str, query: str) -> list[str]:
    response = client.get("/api/v1/conversations", params={"q": query}, headers=bearer(client, user))
    assert response.status_code == 200, response.text
    return sorted(item["id"] for item in response.json()["items"])


def test_words_phrases_and_prefixes_find_the_conversation(client: TestClient, searchable: None) -> None:
    assert found(client, "sam", "stolen") == ["cards-1"]
    assert found(client, "sam", "STOLEN card") == ["cards-1"]
    assert found(client, "sam", '"card was stolen"') == ["cards-1"]
    assert found(client, "sam", '"stolen card"') == []  # a phrase keeps its order
    assert found(client, "sam", "ridic") == ["cards-1"]  # a prefix
    assert found(client, "sam", "transfer late") == ["transfers-1"]
    assert found(client, "sam", "hello") == ["cards-1", "transfers-1"]  # the bot's messages are searched too
    # every word must occur in the conversation, each in any of its messages
    assert found(client, "sam", "hello stolen") == ["cards-1"]
    assert found(client, "sam", "stolen transfer") == []
    assert found(client, "sam", "überweisung") == ["calm"]  # other scripts and cases
    assert found(client, "sam", "email") == ["transfers-1"]  # a redaction placeholder's name
    assert found(client, "sam", "nothing-like-this") == []


def test_search_keeps_visibility_and_combines_with_filters(client: TestClient, searchable: None) -> None:
    assert found(client, "alice", "hello") == ["cards-1"]  # her queue only
    assert found(client, "bob", "stolen") == []
    sam = bearer(client, "sam")
    page = client.get("/api/v1/conversations", params={"q": "hello", "queue": "transfers"}, headers=sam)
    assert [item["id"] for item in page.json()["items"]] == ["transfers-1"] and page.json()["total"] == 1
    flagged = client.get("/api/v1/conversations", params={"q": "überweisung", "flagged": "true"}, headers=sam)
    assert flagged.json()["items"] == []


@pytest.mark.parametrize(
    "query",
    [
        "'; DROP TABLE messages; --",
        'NEAR(card stolen) OR "x',
        "card* AND -refund ^ {col}:x",
        "' OR 1=1 --",
        "<script>alert(1)</script>",
    ],
)
def test_engine_syntax_and_sql_in_a_search_are_words(
    client: TestClient, searchable: None, query: str
) -> None:
    assert found(client, "sam", query) == []
    assert found(client, "sam", "stolen") == ["cards-1"]  # nothing was dropped


def test_a_search_without_words_or_too_long_is_a_clear_422(client: TestClient, searchable: None) -> None:
    sam = bearer(client, "sam")
    for query, says in (
        ("!!! ??", "at least one word"),
        (" ".join("abcdefghi"), "at most 8"),
        ("x" * 201, "200"),
    ):
        response = client.get("/api/v1/conversations", params={"q": query}, headers=sam)
        assert response.status_code == 422, query
        assert says in response.text, response.text
    blank = client.get("/api/v1/conversations", params={"q": "  "}, headers=sam)
    assert blank.status_code == 200 and blank.json()["total"] == 3  # an empty box: no search
    assert client.get("/api/v1/conversations", params={"q": "stolen"}).status_code == 401


def test_the_index_follows_edits_deletes_and_erasure(
    client: TestClient, searchable: None, factory: sessionmaker[Session]
) -> None:
    with session_scope(factory) as session:
        session.execute(update(Message).where(Message.text == "write to <EMAIL>").values(text="write soon"))
    assert found(client, "sam", "email") == [] and found(client, "sam", "soon") == ["transfers-1"]
    with session_scope(factory) as session:
        session.execute(delete(Message).where(Message.conversation_id == "calm"))
    assert found(client, "sam", "überweisung") == []
    with session_scope(factory) as session:
        clearline.remove(session, ["cards-1"], {"cards-1": "erased-1"})
    assert found(client, "sam", "stolen") == [] and found(client, "sam", "hello") == ["transfers-1"]
    with factory() as session:
        if session.get_bind().dialect.name == "sqlite":  # the words left the FTS5 index, not only the rows
            vocabulary = text("SELECT count(*) FROM messages_fts_v WHERE term = 'stolen'")
            session.execute(
                text("CREATE VIRTUAL TABLE temp.messages_fts_v USING fts5vocab(main, messages_fts, row)")
            )
            assert session.scalar(vocabulary) == 0
            assert session.scalar(text("SELECT count(*) FROM messages_fts_v WHERE term = 'hello'")) == 1
