"""The worker reading Rasa's events from real RabbitMQ partition queues, storing into SQLite and
PostgreSQL (fake scorer): each event applied once through duplicates, rollbacks and dropped connections;
late events audited; bad bodies skipped; an erased conversation's queued events never stored."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pika
import pytest
from prometheus_client import generate_latest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from tests.postgres import temporary_schema
from tests.unit.triage.fakes import FakeScorer
from triage import audit
from triage import rabbitmq_topology as topology
from triage.benchmarks.rasa_events import bot_event, slot_event, user_event
from triage.domain.policy import Policy
from triage.privacy import Stores, erase
from triage.privacy.rasa import RasaStore
from triage.rabbitmq_topology import event_number
from triage.redaction import redact_with_spans
from triage.settings import CoreSettings
from triage.storage.db import (
    AuditRecord,
    Conversation,
    EventReceipt,
    Message,
    make_engine,
    make_session_factory,
)
from triage.storage.migrate import upgrade
from triage.worker.broker import SqlEventSource
from triage.worker.loop import Worker, WorkerOptions
from triage.worker.rabbitmq_source import RabbitMQEventSource
from triage.worker.receipts import OUT_OF_ORDER
from triage.worker.runner import build_worker

from .rabbitmq_queues import URL, Publisher, QueueTopology, close_from_server, declared_topology

SECRET = "test-pseudonym-key"
ROOT = audit.Actor("user", "root", None)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, sessionmaker[Session]]]:
    def built(url: str) -> Iterator[tuple[str, sessionmaker[Session]]]:
        upgrade(url)
        engine = make_engine(url)
        yield url, make_session_factory(engine)
        engine.dispose()

    if request.param == "sqlite":
        yield from built(f"sqlite:///{tmp_path / 'clearline.db'}")
    else:
        with temporary_schema("rmq") as url:
            yield from built(url)


@pytest.fixture
def queues() -> Iterator[QueueTopology]:
    with declared_topology(partitions=3) as made:
        yield made


@pytest.fixture
def publish(queues: QueueTopology) -> Iterator[Publisher]:
    publisher = Publisher(queues)
    yield publisher
    publisher.close()


@pytest.fixture
def source(queues: QueueTopology) -> Iterator[RabbitMQEventSource]:
    built = RabbitMQEventSource(
        queues.url,
        queues.partitions,
        pseudonym_key=SECRET,
        queue_prefix=queues.queue_prefix,
        backoff_s=(0.05, 0.2),
    )
    yield built
    built.close()


def worker_for(
    factory: sessionmaker[Session], source: RabbitMQEventSource, policy: Policy, scorer=None
) -> Worker:
    return Worker(factory, source, scorer or FakeScorer(), policy, redact_with_spans, options=WorkerOptions())


def drain(worker: Worker, until: Callable[[], bool], seconds: float = 20.0) -> None:
    """Run batches until ``until()`` holds and the queues are empty (or fail after ``seconds``)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        worker.process_next_batch()
        if until():
            with worker.session_factory() as session:
                if worker.source.waiting(session) == 0 and not worker.source._buffer:
                    return
    raise AssertionError("the queues did not drain")


def stored(factory: sessionmaker[Session]) -> list[tuple[str, str]]:
    with factory() as session:
        return [
            tuple(row)
            for row in session.execute(select(Message.conversation_id, Message.text).order_by(Message.id))
        ]


def count(factory: sessionmaker[Session], model) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def test_events_of_every_partition_are_stored_once_and_acknowledged(database, publish, source, policy):
    url, factory = database
    keys = []
    for index in range(12):
        keys.append(publish.event(f"c{index % 4}", user_event(f"message {index}", timestamp=1000.0 + index)))
    keys.append(publish.event("c0", bot_event("It is on its way.", timestamp=2000.0)))
    keys.append(publish.event("c0", slot_event("customer_tier", "premium", timestamp=2001.0)))
    worker = worker_for(factory, source, policy)
    drain(worker, lambda: count(factory, EventReceipt) == 14)
    messages = stored(factory)
    assert len(messages) == 13
    for conversation in ("c0", "c1", "c2", "c3"):  # each conversation in its publishing order
        own = [text for c, text in messages if c == conversation and text.startswith("message")]
        assert own == sorted(own, key=lambda t: int(t.split()[1]))
    with factory() as session:
        assert session.get(Conversation, "c0").customer_tier == "premium"
        ids = set(session.scalars(select(Message.source_event_id)))
        assert ids == {event_number(k) for k in keys[:13]}  # 53-bit numbers, on PostgreSQL too
        assert set(session.scalars(select(EventReceipt.key))) == set(keys)
    assert worker.process_next_batch() is None  # acknowledged: nothing comes back


def test_a_duplicate_publish_is_skipped_in_the_batch_and_after_it(database, publish, source, policy):
    _, factory = database
    event = user_event("where is my card", timestamp=1000.0)
    publish.event("c1", event)
    publish.event("c1", event)  # Rasa's broker re-sends after a reconnect
    worker = worker_for(factory, source, policy)
    drain(worker, lambda: count(factory, EventReceipt) == 1)
    publish.event("c1", event)  # later again, and as a stock publisher (no id: the same key)
    publish.event("c1", event, stock=True)
    drain(worker, lambda: source.admission.duplicates_total._value.get() == 3)
    assert stored(factory) == [("c1", "where is my card")]


class FailsOnce(FakeScorer):
    def __init__(self, on_score: Callable[[], None] | None = None, fail: bool = True) -> None:
        super().__init__()
        self.on_score, self.fail = on_score, fail

    def score(self, texts):
        if self.on_score is not None:
            hook, self.on_score = self.on_score, None
            hook()
        if self.fail:
            self.fail = False
            raise RuntimeError("scoring failed mid-batch")
        return super().score(texts)


def test_a_batch_rolled_back_mid_way_is_redelivered_and_stored_once(database, publish, source, policy):
    _, factory = database
    for index in range(5):
        publish.event("c1", user_event(f"turn {index}", timestamp=1000.0 + index))
    worker = worker_for(factory, source, policy, FailsOnce())
    deadline = time.monotonic() + 10
    with pytest.raises(RuntimeError, match="mid-batch"):
        while time.monotonic() < deadline:
            worker.process_next_batch()
    assert count(factory, Message) == 0 and count(factory, EventReceipt) == 0
    drain(worker, lambda: count(factory, Message) == 5)
    assert stored(factory) == [("c1", f"turn {index}") for index in range(5)]  # in order after requeue


def test_a_connection_closed_by_the_server_mid_batch_recovers_without_repeats(
    database, publish, source, policy
):
    """The batch commits, its acks fail on the dead channel (no crash), RabbitMQ redelivers the events and
    their receipts skip them; the source connects again and goes on."""
    _, factory = database
    for index in range(4):
        publish.event(f"c{index}", user_event(f"before {index}", timestamp=1000.0 + index))
    scorer = FailsOnce(on_score=lambda: close_from_server(source._connection), fail=False)
    worker = worker_for(factory, source, policy, scorer)
    duplicates = source.admission.duplicates_total._value
    # the redelivered, committed events come back on the new connection and are skipped
    drain(worker, lambda: count(factory, Message) == 4 and source.reconnects == 1 and duplicates.get() >= 1)
    for index in range(4):
        publish.event(f"c{index}", user_event(f"after {index}", timestamp=2000.0 + index))
    close_from_server(source._connection)  # idle this time
    drain(worker, lambda: count(factory, Message) == 8)
    assert sorted(t for _, t in stored(factory)) == sorted(
        [f"before {i}" for i in range(4)] + [f"after {i}" for i in range(4)]
    )


def test_an_event_older_than_the_newest_seen_is_audited_and_applied(database, publish, source, policy):
    _, factory = database
    publish.event("c1", user_event("second", timestamp=2000.0))
    worker = worker_for(factory, source, policy)
    drain(worker, lambda: count(factory, Message) == 1)
    publish.event("c1", user_event("first, published late", timestamp=1000.0))
    publish.event("c2", user_event("other conversation", timestamp=500.0))  # its own order
    drain(worker, lambda: count(factory, Message) == 3)
    with factory() as session:
        flagged = session.scalars(select(AuditRecord).where(AuditRecord.action == OUT_OF_ORDER)).all()
    assert [(r.conversation_id, r.outcome) for r in flagged] == [("c1", {"applied": True})]
    assert flagged[0].inputs["event_at"] < flagged[0].inputs["newest_event_at"]
    assert source.admission.out_of_order_total._value.get() == 1
    assert ("c1", "first, published late") in stored(factory)


def test_a_body_that_is_not_json_is_acknowledged_and_skipped(database, publish, source, policy):
    _, factory = database
    properties = pika.BasicProperties(delivery_mode=2, headers={"sender_id": "c1"})
    publish.raw(b"{not json", properties)
    publish.raw(b"[1, 2]", properties)
    publish.event("c1", user_event("after the broken ones", timestamp=1000.0))
    worker = worker_for(factory, source, policy)
    drain(worker, lambda: count(factory, Message) == 1)
    assert count(factory, EventReceipt) == 3
    assert worker.process_next_batch() is None


def stores_without_rasa(factory: sessionmaker[Session], url: str, folder: Path) -> Stores:
    """The privacy service's stores when Rasa publishes to RabbitMQ: its SQL stores hold nothing."""
    tracker = RasaStore("rasa_tracker", f"sqlite:///{folder / 'none_tracker.db'}")
    broker = RasaStore("rasa_broker", f"sqlite:///{folder / 'none_broker.db'}")
    return Stores(factory, url, tracker, broker, SECRET)


def test_an_erased_conversations_queued_events_are_not_stored(database, publish, source, policy, tmp_path):
    url, factory = database
    worker = worker_for(factory, source, policy)
    publish.event("c1", user_event("my card number is 4111 1111 1111 1111", timestamp=time.time() - 60))
    drain(worker, lambda: count(factory, Message) == 1)
    stores = stores_without_rasa(factory, url, tmp_path)
    queued_before = user_event("still queued when the erasure ran", timestamp=time.time() - 1)
    result = erase(stores, ["c1"], reason="request", actor=ROOT)
    assert result[0].counts["clearline"]["event_receipts"] == 1
    publish.event("c1", queued_before)  # delivered after the erasure, published (stamped) before it
    publish.event("c2", user_event("someone else", timestamp=time.time()))
    drain(worker, lambda: count(factory, Message) == 1 and source.admission.erased_total._value.get() == 1)
    assert stored(factory) == [("c2", "someone else")]
    publish.event("c1", user_event("back a day later", timestamp=time.time() + 1))  # a new conversation
    drain(worker, lambda: count(factory, Message) == 2)
    assert ("c1", "back a day later") in stored(factory)


def test_the_worker_reads_rabbitmq_when_the_settings_say_so(tmp_path):
    url = f"sqlite:///{tmp_path / 'clearline.db'}"
    upgrade(url)
    settings = CoreSettings(
        database_url=url, event_source="rabbitmq", rabbitmq_url=URL, rabbitmq_partitions=5, demo=True
    )
    worker = build_worker(settings, FakeScorer())
    try:
        assert isinstance(worker.source, RabbitMQEventSource)
        assert worker.source.queues == topology.queue_names(5)
        assert "clearline_events_out_of_order" in generate_latest(worker.metrics.registry).decode()
        sql = build_worker(CoreSettings(database_url=url, demo=True), FakeScorer())
        assert isinstance(sql.source, SqlEventSource)  # the default
    finally:
        worker.source.close()


@pytest.mark.postgres
def test_on_postgres_an_erasure_waits_for_the_batch_in_flight(publish, source, policy, tmp_path):
    """The batch holds the erasure lock shared: the erasure, started while the batch scores, waits for its
    commit and then removes what it stored; the next queued event of the conversation is skipped."""
    with temporary_schema("rmqe") as url:
        upgrade(url)
        engine = make_engine(url)
        factory = make_session_factory(engine)
        stores = stores_without_rasa(factory, url, tmp_path)
        erasure: dict = {}

        def erase_while_scoring() -> None:
            thread = threading.Thread(
                target=lambda: erasure.update(result=erase(stores, ["c1"], reason="request", actor=ROOT))
            )
            thread.start()
            thread.join(1.0)
            erasure["waited"] = thread.is_alive()  # still blocked by this batch
            erasure["thread"] = thread

        publish.event("c1", user_event("first words", timestamp=time.time() - 60))
        worker = worker_for(factory, source, policy, FailsOnce(on_score=erase_while_scoring, fail=False))
        drain(worker, lambda: "thread" in erasure)
        erasure["thread"].join(20)
        assert erasure["waited"] and erasure["result"][0].counts["clearline"]["messages"] == 1
        publish.event("c1", user_event("queued before the erasure", timestamp=time.time() - 30))
        drain(worker, lambda: source.admission.erased_total._value.get() == 1)
        assert count(factory, Message) == 0 and count(factory, EventReceipt) == 0
        engine.dispose()
