"""The agent console's own records: internal notes on a conversation and canned replies per queue.

A note is never sent to the customer: it makes no outbox command and never reaches Rasa. Both are
audited; a note's audit record holds its id and length, never its text (that stays in one place, the
notes table, which erasure and retention clear with the conversation).
"""

from __future__ import annotations

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from triage import audit
from triage.audit import Actor
from triage.domain import canned
from triage.errors import InvalidTransition, ValidationError
from triage.storage.conversations import flush, get_conversation, require_owner_or_supervisor
from triage.storage.db import CannedReply, Conversation, ConversationNote, Message, Sender, User, utcnow

MAX_NOTE_CHARS = 4000


class CannedReplyNotFound(LookupError):
    """No canned reply with this id (api: 404)."""


class DuplicateCannedReply(InvalidTransition):
    """A canned reply with this title exists in this queue (api: 409)."""


def _text(text: object, what: str, limit: int) -> str:
    value = text.strip() if isinstance(text, str) else ""
    if not value:
        raise ValidationError(f"the {what} is empty")
    if len(value) > limit:
        raise ValidationError(f"the {what} is longer than {limit} characters")
    if "\x00" in value:
        raise ValidationError(f"the {what} holds a NUL character (binary data?)")
    return value


# -- notes -------------------------------------------------------------------------------------------


def add_note(session: Session, conversation_id: str, author: User, text: str) -> ConversationNote:
    """Store an internal note (redacted) by the conversation's agent or a supervisor; audited."""
    from triage.redaction import redact_with_spans  # presidio is only needed when people write

    value = _text(text, "note", MAX_NOTE_CHARS)
    conversation = get_conversation(session, conversation_id)
    actor = Actor.of(author)
    require_owner_or_supervisor(session, conversation, actor)
    redacted = redact_with_spans(value)
    now = utcnow()
    note = ConversationNote(
        conversation_id=conversation_id,
        author_id=author.id,
        text=redacted.text,
        redactions=[span.as_dict() for span in redacted.spans],
        created_at=now,
    )
    session.add(note)
    flush(session)
    audit.record(
        session,
        actor,
        "note",
        conversation_id=conversation_id,
        inputs={"chars": len(redacted.text), "redacted": len(redacted.spans)},
        outcome={"note_id": note.id},
        at=now,
    )
    return note


def notes_of(session: Session, conversation_id: str) -> list[tuple[ConversationNote, User]]:
    """A conversation's notes, oldest first, with their authors."""
    rows = session.execute(
        select(ConversationNote, User)
        .join(User, User.id == ConversationNote.author_id)
        .where(ConversationNote.conversation_id == conversation_id)
        .order_by(ConversationNote.id)
    )
    return [(note, user) for note, user in rows]


# -- canned replies ----------------------------------------------------------------------------------


def _check(title: str, body: str) -> tuple[str, str]:
    title = _text(title, "title", canned.MAX_TITLE_CHARS)
    body = _text(body, "reply", canned.MAX_BODY_CHARS)
    canned.check_body(body)
    return title, body


def _store(session: Session, reply: CannedReply) -> None:
    """Flush the reply; the unique index (one title per queue) turns a clash into a 409, also when two
    supervisors save the same title at once. The request's transaction is over then: nothing is kept."""
    where = f"queue {reply.queue!r}" if reply.queue else "every queue"
    duplicate = f"a canned reply titled {reply.title!r} exists for {where}"
    try:
        session.flush()
    except IntegrityError as exc:
        session.rollback()
        raise DuplicateCannedReply(duplicate) from exc


def get_canned(session: Session, reply_id: int) -> CannedReply:
    reply = session.get(CannedReply, reply_id)
    if reply is None:
        raise CannedReplyNotFound(f"canned reply {reply_id} not found")
    return reply


def create_canned(
    session: Session, *, queue: str | None, title: str, body: str, known_queues: list[str], by: User
) -> CannedReply:
    """A new canned reply (supervisors and admins: the route checks the role)."""
    title, body = _check(title, body)
    if queue is not None and queue not in known_queues:
        raise ValidationError(f"unknown queue {queue!r}; known: {', '.join(known_queues)}")
    now = utcnow()
    reply = CannedReply(queue=queue, title=title, body=body, created_by=by.id, created_at=now, updated_at=now)
    session.add(reply)
    _store(session, reply)
    audit.record(
        session,
        Actor.of(by),
        "canned_reply_create",
        inputs={"queue": queue, "title": title},
        outcome={"canned_reply_id": reply.id, "variables": canned.placeholders(body)},
        at=now,
    )
    return reply


def update_canned(
    session: Session,
    reply_id: int,
    *,
    title: str | None,
    body: str | None,
    queue: str | None,
    set_queue: bool,
    known_queues: list[str],
    by: User,
) -> CannedReply:
    """Change a canned reply's title, body or queue (``set_queue``: ``queue`` was given, None included)."""
    reply = get_canned(session, reply_id)
    new_title, new_body = _check(
        title if title is not None else reply.title, body if body is not None else reply.body
    )
    if set_queue and queue is not None and queue not in known_queues:
        raise ValidationError(f"unknown queue {queue!r}; known: {', '.join(known_queues)}")
    before = {"queue": reply.queue, "title": reply.title}
    reply.title, reply.body = new_title, new_body
    if set_queue:
        reply.queue = queue
    reply.updated_by, reply.updated_at = by.id, utcnow()
    _store(session, reply)
    audit.record(
        session,
        Actor.of(by),
        "canned_reply_update",
        inputs={"before": before},
        outcome={"canned_reply_id": reply.id, "queue": reply.queue, "title": reply.title},
    )
    return reply


def delete_canned(session: Session, reply_id: int, *, by: User) -> None:
    reply = get_canned(session, reply_id)
    audit.record(
        session,
        Actor.of(by),
        "canned_reply_delete",
        inputs={"queue": reply.queue, "title": reply.title},
        outcome={"canned_reply_id": reply.id},
    )
    session.delete(reply)
    session.flush()


def canned_for_queues(session: Session, queues: list[str] | None) -> list[CannedReply]:
    """Canned replies of these queues and those offered everywhere; ``None``: all of them."""
    stmt = select(CannedReply).order_by(func.coalesce(CannedReply.queue, ""), CannedReply.title)
    if queues is not None:
        stmt = stmt.where(or_(CannedReply.queue.is_(None), CannedReply.queue.in_(queues)))
    return list(session.scalars(stmt))


def fill_values(session: Session, conversation: Conversation, agent: User) -> dict[str, str | None]:
    """What the variables hold in this conversation for this agent, from what Clearline stores."""
    bot_texts = list(
        session.scalars(
            select(Message.text)
            .where(Message.conversation_id == conversation.id, Message.sender == Sender.BOT)
            .order_by(Message.id)
        )
    )
    return {
        "customer_name": None,  # not stored: the provider's records hold it, Clearline does not
        "card_ending": canned.card_ending(bot_texts),
        "agent_name": agent.display_name or agent.username,
    }


def set_display_name(session: Session, user_id: int, name: str, *, by: User | Actor) -> User:
    """Change the name customers see for an agent ("<name> from Northwind Pay joined"); audited."""
    value = _text(name, "display name", 128)
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise ValidationError("the display name holds control characters")
    user = session.get(User, user_id)
    if user is None:
        raise LookupError(f"user {user_id} not found")
    before, user.display_name = user.display_name, value
    actor = by if isinstance(by, Actor) else Actor.of(by)
    audit.record(
        session,
        actor,
        "display_name",
        inputs={"user_id": user.id, "before": before},
        outcome={"display_name": value},
    )
    session.flush()
    return user
