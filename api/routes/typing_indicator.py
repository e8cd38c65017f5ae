"""The typing indicator, both ways (issue #20): the agent's console says when the customer is typing, the
customer's web chat says when the agent is. Signals live in the database (every api process sees them)
and expire on their own; the rules are ``triage.domain.typing_indicator``'s. No text is sent or kept."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, Response, status
from pydantic import BaseModel, ConfigDict, StrictBool
from sqlalchemy import select

from api.deps import CurrentUser, SessionDep
from api.queries import visible_to
from api.ratelimit import credential_key, limiter, typing_limit
from api.routes.chat import held_chat
from api.routes.conversations import ConversationId, not_found
from triage.domain import typing_indicator as rules
from triage.services import typing_indicator as signals
from triage.storage.conversations import is_supervisor
from triage.storage.db import Conversation, ConversationState, User, utcnow

router = APIRouter()


class TypingIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    # true while typing (the pages repeat it at most every 2.5 s); false once the message is sent or the
    # box is emptied. Never the text.
    typing: StrictBool


class CustomerTyping(BaseModel):
    customer_typing: bool


class AgentTyping(BaseModel):
    agent_typing: bool
    agent: str | None  # the typist's display name, as on their replies


def _state_of(session: SessionDep, user: User, conversation_id: str) -> tuple[ConversationState, int | None]:
    # the state and agent only, not the transcript: the console reads this every two seconds
    row = session.execute(
        select(Conversation.state, Conversation.assigned_agent_id).where(
            Conversation.id == conversation_id, visible_to(user)
        )
    ).first()
    if row is None:
        raise not_found(conversation_id)
    return row.state, row.assigned_agent_id


@router.post(
    "/conversations/{conversation_id}/typing",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    tags=["console"],
)
@limiter.limit(typing_limit, key_func=credential_key)
def staff_typing(
    request: Request, conversation_id: ConversationId, body: TypingIn, user: CurrentUser, session: SessionDep
) -> Response:
    """Say that you are typing a reply (the customer's chat shows "<your name> is typing…" for a few
    seconds), or that you stopped. The conversation's assigned agent, or a supervisor or admin, while an
    agent is on it: 404 if you may not see it, 403 if it is not yours, 409 if no agent is on it."""
    state, agent_id = _state_of(session, user, conversation_id)
    rules.check_agent_may_signal(state, agent_id, user.id, supervising=is_supervisor(user))
    if body.typing:
        signals.record(session, conversation_id, rules.AGENT, user.id, utcnow())
    else:
        signals.clear(session, conversation_id, rules.AGENT)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/conversations/{conversation_id}/typing", response_model=CustomerTyping, tags=["console"])
def customer_typing(
    conversation_id: ConversationId, user: CurrentUser, session: SessionDep
) -> CustomerTyping:
    """Whether the customer is typing now (anyone who may see the conversation; 404 otherwise)."""
    state, _agent = _state_of(session, user, conversation_id)
    now = utcnow()
    signal = signals.live(session, conversation_id, rules.CUSTOMER, now)
    until = signal.until if signal else None
    return CustomerTyping(customer_typing=rules.customer_typing_shown(state, until, now))


@router.post("/chat/typing", status_code=status.HTTP_204_NO_CONTENT, response_class=Response, tags=["chat"])
@limiter.limit(typing_limit, key_func=credential_key)
def chat_typing(
    request: Request,
    body: TypingIn,
    session: SessionDep,
    x_clearline_chat: Annotated[str | None, Header()] = None,
) -> Response:
    """The customer is typing in this browser's chat (or stopped). Recorded only while the conversation
    waits for or has an agent; otherwise ignored (still 204). The chat cookie names the conversation;
    the X-Clearline-Chat: 1 header is required, as for a new chat (no other site can send it)."""
    if x_clearline_chat != "1":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "send the X-Clearline-Chat: 1 header")
    chat_id = held_chat(request)
    conversation = session.get(Conversation, chat_id)
    if conversation is None or not rules.customer_may_signal(conversation.state):
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    if body.typing:
        signals.record(session, chat_id, rules.CUSTOMER, None, utcnow())
    else:
        signals.clear(session, chat_id, rules.CUSTOMER)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/chat/typing", response_model=AgentTyping, tags=["chat"])
def agent_typing(request: Request, session: SessionDep) -> AgentTyping:
    """Whether a person is typing a reply in this browser's chat now, and their display name."""
    chat_id = held_chat(request)
    conversation = session.get(Conversation, chat_id)
    now = utcnow()
    signal = signals.live(session, chat_id, rules.AGENT, now) if conversation is not None else None
    if conversation is None or signal is None:
        return AgentTyping(agent_typing=False, agent=None)
    if not rules.agent_typing_shown(conversation.state, signal.until, now):
        return AgentTyping(agent_typing=False, agent=None)
    typist = session.get(User, signal.user_id) if signal.user_id is not None else None
    return AgentTyping(agent_typing=True, agent=(typist.display_name or typist.username) if typist else None)
