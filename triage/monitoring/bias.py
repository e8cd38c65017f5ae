"""Bias audit from the stored conversations: counts per segment for ``triage.domain.bias``.

- Flag rate: the window's scored customer messages, by the conversation's tier and channel, the message's
  language, its length and its hour (UTC).
- Escalation rate: the conversations started in the window, by tier, channel, the conversation's language
  and the hour it started; precision: the window's escalations with a verdict, by the same, with the hour
  of the escalation. Length is a message's property: only the flag rate has it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from triage.domain.bias import BiasThresholds, SegmentCounts, audit, hour_band, length_band
from triage.settings import CoreSettings
from triage.storage.conversations import as_utc
from triage.storage.db import Conversation, Escalation, Message, Sender

Segments = dict[str, dict[str, SegmentCounts]]


def thresholds_from(settings: CoreSettings) -> BiasThresholds:
    return BiasThresholds(ratio=settings.bias_ratio, min_segment=settings.bias_min_segment)


def _name(value: Any) -> str:
    return str(value) if value else "unknown"


def _segment(segments: Segments, dimension: str, name: str) -> SegmentCounts:
    return segments[dimension].setdefault(name, SegmentCounts())


def segment_counts(session: Session, since: datetime, until: datetime) -> tuple[SegmentCounts, Segments]:
    overall = SegmentCounts()
    segments: Segments = defaultdict(dict)
    messages = session.execute(
        select(
            Message.text,
            Message.flagged,
            Message.language,
            Message.created_at,
            Conversation.customer_tier,
            Conversation.channel,
        )
        .join(Conversation, Conversation.id == Message.conversation_id)
        .where(
            Message.sender == Sender.CUSTOMER,
            Message.stress.is_not(None),
            Message.created_at >= since,
            Message.created_at < until,
        )
    )
    for text, flagged, language, created_at, tier, channel in messages:
        names = {
            "tier": _name(tier),
            "channel": _name(channel),
            "language": _name(language),
            "length": length_band(text or ""),
            "hour": hour_band(as_utc(created_at).hour),
        }
        for counts in (overall, *(_segment(segments, d, n) for d, n in names.items())):
            counts.messages += 1
            counts.flagged += int(bool(flagged))
    conversations = session.execute(
        select(
            Conversation.customer_tier,
            Conversation.channel,
            Conversation.language,
            Conversation.started_at,
            Conversation.escalated_at,
        ).where(Conversation.started_at >= since, Conversation.started_at < until)
    )
    for tier, channel, language, started_at, escalated_at in conversations:
        names = {
            "tier": _name(tier),
            "channel": _name(channel),
            "language": _name(language),
            "hour": hour_band(as_utc(started_at).hour),
        }
        for counts in (overall, *(_segment(segments, d, n) for d, n in names.items())):
            counts.conversations += 1
            counts.escalated += int(escalated_at is not None)
    verdicts = session.execute(
        select(
            Escalation.created_at,
            Escalation.unflagged,
            Escalation.feedback_state,
            Conversation.customer_tier,
            Conversation.channel,
            Conversation.language,
        )
        .join(Conversation, Conversation.id == Escalation.conversation_id)
        .where(
            Escalation.created_at >= since,
            Escalation.created_at < until,
            (Escalation.unflagged.is_(True)) | (Escalation.feedback_state.is_not(None)),
        )
    )
    for created_at, unflagged, feedback, tier, channel, language in verdicts:
        names = {
            "tier": _name(tier),
            "channel": _name(channel),
            "language": _name(language),
            "hour": hour_band(as_utc(created_at).hour),
        }
        right = int(not unflagged and feedback == "correct")  # the latest verdict; an unflag is "wrong"
        for counts in (overall, *(_segment(segments, d, n) for d, n in names.items())):
            counts.judged += 1
            counts.judged_right += right
    return overall, segments


def bias_report(
    session: Session, since: datetime, until: datetime, thresholds: BiasThresholds
) -> dict[str, Any]:
    """What ``clearline bias --json`` prints and the dashboard's panel draws."""
    overall, segments = segment_counts(session, since, until)
    report = audit(overall, segments, thresholds).as_dict()
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "thresholds": thresholds.__dict__,
        **report,
    }
