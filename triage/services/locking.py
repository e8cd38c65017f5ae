"""Locks for the writers of conversation rows: scoring batches, the leader's routing, the api.

A conversation row carries a version (``Conversation.version``): a transaction that read the row before
another one committed a change to it matches no row at its UPDATE (``StaleDataError``) and rolls back.
A scoring batch must never be that transaction (issue #18), so it locks the rows it reads and every
other writer waits for it or passes the row by:

- PostgreSQL: the batch reads its conversations ``FOR UPDATE`` in id order (two batches, or a batch and
  an agent's requeue, which updates in primary-key order, take them in the same order and cannot
  deadlock). Routing locks the agents first, as an accept or a transfer does, and then only the queued
  conversations nobody holds (``SKIP LOCKED``): it never waits for a batch while it holds the agents, and
  a conversation held by a batch is routed at the next tick.
- SQLite has one writer at a time: both take the database's write lock before they read, so each reads
  what the other committed. The api, in another process, waits for it as for any write.

An api edit that reads a row without a lock and writes it after a batch committed still matches no row;
it is refused with ``StaleUpdate``, never the batch: the api runs it again on the fresh row when the
client named no version, and answers 409 ("reload and retry") otherwise (``api.unit_of_work``).
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.storage.db import Conversation, ConversationState


def hold_write_lock(session: Session) -> None:
    """On SQLite, take the database's write lock now (``BEGIN IMMEDIATE``, waiting up to the engine's
    busy timeout) so that what this transaction reads next stays as read until it commits. Nothing on
    PostgreSQL, whose locks are per row."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    driver = connection.connection.driver_connection
    # Python's sqlite3 opens a transaction only before a write, so one that is open already holds the lock
    if driver is not None and not driver.in_transaction:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def lock_conversations(session: Session, conversation_ids: Collection[str]) -> dict[str, Conversation]:
    """The stored ones of these conversations, locked until the transaction ends (see the module)."""
    if not conversation_ids:
        return {}
    hold_write_lock(session)
    query = (
        select(Conversation)
        .where(Conversation.id.in_(conversation_ids))
        .order_by(Conversation.id)
        .with_for_update()
        .execution_options(populate_existing=True)  # the locked row, not one this session read before
    )
    return {conversation.id: conversation for conversation in session.scalars(query)}


def lock_free_queued(session: Session) -> list[Conversation]:
    """The queued conversations that no other transaction holds, locked until this one ends; call it
    with the agents already locked (see the module)."""
    query = (
        select(Conversation)
        .where(Conversation.state == ConversationState.QUEUED)
        .order_by(Conversation.id)
        .with_for_update(skip_locked=True)
        .execution_options(populate_existing=True)
    )
    return list(session.scalars(query))
