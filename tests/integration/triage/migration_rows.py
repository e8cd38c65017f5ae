"""Rows written with plain SQL at an older revision, for the migration tests (the models move on)."""

from __future__ import annotations

from sqlalchemy import Connection, text


def insert_conversation_and_message(conn: Connection, *, text_: str = "before", event_id: int = 7) -> None:
    """Conversation 'c1' in the bot's hands and one customer message of it, as any revision since 0005
    holds them."""
    conn.execute(
        text(
            "INSERT INTO conversations (id, state, customer_tier, fallback_count, human_requested,"
            " stress_trajectory, priority_overridden, version, started_at, last_message_at,"
            " sla_breached) VALUES ('c1', 'bot', 'standard', 0, false, '[]', false, 1,"
            " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, false)"
        )
    )
    conn.execute(
        text(
            "INSERT INTO messages (conversation_id, sender, text, source_event_id, flagged, created_at)"
            " VALUES ('c1', 'customer', :text, :id, false, CURRENT_TIMESTAMP)"
        ),
        {"text": text_, "id": event_id},
    )
