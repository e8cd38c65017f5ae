"""Conversations: the filtered list, the detail with transcript and explanations, the audit trail."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status

from api.deps import CurrentUser, SessionDep
from api.queries import ConversationFilter, audit_trail, can_see, find_visible, list_conversations, summarise
from api.schemas import AuditOut, ConversationDetail, ConversationPage, EscalationOut, MessageOut
from triage.audit import Actor
from triage.privacy import record_transcript_view
from triage.registry.active import active_policy
from triage.storage.conversations import as_utc
from triage.storage.db import AuditRecord, ConversationState, Message
from triage.storage.search import MAX_QUERY_CHARS, Search, SearchError

router = APIRouter(prefix="/conversations", tags=["conversations"])

ConversationId = Annotated[str, Path(min_length=1, max_length=255)]


def not_found(conversation_id: str) -> HTTPException:
    # The same answer for "does not exist" and "not yours", so ids cannot be probed.
    return HTTPException(status.HTTP_404_NOT_FOUND, f"conversation {conversation_id!r} not found")


@router.get("", response_model=ConversationPage)
def list_(
    user: CurrentUser,
    session: SessionDep,
    since: datetime | None = None,
    until: datetime | None = None,
    queue: Annotated[str | None, Query(max_length=64)] = None,
    state: ConversationState | None = None,
    priority_min: Annotated[int | None, Query(ge=0, le=100)] = None,
    priority_band: Annotated[str | None, Query(max_length=16)] = None,
    stress_min: Annotated[float | None, Query(ge=0, le=1)] = None,
    feedback: Literal["none", "correct", "wrong"] | None = None,
    flagged: bool | None = None,
    mine: bool = False,
    q: Annotated[str | None, Query(max_length=MAX_QUERY_CHARS)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> ConversationPage:
    """Conversations this user may see, most urgent first, with filters.

    ``q``: words and "quoted phrases" that must all occur in the conversation's stored (redacted)
    messages; each word also matches as a prefix. Full-text search on PostgreSQL and on SQLite (FTS5).
    """
    try:
        search = Search.parse(q) if q is not None and q.strip() else None
    except SearchError as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    filters = ConversationFilter(
        # in UTC, as stored: SQLite compares the text of a timestamp, so an offset would be ignored there
        since=as_utc(since).astimezone(UTC) if since else None,
        until=as_utc(until).astimezone(UTC) if until else None,
        queue=queue,
        state=state,
        priority_min=priority_min,
        priority_band=priority_band,
        stress_min=stress_min,
        feedback=feedback,
        flagged=flagged,
        assigned_to_me=mine,
        search=search,
    )
    items, total = list_conversations(session, user, filters, limit=limit, offset=offset)
    return ConversationPage(items=items, total=total)


def message_out(message: Message, stress_reliable: bool) -> MessageOut:
    return MessageOut.model_validate(message).model_copy(update={"stress_reliable": stress_reliable})


@router.get("/{conversation_id}", response_model=ConversationDetail)
def detail(conversation_id: ConversationId, user: CurrentUser, session: SessionDep) -> ConversationDetail:
    """Transcript (PII redacted), stress trajectory, escalations with factors and explanations (audited)."""
    conv = find_visible(session, user, conversation_id)
    if conv is None:
        raise not_found(conversation_id)
    latest = conv.escalations[-1] if conv.escalations else None
    summary = summarise(conv, latest, None, conv.assigned_agent.username if conv.assigned_agent else None)
    policy = active_policy(session)
    answer = ConversationDetail(
        **summary.model_dump(),
        customer_tier=conv.customer_tier,
        fallback_count=conv.fallback_count,
        human_requested=conv.human_requested,
        stress_trajectory=conv.stress_trajectory or [],
        stress_counts_from=policy.config.factors.stress.min,
        stress_languages=policy.config.factors.stress.languages,
        started_at=conv.started_at,
        assigned_at=conv.assigned_at,
        resolved_at=conv.resolved_at,
        messages=[message_out(m, policy.stress_reliable(m.language)) for m in conv.messages],
        escalations=[EscalationOut.model_validate(e) for e in conv.escalations],
    )
    # who opened it, once per viewer in ten minutes; no record, no transcript (a failure is a 500)
    record_transcript_view(session, conv.id, Actor.of(user))
    session.commit()
    return answer


@router.get("/{conversation_id}/audit", response_model=list[AuditOut])
def audit(
    conversation_id: ConversationId,
    user: CurrentUser,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> list[AuditRecord]:
    """Every automated decision and human action on this conversation, oldest first."""
    if not can_see(session, user, conversation_id):
        raise not_found(conversation_id)
    return audit_trail(session, conversation_id, limit=limit)
