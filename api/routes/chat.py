"""The customer's own chat: its transcript and hand-off state after a reload, and a new chat. Read with
the signed chat cookie only (api/chat_identity.py); no staff login, no other conversation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, HTTPException, Request, Response, status
from pydantic import BaseModel
from sqlalchemy import func, select

from api.chat_identity import hold_chat_id, new_chat_id, read_chat_id
from api.deps import SessionDep
from triage.storage.db import Conversation, ConversationState, Message, Sender, User

router = APIRouter(prefix="/chat", tags=["chat"])
MAX_MESSAGES = 200  # the newest; a longer chat shows its end


class ChatMessage(BaseModel):
    sender: Literal["me", "bot", "agent"]
    text: str  # as stored: redacted; ``redactions`` says where the placeholders are
    redactions: list[dict[str, object]]
    agent_name: str | None = None
    at: datetime


class ChatHistory(BaseModel):
    session_id: str
    state: Literal["bot", "waiting", "with_agent"]
    agent_name: str | None
    messages: list[ChatMessage]


class NewChat(BaseModel):
    session_id: str


SENDERS: dict[Sender, Literal["me", "bot", "agent"]] = {
    Sender.CUSTOMER: "me",
    Sender.BOT: "bot",
    Sender.AGENT: "agent",
}


def held_chat(request: Request) -> str:
    chat_id = read_chat_id(request)
    if chat_id is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "no chat in this browser: open /chat")
    return chat_id


@router.get("/history", response_model=ChatHistory)
def history(request: Request, session: SessionDep) -> ChatHistory:
    """This browser's conversation as stored (the customer's own words are shown redacted), and whether
    the customer waits for a person, talks to one (by display name) or to the assistant."""
    chat_id = held_chat(request)
    conversation = session.get(Conversation, chat_id)
    state: Literal["bot", "waiting", "with_agent"] = "bot"
    agent_name = None
    if conversation is not None and conversation.state == ConversationState.QUEUED:
        state = "waiting"
    elif conversation is not None and conversation.state == ConversationState.ASSIGNED:
        state = "with_agent"
        agent = session.get(User, conversation.assigned_agent_id) if conversation.assigned_agent_id else None
        agent_name = (agent.display_name or agent.username) if agent else None
    when = func.coalesce(Message.event_at, Message.created_at)
    newest = (
        select(Message, User.display_name, User.username)
        .outerjoin(User, User.id == Message.agent_id)
        .where(Message.conversation_id == chat_id, Message.sender.in_(list(SENDERS)))
        .order_by(when.desc(), Message.id.desc())
        .limit(MAX_MESSAGES)
    )
    messages = [
        ChatMessage(
            sender=SENDERS[message.sender],
            text=message.text,
            redactions=list(message.redactions or []),
            agent_name=(display or username) if message.sender == Sender.AGENT else None,
            at=message.event_at or message.created_at,
        )
        for message, display, username in reversed(session.execute(newest).all())
    ]
    return ChatHistory(session_id=chat_id, state=state, agent_name=agent_name, messages=messages)


@router.post("/new", response_model=NewChat)
def new_chat(
    request: Request,
    response: Response,
    x_clearline_chat: Annotated[str | None, Header()] = None,
) -> NewChat:
    """Start over: this browser holds a new chat id from now on (the old conversation stays stored)."""
    # a custom header: a form on another site cannot send one, so it cannot reset a customer's chat
    if x_clearline_chat != "1":
        raise HTTPException(status.HTTP_403_FORBIDDEN, "send the X-Clearline-Chat: 1 header")
    chat_id = new_chat_id()
    hold_chat_id(request, response, chat_id)
    return NewChat(session_id=chat_id)
