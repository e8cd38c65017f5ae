"""Partition leases without a database: the fair share, and what a rebalance takes, gives back and does when
the locks' connection is lost (an in-memory lock server shared by several workers' leases)."""

from __future__ import annotations

import pytest

from triage.worker.leader import LEADER_LOCK_SPACE
from triage.worker.partitions import (
    MAX_PARTITIONS,
    MEMBERSHIP_SPACE,
    PARTITION_SPACE,
    PartitionLeases,
    fair_share,
    leases_for,
)


class LockServer:
    """What PostgreSQL keeps: the members and which session holds each partition."""

    def __init__(self) -> None:
        self.members: set[int] = set()
        self.owners: dict[int, int] = {}

    def end_session(self, session: int) -> None:
        self.members.discard(session)
        self.owners = {p: s for p, s in self.owners.items() if s != session}


class FakeLocks:
    """One worker's session on the ``LockServer``; ``broken`` makes every call fail, as a dead connection."""

    sessions = 0

    def __init__(self, server: LockServer) -> None:
        self.server = server
        self.session: int | None = None
        self.broken = False
        self.closed = 0

    def _check(self) -> int:
        if self.broken or self.session is None:
            raise ConnectionError("server closed the connection unexpectedly")
        return self.session

    def join(self) -> None:
        if self.broken:
            raise ConnectionError("connection refused")
        if self.session is None:
            FakeLocks.sessions += 1
            self.session = FakeLocks.sessions
        self.server.members.add(self.session)

    def members(self) -> int:
        self._check()
        return len(self.server.members)

    def try_take(self, partition: int) -> bool:
        session = self._check()
        return self.server.owners.setdefault(partition, session) == session

    def give_back(self, partition: int) -> None:
        session = self._check()
        assert self.server.owners.pop(partition) == session

    def close(self) -> None:
        self.closed += 1
        if self.session is not None:
            self.server.end_session(self.session)
        self.session = None


class Consumer:
    """Records the order of what the source does around a rebalance."""

    def __init__(self, locks: FakeLocks) -> None:
        self.locks = locks
        self.stopped: list[int] = []
        self.owner_when_stopped: list[int | None] = []

    def stop_consuming(self, partition: int) -> None:
        self.stopped.append(partition)
        self.owner_when_stopped.append(self.locks.server.owners.get(partition))


def leases(server: LockServer, partitions: int = 8) -> tuple[PartitionLeases, FakeLocks, Consumer]:
    locks = FakeLocks(server)
    return PartitionLeases(partitions, locks, interval=2.0, clock=lambda: 0.0), locks, Consumer(locks)


@pytest.mark.parametrize(
    ("partitions", "members", "share"), [(8, 1, 8), (8, 2, 4), (8, 3, 3), (8, 8, 1), (8, 9, 1), (3, 0, 3)]
)
def test_the_fair_share_covers_every_partition(partitions: int, members: int, share: int) -> None:
    assert fair_share(partitions, members) == share
    assert share * max(1, members) >= partitions


def test_the_lock_keys_never_meet_the_leaders() -> None:
    assert MEMBERSHIP_SPACE != LEADER_LOCK_SPACE
    spaces = range(PARTITION_SPACE, PARTITION_SPACE + MAX_PARTITIONS)
    assert LEADER_LOCK_SPACE not in spaces and MEMBERSHIP_SPACE not in spaces
    assert max(spaces) < 2**31  # an int4 key


def test_a_lone_worker_takes_every_partition() -> None:
    alone, _, consumer = leases(LockServer())
    change = alone.rebalance(consumer.stop_consuming)
    assert change.taken == tuple(range(8)) and alone.held == frozenset(range(8))
    assert not change.given_back and not consumer.stopped


def test_three_workers_split_eight_partitions_three_three_two() -> None:
    server = LockServer()
    workers = [leases(server) for _ in range(3)]
    for _ in range(3):  # a few rounds, in turn, as their intervals come
        for worker, _, consumer in workers:
            worker.rebalance(consumer.stop_consuming)
    held = [worker.held for worker, _, _ in workers]
    assert sorted(len(h) for h in held) == [2, 3, 3]
    assert frozenset().union(*held) == frozenset(range(8))
    assert sum(len(h) for h in held) == 8  # no partition held twice


def test_extras_are_given_back_after_consuming_stopped_and_a_newcomer_takes_them() -> None:
    server = LockServer()
    first, _, first_consumer = leases(server)
    first.rebalance(first_consumer.stop_consuming)
    newcomer, newcomer_locks, newcomer_consumer = leases(server)
    assert newcomer.rebalance(newcomer_consumer.stop_consuming).taken == ()  # all held: nothing free yet
    change = first.rebalance(first_consumer.stop_consuming)
    assert change.given_back == (4, 5, 6, 7) and first.held == frozenset(range(4))
    # each one stopped while its lock was still this worker's: nobody else could consume it yet
    assert first_consumer.stopped == [4, 5, 6, 7]
    assert first_consumer.owner_when_stopped == [server.owners.get(0)] * 4
    assert newcomer.rebalance(newcomer_consumer.stop_consuming).taken == (4, 5, 6, 7)
    assert newcomer_locks.session is not None and server.owners[7] == newcomer_locks.session


def test_a_worker_that_leaves_frees_its_partitions_for_the_others() -> None:
    server = LockServer()
    first, _, first_consumer = leases(server)
    second, second_locks, second_consumer = leases(server)
    first.rebalance(first_consumer.stop_consuming)
    second.rebalance(second_consumer.stop_consuming)
    first.rebalance(first_consumer.stop_consuming)
    second.rebalance(second_consumer.stop_consuming)
    assert len(first.held) == len(second.held) == 4
    given_up = sorted(second.held)
    second.close(second_consumer.stop_consuming)
    assert (
        second_consumer.stopped[-4:] == given_up and second.held == frozenset() and second_locks.closed == 1
    )
    assert first.rebalance(first_consumer.stop_consuming).taken == tuple(given_up)
    assert first.held == frozenset(range(8))


def test_a_lost_connection_gives_back_everything_at_once_and_the_next_rebalance_joins_again() -> None:
    server = LockServer()
    worker, locks, consumer = leases(server)
    worker.rebalance(consumer.stop_consuming)
    locks.broken = True
    server.end_session(locks.session or 0)  # the server ended the session: its locks are gone
    change = worker.rebalance(consumer.stop_consuming)
    assert change.lost and change.given_back == tuple(range(8)) and not change.taken
    assert worker.held == frozenset() and consumer.stopped == list(range(8)) and locks.closed == 1
    locks.broken = False
    assert worker.rebalance(consumer.stop_consuming).taken == tuple(range(8))  # joined again


def test_a_connection_that_fails_mid_give_back_stops_consuming_the_rest_too() -> None:
    server = LockServer()
    worker, locks, consumer = leases(server)
    worker.rebalance(consumer.stop_consuming)
    other, _, other_consumer = leases(server)
    other.rebalance(other_consumer.stop_consuming)

    def breaks_after_first(partition: int) -> None:
        consumer.stop_consuming(partition)
        locks.broken = True

    change = worker.rebalance(breaks_after_first)
    assert change.lost and worker.held == frozenset()
    assert sorted(consumer.stopped) == list(range(8))  # the one given back, then all the rest


def test_a_failed_join_holds_nothing_and_is_tried_again() -> None:
    server = LockServer()
    worker, locks, consumer = leases(server)
    locks.broken = True
    assert worker.rebalance(consumer.stop_consuming).lost and worker.held == frozenset()
    locks.broken = False
    assert len(worker.rebalance(consumer.stop_consuming).taken) == 8


def test_rebalancing_is_due_once_per_interval() -> None:
    now = [100.0]
    worker = PartitionLeases(4, FakeLocks(LockServer()), interval=2.0, clock=lambda: now[0])
    assert worker.due()
    worker.rebalance(lambda _p: None)
    now[0] += 1.9
    assert not worker.due()
    now[0] += 0.1
    assert worker.due()


@pytest.mark.parametrize("partitions", [0, MAX_PARTITIONS + 1])
def test_a_partition_count_without_keys_is_refused(partitions: int) -> None:
    with pytest.raises(ValueError, match="partitions must be between"):
        PartitionLeases(partitions, FakeLocks(LockServer()))


def test_sqlite_gets_no_leases_and_postgres_does() -> None:
    assert leases_for("sqlite:///clearline.db", 8) is None
    on_postgres = leases_for("postgresql+psycopg://postgres@127.0.0.1:5432/test", 8)  # connects lazily
    assert on_postgres is not None and on_postgres.partitions == 8 and on_postgres.held == frozenset()
