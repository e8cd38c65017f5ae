"""Tables of the agent's and supervisor's workplace added for issue #20 (migrations 0019-0021): customer
satisfaction ratings, verdicts on suggested next actions and typing signals.

Kept apart from ``triage.storage.db`` (the conversation core) so neither module grows past one job; they
share its ``Base``, and ``triage.storage.db`` imports this module so one import registers every table.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from triage.storage.db import Base, utcnow


class CsatRating(Base):
    """A customer's 1-5 rating (migration 0019). ``escalation_id`` is the resolved hand-off it rates, None
    for a conversation the bot handled alone; ``agent_id`` and ``queue`` are the hand-off's as it was
    resolved, kept with the rating so a later transfer does not move it in the figures."""

    __tablename__ = "csat_ratings"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"))
    rating: Mapped[int] = mapped_column(Integer)
    escalated: Mapped[bool] = mapped_column(Boolean)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    queue: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_csat_ratings_escalation_id", "escalation_id"),)


class SuggestionVerdict(Base):
    """An agent's acceptance or dismissal of a suggested next action (migration 0020), with the reasons it
    was shown with: kept as feedback on the suggestion rules."""

    __tablename__ = "suggestion_verdicts"
    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    # what was suggested, stable across page loads, e.g. "open_refund:R-1001"
    suggestion_key: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64))
    verdict: Mapped[str] = mapped_column(String(16))  # accepted | dismissed
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    comment: Mapped[str | None] = mapped_column(Text)  # redacted (migration 0022)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class TypingSignal(Base):
    """Who is typing in a conversation, until when (migration 0021): one row per conversation and party
    (``customer`` or ``agent``), overwritten while they type. Shared through the database so every api
    process sees it; no text is kept."""

    __tablename__ = "typing_signals"
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), primary_key=True)
    party: Mapped[str] = mapped_column(String(16), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    until: Mapped[datetime] = mapped_column()
