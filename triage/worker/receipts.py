"""What a message broker's event source (RabbitMQ, Kafka) keeps in Clearline's database: the keys of the
events it processed (``event_receipts``), committed in the batch's transaction.

A delivered batch is admitted here before the worker processes it: an event whose key was processed
before (a redelivery, or a re-publish by Rasa's broker after a reconnect) or that is twice in the batch is
skipped; an event of an erased conversation is skipped (a queue keeps what an erasure cannot delete); an
event older than the newest one seen for its conversation is recorded in the audit as
``event_out_of_order`` and still applied, because dropping a customer's words would be worse than scoring
them late.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import delete, func, insert, select, text
from sqlalchemy.orm import Session

from triage import audit
from triage.privacy import clearline as privacy_store
from triage.privacy.rules import pseudonym
from triage.storage.db import EventReceipt, Message, utcnow
from triage.worker.broker import BrokerEvent

OUT_OF_ORDER = "event_out_of_order"
# receipts are kept this long: a redelivery later than that is recognised by the stored message's
# ``source_event_id`` alone (see ``KeyedAdmission.admit``)
RECEIPT_DAYS = 7
PURGE_EVERY = timedelta(hours=1)
# The lock a keyed batch shares with every other worker's batch and an erasure takes alone
# (``triage.privacy.clearline.hold_off_worker``), on PostgreSQL: a batch never commits a conversation's
# events while its erasure is in flight, and an erasure waits for batches that read before it.
ERASURE_LOCK = privacy_store.ERASURE_LOCK


def event_time(data: dict[str, Any] | None) -> datetime | None:
    """Rasa's timestamp of the event (seconds since the epoch), None when it has none."""
    stamp = data.get("timestamp") if data else None
    if isinstance(stamp, int | float) and not isinstance(stamp, bool):
        try:
            return datetime.fromtimestamp(stamp, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    return None


def hold_off_erasure(session: Session) -> None:
    """Share the erasure lock until the batch's transaction ends (PostgreSQL; SQLite's single writer
    serialises the batch and the erasure already)."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(f"SELECT pg_advisory_xact_lock_shared{privacy_store.ERASURE_LOCK_SQL}"),
            {"space": ERASURE_LOCK},
        )


@dataclass
class Admitted:
    """A delivered batch after ``KeyedAdmission.admit``."""

    events: list[BrokerEvent] = field(default_factory=list)  # to process, in delivery order
    duplicates: int = 0  # processed before, or twice in the batch
    erased: int = 0  # of a conversation erased after they were published
    out_of_order: int = 0  # admitted, and recorded in the audit


class KeyedAdmission:
    """The receipts' side of a keyed event source: admit a batch, record it, check erasures again."""

    def __init__(self, pseudonym_key: str, registry: CollectorRegistry | None = None) -> None:
        """``pseudonym_key``: the key the privacy service names erased conversations with
        (``CoreSettings.secret_key``); ``registry``: where the counters go (the worker's metrics)."""
        self.pseudonym_key = pseudonym_key
        registry = registry or CollectorRegistry()
        self.out_of_order_total = Counter(
            "clearline_events_out_of_order",
            "Broker events older than the newest one seen for their conversation (applied, audited)",
            registry=registry,
        )
        self.duplicates_total = Counter(
            "clearline_events_duplicate", "Broker events skipped as already processed", registry=registry
        )
        self.erased_total = Counter(
            "clearline_events_erased", "Broker events skipped: of an erased conversation", registry=registry
        )
        self._purged_at: datetime | None = None

    def admit(self, session: Session, events: Sequence[BrokerEvent]) -> Admitted:
        admitted = Admitted()
        if not events:
            return admitted
        events = in_conversation_order(events)
        seen = self._processed(session, events)
        erased = self.erased(session, events)
        last = self._newest(session, {e.sender_id for e in events})
        for event in events:
            if event.key in seen:
                admitted.duplicates += 1
                continue
            if event.key in erased:
                admitted.erased += 1
                continue
            seen.add(event.key)
            at = event_time(event.data)
            newest = last.get(event.sender_id)
            if at is not None and newest is not None and at < newest:
                self._flag(session, event, at, newest)
                admitted.out_of_order += 1
            if at is not None and (newest is None or at > newest):
                last[event.sender_id] = at
            admitted.events.append(event)
        self.duplicates_total.inc(admitted.duplicates)
        self.erased_total.inc(admitted.erased)
        return admitted

    def record(self, session: Session, events: Sequence[BrokerEvent]) -> None:
        """Insert the batch's receipts (and, once an hour, delete those past ``RECEIPT_DAYS``)."""
        now = utcnow()
        rows = [
            {"key": e.key, "sender_id": e.sender_id, "event_at": event_time(e.data), "received_at": now}
            for e in events
            if e.key is not None
        ]
        if rows:
            session.execute(insert(EventReceipt), rows)
        if self._purged_at is None or now - self._purged_at >= PURGE_EVERY:
            purge_receipts(session, now - timedelta(days=RECEIPT_DAYS))
            self._purged_at = now

    def count_present(self, session: Session, events: Sequence[BrokerEvent]) -> int:
        """How many of the events are not of a conversation erased since they were published."""
        return len(events) - len(self.erased(session, events))

    def erased(self, session: Session, events: Sequence[BrokerEvent]) -> set[str | None]:
        """The keys of the events that an erasure recorded after them covers: the privacy service names an
        erased conversation by its pseudonym in the audit trail (``erase``), and every event that Rasa
        stamped before that erasure is gone from every other store. An event without a timestamp counts
        as erased: nothing says it came later."""
        names = {e.sender_id: pseudonym(self.pseudonym_key, e.sender_id) for e in events}
        erased_at = privacy_store.erasure_times(session, sorted(set(names.values())))
        found: set[str | None] = set()
        for event in events:
            at = erased_at.get(names[event.sender_id])
            if at is None:
                continue
            stamp = event_time(event.data)
            if stamp is None or stamp <= at:
                found.add(event.key)
        return found

    def _processed(self, session: Session, events: Sequence[BrokerEvent]) -> set[str | None]:
        """Keys with a receipt, and keys of events already stored as a message (a redelivery after the
        receipt was purged)."""
        keys = {e.key for e in events if e.key is not None}
        found: set[str | None] = set(
            session.scalars(select(EventReceipt.key).where(EventReceipt.key.in_(keys)))
        )
        by_id = {e.id: e.key for e in events}
        stored = session.scalars(select(Message.source_event_id).where(Message.source_event_id.in_(by_id)))
        found.update(by_id[i] for i in stored if i is not None)
        return found

    def _newest(self, session: Session, senders: set[str]) -> dict[str, datetime]:
        rows = session.execute(
            select(EventReceipt.sender_id, func.max(EventReceipt.event_at))
            .where(EventReceipt.sender_id.in_(senders))
            .group_by(EventReceipt.sender_id)
        ).all()
        return {sender: _utc(at) for sender, at in rows if at is not None}

    def _flag(self, session: Session, event: BrokerEvent, at: datetime, newest: datetime) -> None:
        self.out_of_order_total.inc()
        audit.record(
            session,
            audit.WORKER,
            OUT_OF_ORDER,
            conversation_id=event.sender_id,
            inputs={
                "source_event_id": event.id,
                "event_type": event.type,
                "event_at": at.isoformat(),
                "newest_event_at": newest.isoformat(),
            },
            outcome={"applied": True},
        )


def in_conversation_order(events: Sequence[BrokerEvent]) -> list[BrokerEvent]:
    """The batch with each conversation's events in the order of their timestamps, each conversation
    keeping the places its events were delivered in. A broker may hand back a dead consumer's deliveries
    in another order than it first sent them (RabbitMQ's quorum queues do, measured by the scale-out
    test); within one batch that is undone here, across batches it is flagged as out of order. A
    conversation with an event that has no timestamp keeps its delivered order."""
    places: dict[str, list[int]] = {}
    for index, event in enumerate(events):
        places.setdefault(event.sender_id, []).append(index)
    ordered = list(events)
    for indexes in places.values():
        own = [events[i] for i in indexes]
        stamps = [event_time(e.data) for e in own]
        if len(own) < 2 or any(stamp is None for stamp in stamps):
            continue
        by_time = [e for _, _, e in sorted(zip(stamps, range(len(own)), own, strict=True))]
        for index, event in zip(indexes, by_time, strict=True):
            ordered[index] = event
    return ordered


def _utc(value: datetime) -> datetime:
    """SQLite gives naive datetimes back."""
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def purge_receipts(session: Session, before: datetime) -> int:
    """Delete the receipts received before ``before``; returns how many."""
    result = session.execute(delete(EventReceipt).where(EventReceipt.received_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
