"""Full-text search over the stored (already redacted) transcripts: PostgreSQL full-text search on a GIN
index, SQLite FTS5 kept in step by triggers (both made by migration 0013).

A search is a few words and "quoted phrases", all of which must occur in one conversation's messages
(each in some message; a phrase's words together and in order); every word also matches as a prefix
("refund" finds "refunds"). The text is split into words here, once, and each database gets a query
built only from those words, so no operator or quote a user types ever reaches either engine's syntax.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import ColumnElement, and_, bindparam, column, func, literal_column, select, text
from sqlalchemy.orm import InstrumentedAttribute, Session

from triage.storage.db import Conversation, Message

MAX_QUERY_CHARS = 200
MAX_TERMS = 8
# PostgreSQL's text search configuration: 'simple' lower-cases and keeps every word (no stemming, no stop
# words), as FTS5's unicode61 tokenizer does, so both databases find the same conversations (with the
# text's punctuation made spaces first: _pg_words)
PG_CONFIG: ColumnElement[str] = literal_column("'simple'::regconfig")

_QUOTED_OR_WORD = re.compile(r'"([^"]*)"|([^\s"]+)')
_WORD = re.compile(r"[^\W_]+")  # letters and digits of any script; punctuation separates words


class SearchError(ValueError):
    """A search the api refuses (422): no word in it, or too long."""


@dataclass(frozen=True)
class Search:
    """Terms that must all match; a term is one word or a phrase of several, in order."""

    terms: tuple[tuple[str, ...], ...]

    @classmethod
    def parse(cls, query: str) -> Search:
        if len(query) > MAX_QUERY_CHARS:
            raise SearchError(f"a search is at most {MAX_QUERY_CHARS} characters")
        terms: list[tuple[str, ...]] = []
        for phrase, word in _QUOTED_OR_WORD.findall(query):
            words = tuple(_WORD.findall((phrase or word).lower()))
            if words and words not in terms:
                terms.append(words)
        if not terms:
            raise SearchError("a search needs at least one word (letters or digits)")
        if len(terms) > MAX_TERMS:
            raise SearchError(f"a search has at most {MAX_TERMS} words or phrases")
        return cls(tuple(terms))

    def fts5(self) -> str:
        """FTS5's MATCH expression: each term a quoted string (its last word a prefix), all of them."""
        return " AND ".join('"' + " ".join(words) + '"*' for words in self.terms)

    def tsquery(self) -> str:
        """PostgreSQL's to_tsquery text: words as quoted lexemes, a phrase's joined by <->."""
        phrases = [" <-> ".join(f"'{w}'" for w in words) + ":*" for words in self.terms]
        return " & ".join(f"({p})" for p in phrases)


def conversations_matching(session: Session, search: Search) -> ColumnElement[bool]:
    """A condition on Conversation: every term occurs in one of its messages."""
    dialect = session.get_bind().dialect.name
    conditions = [_has_message_matching(dialect, Search((term,))) for term in search.terms]
    return and_(*conditions)


def _pg_words(column: ColumnElement[str] | InstrumentedAttribute[str]) -> ColumnElement[str]:
    """The text with every run of non-letters and non-digits made one space, as the index is built (the
    same expression, inline, or the planner does not use it): PostgreSQL's parser would otherwise drop
    "<EMAIL>" as a tag and keep "12.50" as one word, where FTS5 and the search's words see "email",
    "12" and "50"."""
    return func.regexp_replace(
        column, literal_column("'[^[:alnum:]]+'"), literal_column("' '"), literal_column("'g'")
    )


def _has_message_matching(dialect: str, search: Search) -> ColumnElement[bool]:
    if dialect == "postgresql":
        matches = func.to_tsvector(PG_CONFIG, _pg_words(Message.text)).bool_op("@@")(
            func.to_tsquery(PG_CONFIG, search.tsquery())
        )
        return Conversation.id.in_(select(Message.conversation_id).where(matches))
    if dialect == "sqlite":
        hits = (
            text("SELECT rowid FROM messages_fts WHERE messages_fts MATCH :match")
            .bindparams(bindparam("match", search.fts5(), unique=True))  # one per term in a statement
            .columns(column("rowid"))
            .subquery()
        )
        in_hits = Message.id.in_(select(hits.c.rowid))
        return Conversation.id.in_(select(Message.conversation_id).where(in_hits))
    raise SearchError(f"full-text search is not available on {dialect}")


def compact_after_delete(session: Session) -> None:
    """SQLite: rewrite the FTS5 index without the rows just deleted. FTS5 records a delete as a marker in a
    new segment and drops the old words only when segments merge; erasure calls this so an erased
    conversation's words leave the index now (PostgreSQL's GIN index drops them with the row, at vacuum
    like the row itself)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    index = text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'messages_fts'")
    if session.execute(index).first() is not None:
        session.execute(text("INSERT INTO messages_fts(messages_fts) VALUES ('optimize')"))
