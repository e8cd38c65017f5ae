"""The agent console's notes and canned replies (issue #20): internal notes on a conversation, never sent
to the customer, and canned replies per queue with variables, managed by supervisors and admins."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from api.deps import AdminUser, CurrentUser, SessionDep, SupervisorUser
from api.queries import find_visible
from api.routes.actions import load_for_action
from api.routes.conversations import ConversationId, not_found
from triage.domain import canned
from triage.registry.active import active_policy
from triage.services import console
from triage.storage.conversations import as_utc, is_supervisor
from triage.storage.db import CannedReply, ConversationNote, User

router = APIRouter(tags=["console"])

_NO_NUL = r"^[^\x00]*$"  # NUL bytes: binary junk, and PostgreSQL's text columns refuse them
NoteText = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=console.MAX_NOTE_CHARS, pattern=_NO_NUL
    ),
]
Title = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=canned.MAX_TITLE_CHARS, pattern=_NO_NUL
    ),
]
Body = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=canned.MAX_BODY_CHARS, pattern=_NO_NUL),
]
Queue = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
ReplyId = Annotated[int, Path(ge=1, le=2**31 - 1)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NoteIn(_Strict):
    text: NoteText
    expected_version: int | None = Field(default=None, ge=1)


class NoteOut(BaseModel):
    id: int
    conversation_id: str
    text: str  # redacted
    redactions: list[dict[str, object]]
    author_id: int
    author_name: str
    created_at: datetime


class CannedIn(_Strict):
    title: Title
    body: Body
    queue: Queue | None = None  # none: offered in every queue


class CannedPatch(_Strict):
    title: Title | None = None
    body: Body | None = None
    queue: Queue | None = None


class CannedOut(BaseModel):
    id: int
    queue: str | None
    title: str
    body: str
    variables: list[str]
    updated_at: datetime


class FilledOut(CannedOut):
    text: str  # the body filled for this conversation and agent
    unfilled: list[str]  # variables left as {{name}} for the agent to fill


class VariableOut(BaseModel):
    name: str
    meaning: str


def _note_out(note: ConversationNote, author: User) -> NoteOut:
    return NoteOut(
        id=note.id,
        conversation_id=note.conversation_id,
        text=note.text,
        redactions=list(note.redactions or []),
        author_id=author.id,
        author_name=author.display_name or author.username,
        created_at=as_utc(note.created_at),
    )


def _canned_out(reply: CannedReply) -> CannedOut:
    return CannedOut(
        id=reply.id,
        queue=reply.queue,
        title=reply.title,
        body=reply.body,
        variables=canned.placeholders(reply.body),
        updated_at=as_utc(reply.updated_at),
    )


def _queues(session: SessionDep) -> list[str]:
    return list(active_policy(session).config.queue_names)


def _found(reply_id: int, session: SessionDep) -> None:
    try:
        console.get_canned(session, reply_id)
    except console.CannedReplyNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


# -- notes -------------------------------------------------------------------------------------------


@router.get("/conversations/{conversation_id}/notes", response_model=list[NoteOut])
def list_notes(conversation_id: ConversationId, user: CurrentUser, session: SessionDep) -> list[NoteOut]:
    """The conversation's internal notes, oldest first (whoever may see the conversation)."""
    if find_visible(session, user, conversation_id) is None:
        raise not_found(conversation_id)
    return [_note_out(note, author) for note, author in console.notes_of(session, conversation_id)]


@router.post(
    "/conversations/{conversation_id}/notes", response_model=NoteOut, status_code=status.HTTP_201_CREATED
)
def add_note(
    conversation_id: ConversationId, body: NoteIn, user: CurrentUser, session: SessionDep
) -> NoteOut:
    """Add an internal note (its agent, supervisors, admins): never sent to the customer; stored redacted
    and audited."""
    load_for_action(session, user, conversation_id, body.expected_version)
    note = console.add_note(session, conversation_id, user, body.text)
    session.commit()
    return _note_out(note, user)


# -- canned replies ----------------------------------------------------------------------------------


@router.get("/canned-replies/variables", response_model=list[VariableOut])
def variables(_user: CurrentUser) -> list[VariableOut]:
    """The variables a canned reply may use, as {{name}}."""
    return [VariableOut(name=name, meaning=meaning) for name, meaning in canned.VARIABLES.items()]


@router.get("/canned-replies", response_model=list[CannedOut])
def list_canned(
    user: CurrentUser, session: SessionDep, queue: Annotated[Queue | None, Query()] = None
) -> list[CannedOut]:
    """Canned replies: an agent's queues' and those for every queue; supervisors see all (``queue``
    narrows to one queue and those for every queue)."""
    if queue is not None:
        queues: list[str] | None = [queue]
    else:
        queues = None if is_supervisor(user) else [str(s) for s in user.skills or []]
    return [_canned_out(r) for r in console.canned_for_queues(session, queues)]


@router.post("/canned-replies", response_model=CannedOut, status_code=status.HTTP_201_CREATED)
def create_canned(body: CannedIn, user: SupervisorUser, session: SessionDep) -> CannedOut:
    """Add a canned reply (supervisors, admins); an unknown {{variable}} is refused (422); audited."""
    reply = console.create_canned(
        session, queue=body.queue, title=body.title, body=body.body, known_queues=_queues(session), by=user
    )
    session.commit()
    return _canned_out(reply)


@router.patch("/canned-replies/{reply_id}", response_model=CannedOut)
def update_canned(
    reply_id: ReplyId, body: CannedPatch, user: SupervisorUser, session: SessionDep
) -> CannedOut:
    """Change a canned reply's title, body or queue (supervisors, admins; ``"queue": null``: every
    queue); audited."""
    _found(reply_id, session)
    reply = console.update_canned(
        session,
        reply_id,
        title=body.title,
        body=body.body,
        queue=body.queue,
        set_queue="queue" in body.model_fields_set,
        known_queues=_queues(session),
        by=user,
    )
    session.commit()
    return _canned_out(reply)


@router.delete("/canned-replies/{reply_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_canned(reply_id: ReplyId, user: SupervisorUser, session: SessionDep) -> Response:
    """Remove a canned reply (supervisors, admins); audited."""
    _found(reply_id, session)
    console.delete_canned(session, reply_id, by=user)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/conversations/{conversation_id}/canned-replies", response_model=list[FilledOut])
def canned_for_conversation(
    conversation_id: ConversationId, user: CurrentUser, session: SessionDep
) -> list[FilledOut]:
    """The canned replies of the conversation's queue (and every queue's), filled for this conversation
    and the caller; a variable with no value stays as {{name}} for the agent to fill."""
    conv = find_visible(session, user, conversation_id)
    if conv is None:
        raise not_found(conversation_id)
    values = console.fill_values(session, conv, user)
    answer = []
    for reply in console.canned_for_queues(session, [conv.queue or "general"]):
        filled = canned.fill(reply.body, values)
        answer.append(
            FilledOut(**_canned_out(reply).model_dump(), text=filled.text, unfilled=list(filled.unfilled))
        )
    return answer


# -- agents' display names ---------------------------------------------------------------------------


DisplayName = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]*$"),
]


class DisplayNameIn(_Strict):
    display_name: DisplayName


class DisplayNameOut(BaseModel):
    id: int
    username: str
    display_name: str


@router.put("/users/{user_id}/display-name", response_model=DisplayNameOut, tags=["users"])
def set_display_name(
    user_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: DisplayNameIn,
    admin: AdminUser,
    session: SessionDep,
) -> DisplayNameOut:
    """Set a user's display name (admins): customers see it when the agent joins and on each reply;
    audited."""
    try:
        user = console.set_display_name(session, user_id, body.display_name, by=admin)
    except LookupError as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    session.commit()
    return DisplayNameOut(id=user.id, username=user.username, display_name=user.display_name)
