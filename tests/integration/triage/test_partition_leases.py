"""Partition leases on real PostgreSQL (advisory locks in a temporary schema) and real RabbitMQ: holders
split the partitions, take over a dead one's, make room for a newcomer; two worker sources consume
disjoint partitions, and a partition given back with deliveries still buffered loses and repeats nothing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from tests.postgres import temporary_schema
from tests.unit.triage.fakes import FakeScorer
from triage.benchmarks.rasa_events import user_event
from triage.domain.policy import Policy
from triage.redaction import redact_with_spans
from triage.settings import CoreSettings
from triage.storage.db import EventReceipt, Message, make_engine, make_session_factory
from triage.storage.migrate import upgrade
from triage.worker.leader import AdvisoryLock
from triage.worker.loop import Worker, WorkerOptions
from triage.worker.partitions import AdvisoryPartitionLocks, PartitionLeases
from triage.worker.rabbitmq_source import RabbitMQEventSource
from triage.worker.runner import build_worker

from .rabbitmq_queues import Publisher, QueueTopology, close_from_server, declared_topology
from .test_rabbitmq_source import SECRET, count, stored

pytestmark = pytest.mark.postgres

INTERVAL = 0.3  # seconds between rebalances, short for the tests


@pytest.fixture
def schema_url() -> Iterator[str]:
    with temporary_schema("leases") as url:
        yield url


def holders(url: str, count: int, partitions: int = 8) -> list[PartitionLeases]:
    return [PartitionLeases(partitions, AdvisoryPartitionLocks(url), INTERVAL) for _ in range(count)]


def run_rebalances(leases: list[PartitionLeases], until: Callable[[], bool], seconds: float) -> float:
    """Rebalance each holder whenever it is due until ``until()``; the seconds it took (fails after
    ``seconds``)."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        for holder in leases:
            if holder.due():
                holder.rebalance(lambda _partition: None)
        if until():
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"not reached in {seconds} s: {[sorted(h.held) for h in leases]}")


def split(leases: list[PartitionLeases], sizes: list[int], partitions: int = 8) -> bool:
    held = [h.held for h in leases]
    return (
        sorted(len(h) for h in held) == sorted(sizes)
        and sum(len(h) for h in held) == partitions
        and frozenset().union(*held) == frozenset(range(partitions))
    )


def close_all(leases: list[PartitionLeases]) -> None:
    for holder in leases:
        holder.close()


def test_three_holders_split_eight_partitions_three_three_two(schema_url: str) -> None:
    leases = holders(schema_url, 3)
    leader = AdvisoryLock(schema_url)
    try:
        assert leader.try_acquire()  # the leader's lock in the same schema is another key
        run_rebalances(leases, lambda: split(leases, [3, 3, 2]), 10)
        time.sleep(INTERVAL * 2)
        run_rebalances(leases, lambda: split(leases, [3, 3, 2]), 10)  # and it stays so
    finally:
        close_all(leases)
        leader.release()


def test_holders_in_another_schema_neither_count_nor_block(schema_url: str) -> None:
    here = holders(schema_url, 2)
    with temporary_schema("leases_other") as other_url:
        elsewhere = holders(other_url, 1)
        try:
            run_rebalances(here + elsewhere, lambda: split(here, [4, 4]) and len(elsewhere[0].held) == 8, 10)
        finally:
            close_all(here + elsewhere)


def backend_pid(holder: PartitionLeases) -> int:
    locks = holder.locks
    assert isinstance(locks, AdvisoryPartitionLocks) and locks._connection is not None  # noqa: SLF001
    return int(locks._connection.execute(text("SELECT pg_backend_pid()")).scalar_one())  # noqa: SLF001


def test_a_holder_whose_session_is_terminated_loses_its_partitions_to_the_others(schema_url: str) -> None:
    leases = holders(schema_url, 3)
    admin = create_engine(schema_url)
    try:
        run_rebalances(leases, lambda: split(leases, [3, 3, 2]), 10)
        victim, others = leases[0], leases[1:]
        with admin.begin() as connection:
            connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": backend_pid(victim)})
        # the survivors take everything within about one interval, the victim not rebalancing meanwhile
        took = run_rebalances(others, lambda: split(others, [4, 4]), 10)
        assert took <= INTERVAL * 3
        lost = victim.rebalance(lambda _partition: None)  # its next rebalance finds the connection dead
        assert lost.lost and victim.held == frozenset()
        run_rebalances(leases, lambda: split(leases, [3, 3, 2]), 10)  # joined again, got its share back
    finally:
        close_all(leases)
        admin.dispose()


def test_a_newcomer_gets_its_share_as_the_others_give_back_extras(schema_url: str) -> None:
    first_two = holders(schema_url, 2)
    newcomer = holders(schema_url, 1)
    try:
        run_rebalances(first_two, lambda: split(first_two, [4, 4]), 10)
        everyone = first_two + newcomer
        run_rebalances(everyone, lambda: split(everyone, [3, 3, 2]), 10)
        newcomer[0].close()  # it leaves: the two take its partitions again
        run_rebalances(first_two, lambda: split(first_two, [4, 4]), 10)
    finally:
        close_all(first_two + newcomer)


# -- with RabbitMQ ---------------------------------------------------------------------------------
PARTITIONS = 4


class RecordingSource(RabbitMQEventSource):
    """Notes the partition each settled delivery came from (observation only: the source runs as is)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.settled_partitions: set[int] = set()
        self.settled_events = 0

    def settle(self, events) -> None:  # type: ignore[no-untyped-def]
        self.settled_partitions |= {delivery.partition for delivery in self._batch}
        self.settled_events += len(events)
        super().settle(events)


@pytest.fixture
def database(schema_url: str) -> Iterator[tuple[str, sessionmaker[Session]]]:
    upgrade(schema_url)
    engine = make_engine(schema_url)
    yield schema_url, make_session_factory(engine)
    engine.dispose()


@pytest.fixture
def queues() -> Iterator[QueueTopology]:
    with declared_topology(partitions=PARTITIONS) as made:
        yield made


def source_with_leases(queues: QueueTopology, url: str) -> RecordingSource:
    return RecordingSource(
        queues.url,
        queues.partitions,
        pseudonym_key=SECRET,
        queue_prefix=queues.queue_prefix,
        backoff_s=(0.05, 0.2),
        leases=PartitionLeases(queues.partitions, AdvisoryPartitionLocks(url), INTERVAL),
    )


def worker_for(
    factory: sessionmaker[Session], source: RabbitMQEventSource, policy: Policy, size: int
) -> Worker:
    options = WorkerOptions(batch_size=size)
    return Worker(factory, source, FakeScorer(), policy, redact_with_spans, options=options)


@contextmanager
def two_workers(
    queues: QueueTopology, url: str, factory: sessionmaker[Session], policy: Policy, batch_size: int
) -> Iterator[tuple[list[RecordingSource], list[Worker]]]:
    """Two workers on one schema, each with its own source and leases; the sources closed after."""
    sources = [source_with_leases(queues, url) for _ in range(2)]
    try:
        yield sources, [worker_for(factory, source, policy, batch_size) for source in sources]
    finally:
        for source in sources:
            source.close()


def run_batches(workers: list[Worker], until: Callable[[], bool], seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for worker in workers:
            worker.process_next_batch()
        if until():
            return
    raise AssertionError("not reached")


def publish_turns(queues: QueueTopology, conversations: int, turns: int) -> int:
    publisher = Publisher(queues)
    try:
        for turn in range(turns):
            for index in range(conversations):
                publisher.event(f"c{index}", user_event(f"turn {turn}", timestamp=1000.0 + turn))
    finally:
        publisher.close()
    return conversations * turns


def assert_each_stored_once_in_order(factory: sessionmaker[Session], published: int, turns: int) -> None:
    messages = stored(factory)
    assert len(messages) == published and count(factory, EventReceipt) == published
    for conversation in {c for c, _ in messages}:
        assert [t for c, t in messages if c == conversation] == [f"turn {i}" for i in range(turns)]


def test_two_sources_consume_disjoint_partitions_and_process_every_event_once(database, queues, policy):
    url, factory = database
    with two_workers(queues, url, factory, policy, 16) as (sources, workers):
        run_batches(workers, lambda: sorted(len(s.leases.held) for s in sources) == [2, 2], 10)
        held = [s.leases.held for s in sources]
        published = publish_turns(queues, conversations=24, turns=5)
        run_batches(workers, lambda: count(factory, Message) == published)
        assert_each_stored_once_in_order(factory, published, 5)
        for source, own in zip(sources, held, strict=True):
            assert source.leases.held == own  # nothing moved while they worked
            assert source.settled_events > 0 and source.settled_partitions <= own
            assert source.partitions_held._value.get() == 2  # noqa: SLF001 - the gauge's value
        assert not sources[0].settled_partitions & sources[1].settled_partitions


def test_a_partition_given_back_with_buffered_deliveries_loses_and_repeats_nothing(database, queues, policy):
    url, factory = database
    with two_workers(queues, url, factory, policy, 4) as ((first, second), workers):
        published = publish_turns(queues, conversations=16, turns=4)
        workers[0].process_next_batch()  # alone: it holds every partition and buffers far past one batch
        assert first.leases.held == frozenset(range(PARTITIONS))
        workers[1].process_next_batch()  # joins: nothing is free yet
        assert second.leases.held == frozenset()
        time.sleep(INTERVAL)
        first._connection.process_data_events(time_limit=0.2)  # noqa: SLF001 - the prefetched ones arrive
        buffered = {d.partition for d in first._buffer}  # noqa: SLF001
        assert {2, 3} <= buffered  # what the rebalance gives back is in the buffer
        workers[0].process_next_batch()  # gives 2 and 3 back: cancelled, buffered ones nacked, unlocked
        assert first.leases.held == frozenset({0, 1})
        assert all(d.partition in (0, 1) for d in first._buffer)  # noqa: SLF001
        run_batches(workers, lambda: count(factory, Message) == published)
        assert_each_stored_once_in_order(factory, published, 4)
        assert second.settled_partitions == {2, 3}


def test_a_source_reconnecting_to_rabbitmq_consumes_only_its_held_partitions(database, queues, policy):
    url, factory = database
    with two_workers(queues, url, factory, policy, 16) as (sources, workers):
        run_batches(workers, lambda: sorted(len(s.leases.held) for s in sources) == [2, 2], 10)
        first = sources[0]
        held = first.leases.held
        assert set(first._consumers) == held  # noqa: SLF001
        close_from_server(first._connection)  # noqa: SLF001
        run_batches(workers, lambda: first.reconnects == 1, 10)
        assert first.leases.held == held and set(first._consumers) == held  # noqa: SLF001
        published = publish_turns(queues, conversations=12, turns=2)
        run_batches(workers, lambda: count(factory, Message) == published)
        assert first.settled_partitions <= held and sources[1].settled_partitions <= sources[1].leases.held


def test_the_runner_gives_a_postgres_worker_leases_and_a_sqlite_worker_none(database, queues, tmp_path):
    url, _ = database
    on_postgres = CoreSettings(
        database_url=url, event_source="rabbitmq", rabbitmq_url=queues.url, rabbitmq_partitions=4, demo=True
    )
    worker = build_worker(on_postgres, FakeScorer())
    try:
        assert isinstance(worker.source, RabbitMQEventSource) and worker.source.leases is not None
        assert worker.source.leases.partitions == 4
        assert "clearline_worker_partitions_held 0.0" in worker.metrics.render().decode()
    finally:
        worker.source.close()
    sqlite_url = f"sqlite:///{tmp_path / 'clearline.db'}"
    upgrade(sqlite_url)
    alone = build_worker(on_postgres.model_copy(update={"database_url": sqlite_url}), FakeScorer())
    try:
        assert isinstance(alone.source, RabbitMQEventSource) and alone.source.leases is None
        assert "clearline_worker_partitions_held 4.0" in alone.metrics.render().decode()
    finally:
        alone.source.close()
