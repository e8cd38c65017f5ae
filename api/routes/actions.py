"""Actions on a conversation: accept, reply, transfer, resolve, and the supervisor's overrides."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Annotated, TypeVar

from fastapi import APIRouter, BackgroundTasks, Body, HTTPException, Request, status
from sqlalchemy.orm import Session

from api.deps import AgentUser, CurrentUser, SessionDep, SupervisorUser
from api.queries import find_visible, summarise
from api.relay import act_and_relay
from api.routes.conversations import ConversationId, not_found
from api.schemas import (
    ConversationSummary,
    MessageOut,
    PriorityIn,
    ReassignIn,
    ReplyIn,
    ResolveIn,
    TransferIn,
    Versioned,
)
from triage import services
from triage.audit import Actor
from triage.errors import StaleUpdate
from triage.storage.conversations import require_owner_or_supervisor
from triage.storage.db import Conversation, ConversationState, User

router = APIRouter(prefix="/conversations", tags=["actions"])

T = TypeVar("T")


def load_for_action(
    session: Session,
    user: User,
    conversation_id: str,
    expected_version: int | None,
    *,
    claimable: bool = False,
) -> Conversation:
    """The conversation if this user may see it and act on it, then checked against the version the
    client last saw. In that order: a 409 names the version, so only someone who may act gets one.

    ``claimable``: an agent may act on a conversation nobody holds (accept, or reply, which the state
    machine refuses with its own 409 until it is accepted); otherwise only its agent or a supervisor.
    """
    conv = find_visible(session, user, conversation_id)
    if conv is None:
        raise not_found(conversation_id)
    if not (claimable and conv.assigned_agent_id is None):
        require_owner_or_supervisor(session, conv, Actor.of(user))
    if expected_version is not None and conv.version != expected_version:
        raise StaleUpdate(
            f"conversation {conversation_id!r} changed (version {conv.version}, you saw {expected_version}); "
            "reload and try again"
        )
    # Keep this snapshot in the identity map for the whole request: the service then updates the row
    # we checked, and the version column turns any commit made in between into a 409 at flush.
    session.info.setdefault("pinned", []).append(conv)
    return conv


def act_on(
    session: Session,
    request: Request,
    background: BackgroundTasks,
    user: User,
    conversation_id: str,
    expected_version: int | None,
    action: Callable[[], T],
    *,
    claimable: bool = False,
) -> T:
    """``load_for_action``, then ``action``, committed as one unit of work (run again on a row another
    writer changed meanwhile when no version was named: ``api.unit_of_work``) and relayed to Rasa."""

    def work() -> T:
        load_for_action(session, user, conversation_id, expected_version, claimable=claimable)
        return action()

    return act_and_relay(session, request, background, work, expected_version=expected_version)


def _summary(session: Session, conv: Conversation) -> ConversationSummary:
    # by id, not through the relationship: that may still hold the agent from before the action
    agent = session.get(User, conv.assigned_agent_id) if conv.assigned_agent_id is not None else None
    latest = conv.escalations[-1] if conv.escalations else None
    return summarise(conv, latest, None, agent.username if agent else None)


OptionalVersion = Annotated[Versioned | None, Body()]


@router.post("/{conversation_id}/accept", response_model=ConversationSummary)
def accept(
    conversation_id: ConversationId,
    agent: AgentUser,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
    body: OptionalVersion = None,
) -> ConversationSummary:
    """Take a waiting conversation from one of your queues (or confirm one routed to you)."""
    expected = body.expected_version if body else None
    conv = act_on(
        session,
        request,
        background,
        agent,
        conversation_id,
        expected,
        partial(services.accept, session, conversation_id, agent),
        claimable=True,
    )
    return _summary(session, conv)


@router.post("/{conversation_id}/reply", response_model=MessageOut, status_code=status.HTTP_201_CREATED)
def reply(
    conversation_id: ConversationId,
    body: ReplyIn,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> MessageOut:
    """Send a message to the customer (stored redacted; delivered through Rasa to their channel)."""

    message = act_on(
        session,
        request,
        background,
        user,
        conversation_id,
        body.expected_version,
        partial(services.agent_reply, session, conversation_id, user, body.text),
        claimable=True,
    )
    return MessageOut.model_validate(message)


@router.post("/{conversation_id}/transfer", response_model=ConversationSummary)
def transfer(
    conversation_id: ConversationId,
    body: TransferIn,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> ConversationSummary:
    """Move the conversation to another queue or agent, with a reason."""

    move = partial(
        services.transfer,
        session,
        conversation_id,
        actor=Actor.of(user),
        to_queue=body.to_queue,
        to_agent_id=body.to_agent_id,
        reason=body.reason,
    )
    conv = act_on(session, request, background, user, conversation_id, body.expected_version, move)
    return _summary(session, conv)


@router.post("/{conversation_id}/resolve", response_model=ConversationSummary)
def resolve(
    conversation_id: ConversationId,
    user: CurrentUser,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
    body: Annotated[ResolveIn | None, Body()] = None,
) -> ConversationSummary:
    """End the hand-off; the assistant answers the customer again (a reason if no agent answered).
    ``closing_message``: sent first, as this user's reply, in the same transaction."""

    def work() -> Conversation:
        if body is not None and body.closing_message is not None:
            conv = session.get_one(Conversation, conversation_id)
            if conv.state != ConversationState.ASSIGNED:  # a reply needs an agent on the conversation
                raise HTTPException(
                    status.HTTP_422_UNPROCESSABLE_CONTENT,
                    "a closing message needs the conversation assigned to someone: accept it first, or "
                    "resolve with a reason",
                )
            services.agent_reply(session, conversation_id, user, body.closing_message)
        return services.resolve(
            session, conversation_id, actor=Actor.of(user), reason=body.reason if body else None
        )

    expected = body.expected_version if body else None
    conv = act_on(session, request, background, user, conversation_id, expected, work)
    return _summary(session, conv)


@router.post("/{conversation_id}/priority", response_model=ConversationSummary)
def set_priority(
    conversation_id: ConversationId,
    body: PriorityIn,
    user: SupervisorUser,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> ConversationSummary:
    """Override the priority (supervisors; a reason is required and audited)."""

    change = partial(
        services.set_priority,
        session,
        conversation_id,
        priority=body.priority,
        reason=body.reason,
        actor=Actor.of(user),
    )
    conv = act_on(session, request, background, user, conversation_id, body.expected_version, change)
    return _summary(session, conv)


@router.post("/{conversation_id}/reassign", response_model=ConversationSummary)
def reassign(
    conversation_id: ConversationId,
    body: ReassignIn,
    user: SupervisorUser,
    session: SessionDep,
    request: Request,
    background: BackgroundTasks,
) -> ConversationSummary:
    """Give the conversation to another agent (supervisors; a reason is required and audited)."""

    give = partial(
        services.transfer,
        session,
        conversation_id,
        actor=Actor.of(user),
        to_agent_id=body.to_agent_id,
        reason=body.reason,
        over_capacity_reason=body.over_capacity_reason,
    )
    conv = act_on(session, request, background, user, conversation_id, body.expected_version, give)
    return _summary(session, conv)
