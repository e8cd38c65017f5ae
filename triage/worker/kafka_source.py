"""Rasa's events from Kafka: the worker's ``EventSource`` for Rasa's ``KafkaEventBroker`` with
``partition_by_sender: true`` (one conversation's events in one partition, in order).

The position is Clearline's, not Kafka's: the offset of each topic-partition is a ``consumer_offsets`` row
named ``kafka:<topic>:<partition>``, written in the batch's transaction with the rows it produced, and read
back when the consumer group assigns the partition (the consumer seeks there); nothing is committed to
Kafka (create the consumer with ``enable.auto.commit: false``). Events are also admitted by key like
RabbitMQ's (``triage.worker.receipts``): a re-publish by Rasa is skipped, a late event audited.

Written against ``KafkaConsumer``, the part of confluent-kafka's ``Consumer`` it uses; Clearline does not
depend on a Kafka client, and no Kafka server runs on its development and CI machines, so this source is
tested only against a fake consumer (tests/integration/triage/test_kafka_source.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import structlog
from prometheus_client import CollectorRegistry
from sqlalchemy import select
from sqlalchemy.orm import Session

from triage import rabbitmq_topology as topology
from triage.storage.db import ConsumerOffset, utcnow
from triage.worker.broker import BrokerEvent, parse_event_data
from triage.worker.receipts import KeyedAdmission, hold_off_erasure

log = structlog.get_logger("triage.worker.kafka")

OFFSET_BEGINNING = -2  # confluent_kafka.OFFSET_BEGINNING: a partition never read starts at its beginning
NAME_LENGTH = 64  # consumer_offsets.consumer


class KafkaPartition(Protocol):
    """confluent_kafka.TopicPartition: the source sets ``offset`` before assigning or seeking."""

    topic: str
    partition: int
    offset: int


class KafkaMessage(Protocol):
    def error(self) -> Any: ...
    def topic(self) -> str | None: ...
    def partition(self) -> int | None: ...
    def offset(self) -> int | None: ...
    def key(self) -> str | bytes | None: ...
    def value(self) -> str | bytes | None: ...


class KafkaConsumer(Protocol):
    """The part of confluent_kafka.Consumer this source uses."""

    def subscribe(
        self,
        topics: list[str],
        on_assign: Callable[[Any, list[Any]], None],
        on_revoke: Callable[[Any, list[Any]], None],
    ) -> None: ...
    def assign(self, partitions: list[Any]) -> None: ...
    def poll(self, timeout: float) -> KafkaMessage | None: ...
    def seek(self, partition: Any) -> None: ...
    def close(self) -> None: ...


def offset_name(topic: str, partition: int) -> str:
    """The ``consumer_offsets`` row of a topic-partition; a topic too long for the column is hashed."""
    name = f"kafka:{topic}:{partition}"
    if len(name) <= NAME_LENGTH:
        return name
    return f"kafka:{hashlib.sha256(topic.encode()).hexdigest()[:32]}:{partition}"


@dataclass(frozen=True)
class Polled:
    topic: str
    partition: int
    offset: int
    event: BrokerEvent


def polled_event(message: KafkaMessage) -> BrokerEvent:
    """Rasa's broker sends the event's JSON as the value and, with ``partition_by_sender``, the sender id
    as the key. The key of the event is computed from its body, as for a stock RabbitMQ publisher."""
    raw = message.value()
    data = parse_event_data(raw)
    sender = data.get("sender_id") if data is not None else None
    if not isinstance(sender, str):
        kafka_key = message.key()
        sender = kafka_key.decode("utf-8", "replace") if isinstance(kafka_key, bytes) else kafka_key or ""
    if data is not None:
        key = topology.event_key(data)
    else:
        body = raw.encode("utf-8", "replace") if isinstance(raw, str) else raw or b""
        key = hashlib.sha256(body).hexdigest()
    return BrokerEvent(topology.event_number(key), sender, data, key)


class KafkaEventSource:
    """An ``EventSource`` (``triage.worker.broker``) over a Kafka consumer group's partitions."""

    def __init__(
        self,
        consumer: KafkaConsumer,
        topics: list[str],
        *,
        pseudonym_key: str,
        poll_timeout_s: float = 0.05,
        registry: CollectorRegistry | None = None,
    ) -> None:
        self.consumer = consumer
        self.poll_timeout_s = poll_timeout_s
        self.admission = KeyedAdmission(pseudonym_key, registry)
        self._assigned: dict[tuple[str, int], Any] = {}
        self._polled: list[Polled] = []  # the batch in flight, skipped messages included
        self._session: Session | None = None
        consumer.subscribe(topics, on_assign=self._on_assign, on_revoke=self._on_revoke)

    # -- the consumer group's callbacks (run inside ``poll``, so inside ``fetch``'s transaction) ------
    def _on_assign(self, consumer: Any, partitions: list[Any]) -> None:
        stored = self._stored(self._session, [(p.topic, p.partition) for p in partitions])
        for partition in partitions:
            done = stored.get((partition.topic, partition.partition))
            partition.offset = OFFSET_BEGINNING if done is None else done + 1
            self._assigned[(partition.topic, partition.partition)] = partition
        consumer.assign(partitions)
        log.info("kafka_assigned", partitions=[offset_name(p.topic, p.partition) for p in partitions])

    def _on_revoke(self, _consumer: Any, partitions: list[Any]) -> None:
        for partition in partitions:
            self._assigned.pop((partition.topic, partition.partition), None)

    def _stored(
        self, session: Session | None, pairs: Sequence[tuple[str, int]], lock: bool = False
    ) -> dict[tuple[str, int], int]:
        if session is None:
            raise RuntimeError("the Kafka consumer is polled outside a batch")
        names = {offset_name(topic, partition): (topic, partition) for topic, partition in pairs}
        query = select(ConsumerOffset).where(ConsumerOffset.consumer.in_(names))
        rows = session.scalars(query.with_for_update() if lock else query)
        return {names[row.consumer]: row.last_event_id for row in rows}

    # -- EventSource -------------------------------------------------------------------------------
    def fetch(self, session: Session, limit: int) -> list[BrokerEvent]:
        self._session = session
        polled = self._poll(limit)
        if not polled:
            return []
        hold_off_erasure(session)
        # another member of the group may have had these partitions during a rebalance: what its
        # committed offset covers is done (the rows are locked until this batch ends)
        done = self._stored(session, list({(p.topic, p.partition) for p in polled}), lock=True)
        fresh = [p for p in polled if p.offset > done.get((p.topic, p.partition), -1)]
        self._polled = polled
        admitted = self.admission.admit(session, [p.event for p in fresh])
        if not admitted.events:  # nothing to process: the position still moves, with this transaction
            self._store_offsets(session)
        return admitted.events

    def _poll(self, limit: int) -> list[Polled]:
        polled: list[Polled] = []
        while len(polled) < limit:
            message = self.consumer.poll(self.poll_timeout_s if not polled else 0)
            if message is None:
                break
            if message.error():  # e.g. the end of a partition: nothing to process
                log.info("kafka_poll_error", error=str(message.error()))
                continue
            topic, partition, offset = message.topic(), message.partition(), message.offset()
            if topic is None or partition is None or offset is None:
                continue
            polled.append(Polled(topic, partition, offset, polled_event(message)))
        return polled

    def _store_offsets(self, session: Session) -> None:
        newest: dict[tuple[str, int], int] = {}
        for p in self._polled:
            newest[(p.topic, p.partition)] = max(p.offset, newest.get((p.topic, p.partition), -1))
        for (topic, partition), offset in newest.items():
            name = offset_name(topic, partition)
            row = session.get(ConsumerOffset, name)
            if row is None:
                session.add(ConsumerOffset(consumer=name, last_event_id=offset, updated_at=utcnow()))
            elif offset > row.last_event_id:
                row.last_event_id, row.updated_at = offset, utcnow()

    def record(self, session: Session, events: list[BrokerEvent]) -> None:
        self.admission.record(session, events)
        self._store_offsets(session)

    def settle(self, events: list[BrokerEvent]) -> None:
        """Nothing to acknowledge: the committed offsets are the position."""
        self._polled, self._session = [], None

    def release(self, events: list[BrokerEvent]) -> None:
        """Seek each partition back to the batch's first message: the next poll reads it again."""
        first: dict[tuple[str, int], int] = {}
        for p in self._polled:
            first[(p.topic, p.partition)] = min(p.offset, first.get((p.topic, p.partition), p.offset))
        self._polled, self._session = [], None
        for pair, offset in first.items():
            partition = self._assigned.get(pair)
            if partition is None:  # revoked meanwhile: its next owner starts from the stored offset
                continue
            partition.offset = offset
            self.consumer.seek(partition)

    def count_present(self, events: Sequence[BrokerEvent]) -> int:
        """Kafka keeps every event until its retention: an event counts as gone when its conversation was
        erased after it was published (read in the batch's transaction)."""
        if self._session is None:
            raise RuntimeError("count_present is asked about a batch: call fetch first")
        return self.admission.count_present(self._session, events)

    def waiting(self, session: Session) -> int:
        """Not measured: the lag needs each partition's high watermark from the brokers (a round trip per
        partition, every second from housekeeping). 0."""
        return 0

    def close(self) -> None:
        self.consumer.close()
