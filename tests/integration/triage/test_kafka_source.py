"""The Kafka event source through the real worker and a real SQLite database, against a fake consumer:
no Kafka server can run on these machines (Debian and PyPI have clients only), so the consumer group is
this test's stand-in for confluent-kafka's ``Consumer`` (assign on subscribe, poll, seek)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from tests.unit.triage.fakes import FakeScorer
from triage.benchmarks.rasa_events import user_event
from triage.redaction import redact_with_spans
from triage.storage.db import ConsumerOffset, EventReceipt, Message
from triage.worker.kafka_source import OFFSET_BEGINNING, KafkaEventSource
from triage.worker.loop import Worker, WorkerOptions

TOPIC = "rasa_events"


@dataclass
class FakePartition:  # confluent_kafka.TopicPartition
    topic: str
    partition: int
    offset: int = -1001


@dataclass
class FakeMessage:
    _topic: str
    _partition: int
    _offset: int
    _key: bytes
    _value: bytes

    def error(self) -> None:
        return None

    def topic(self) -> str:
        return self._topic

    def partition(self) -> int:
        return self._partition

    def offset(self) -> int:
        return self._offset

    def key(self) -> bytes:
        return self._key

    def value(self) -> bytes:
        return self._value


class FakeLog:
    """A topic's partitions, appended to as Rasa's KafkaEventBroker does with partition_by_sender."""

    def __init__(self, partitions: int = 2) -> None:
        self.partitions: list[list[FakeMessage]] = [[] for _ in range(partitions)]

    def publish(self, sender_id: str, event: dict[str, Any]) -> None:
        index = sum(sender_id.encode()) % len(self.partitions)
        body = json.dumps({**event, "sender_id": sender_id}).encode()
        own = self.partitions[index]
        own.append(FakeMessage(TOPIC, index, len(own), sender_id.encode(), body))


class FakeConsumer:
    """One member of the group that gets every partition on its first poll."""

    def __init__(self, log: FakeLog, from_start: bool = False) -> None:
        """``from_start``: start every partition at 0 whatever offset the source assigns."""
        self.log = log
        self.from_start = from_start
        self.positions: dict[int, int] = {}
        self.on_assign: Any = None
        self.closed = False

    def subscribe(self, topics: list[str], on_assign: Any, on_revoke: Any) -> None:
        assert topics == [TOPIC]
        self.on_assign = on_assign

    def assign(self, partitions: list[FakePartition]) -> None:
        for p in partitions:
            self.positions[p.partition] = 0 if p.offset == OFFSET_BEGINNING or self.from_start else p.offset

    def seek(self, partition: FakePartition) -> None:
        self.positions[partition.partition] = partition.offset

    def poll(self, timeout: float) -> FakeMessage | None:
        if self.on_assign is not None:  # the group's assignment arrives inside a poll
            assign, self.on_assign = self.on_assign, None
            assign(self, [FakePartition(TOPIC, index) for index in range(len(self.log.partitions))])
        for index, position in sorted(self.positions.items()):
            if position < len(self.log.partitions[index]):
                self.positions[index] = position + 1
                return self.log.partitions[index][position]
        return None

    def close(self) -> None:
        self.closed = True


def worker_for(factory, log: FakeLog, policy, scorer=None, consumer: FakeConsumer | None = None) -> Worker:
    source = KafkaEventSource(consumer or FakeConsumer(log), [TOPIC], pseudonym_key="k", poll_timeout_s=0)
    return Worker(factory, source, scorer or FakeScorer(), policy, redact_with_spans, options=WorkerOptions())


def run_until_idle(worker: Worker) -> None:
    for _ in range(50):
        if worker.process_next_batch() is None:
            return
    raise AssertionError("the worker never caught up")


def texts(factory) -> list[str]:
    with factory() as session:
        return list(session.scalars(select(Message.text).order_by(Message.id)))


def offsets(factory) -> dict[str, int]:
    with factory() as session:
        return {row.consumer: row.last_event_id for row in session.scalars(select(ConsumerOffset))}


def test_offsets_commit_with_the_rows_and_a_restarted_consumer_seeks_past_them(session_factory, policy):
    log = FakeLog()
    for index in range(6):
        log.publish(f"c{index % 3}", user_event(f"turn {index}", timestamp=1000.0 + index))
    run_until_idle(worker_for(session_factory, log, policy))
    assert sorted(texts(session_factory)) == sorted(f"turn {index}" for index in range(6))
    assert offsets(session_factory) == {
        f"kafka:{TOPIC}:{index}": len(log.partitions[index]) - 1
        for index in range(2)
        if log.partitions[index]
    }
    log.publish("c0", user_event("after the restart", timestamp=3000.0))
    restarted = worker_for(session_factory, log, policy)  # a new consumer: Kafka committed nothing
    run_until_idle(restarted)
    assert len(texts(session_factory)) == 7 and texts(session_factory)[-1] == "after the restart"


class FailsOnce(FakeScorer):
    def __init__(self) -> None:
        super().__init__()
        self.failed = False

    def score(self, texts):
        if not self.failed:
            self.failed = True
            raise RuntimeError("scoring failed mid-batch")
        return super().score(texts)


def test_a_rolled_back_batch_is_read_again_from_its_first_offset(session_factory, policy):
    log = FakeLog(partitions=1)
    for index in range(4):
        log.publish("c1", user_event(f"turn {index}", timestamp=1000.0 + index))
    worker = worker_for(session_factory, log, policy, FailsOnce())
    try:
        worker.process_next_batch()
        raise AssertionError("the batch should have failed")
    except RuntimeError:
        pass
    assert texts(session_factory) == [] and offsets(session_factory) == {}
    run_until_idle(worker)
    assert texts(session_factory) == [f"turn {index}" for index in range(4)]


def test_a_republished_event_is_skipped_and_the_offset_still_moves(session_factory, policy):
    log = FakeLog(partitions=1)
    event = user_event("where is my card", timestamp=1000.0)
    log.publish("c1", event)
    worker = worker_for(session_factory, log, policy)
    run_until_idle(worker)
    log.publish("c1", event)  # Rasa re-sent it: a new offset, the same key
    run_until_idle(worker)
    assert texts(session_factory) == ["where is my card"]
    assert offsets(session_factory) == {f"kafka:{TOPIC}:0": 1}  # moved with the skipped batch
    with session_factory() as session:
        assert session.scalar(select(func.count()).select_from(EventReceipt)) == 1
    assert worker.source.admission.duplicates_total._value.get() == 1


def test_messages_at_or_below_the_stored_offset_are_not_processed_again(session_factory, policy):
    """After a rebalance the previous owner may have committed further than this consumer's position."""
    log = FakeLog(partitions=1)
    for index in range(3):
        log.publish("c1", user_event(f"turn {index}", timestamp=1000.0 + index))
    run_until_idle(worker_for(session_factory, log, policy))
    # as a consumer that read the offsets before the partition's previous owner committed
    lagging = worker_for(session_factory, log, policy, consumer=FakeConsumer(log, from_start=True))
    run_until_idle(lagging)
    assert texts(session_factory) == [f"turn {index}" for index in range(3)]
    assert lagging.source.admission.duplicates_total._value.get() == 0  # dropped by offset, not by key
