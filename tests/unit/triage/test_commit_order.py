"""The gap tracker: a reader in id order stops before ids that may still commit, and moves on once their
writers have ended. The writers here are a hand-written fake; PostgreSQL's side is in
tests/integration/triage/test_commit_order_postgres.py."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from sqlalchemy import create_engine, create_mock_engine

from triage.storage.commit_order import (
    GapTracker,
    IdRange,
    Witness,
    missing_ranges,
    read_complete,
    tracker_for,
)


class FakeWriters:
    """Transactions of a table's writers: start them, end them; counts the lock-table queries."""

    def __init__(self) -> None:
        self.open: set[str] = set()
        self.queries = 0

    def running(self) -> Witness:
        self.queries += 1
        return frozenset(self.open)

    def still_running(self, witness: Witness) -> Witness:
        self.queries += 1
        return frozenset(self.open) & witness


class FakeTable:
    """Committed ids; ``read`` is what ``id > after order by id limit`` returns."""

    def __init__(self, *ids: int) -> None:
        self.ids = set(ids)
        self.reads = 0

    def read(self, after: int, limit: int = 100) -> Sequence[int]:
        self.reads += 1
        return sorted(i for i in self.ids if i > after)[:limit]


def read(tracker: GapTracker, table: FakeTable, after: int) -> list[int]:
    return read_complete(tracker, after, table.read, lambda i: i)


def test_missing_ranges_include_the_ids_before_the_first_row() -> None:
    assert missing_ranges(0, [3, 4, 7]) == [IdRange(1, 2), IdRange(5, 6)]
    assert missing_ranges(4, [5, 6]) == [] and missing_ranges(4, []) == []


def test_contiguous_ids_are_read_without_asking_about_writers() -> None:
    writers = FakeWriters()
    writers.open.add("3/1")
    assert read(GapTracker(writers), FakeTable(1, 2, 3), 0) == [1, 2, 3]
    assert writers.queries == 0


def test_a_row_committed_after_a_higher_one_is_read_once_its_writer_commits() -> None:
    writers, table = FakeWriters(), FakeTable(1, 3, 4)
    tracker = GapTracker(writers)
    writers.open.add("5/7")  # the transaction that took id 2, still open
    assert read(tracker, table, 0) == [1]
    assert read(tracker, table, 1) == []  # the writer is still open: 3 and 4 wait
    assert tracker.pending() == [IdRange(2, 2)]
    table.ids.add(2)
    writers.open.clear()  # it commits
    assert read(tracker, table, 1) == [2, 3, 4]


def test_a_rolled_back_insert_does_not_stall_the_reader() -> None:
    writers, table = FakeWriters(), FakeTable(1, 3)
    tracker = GapTracker(writers)
    writers.open.add("5/7")
    assert read(tracker, table, 0) == [1]
    writers.open.clear()  # rolled back: id 2 never comes
    assert read(tracker, table, 1) == [3] and tracker.pending() == []


def test_a_gap_whose_writers_already_ended_costs_one_more_read_not_another_poll() -> None:
    writers, table = FakeWriters(), FakeTable(1, 3)
    tracker = GapTracker(writers)
    assert read(tracker, table, 0) == [1, 3]
    assert table.reads == 2  # the first read may predate id 2's commit: read again before skipping it


def test_writers_that_start_after_the_gap_was_seen_do_not_hold_it() -> None:
    writers, table = FakeWriters(), FakeTable(1, 3)
    tracker = GapTracker(writers)
    writers.open.add("5/7")
    assert read(tracker, table, 0) == [1]
    writers.open = {"6/1", "6/2"}  # new transactions only: they take ids above 3
    assert read(tracker, table, 1) == [3]


def test_the_reader_stops_at_the_first_gap_that_is_not_final() -> None:
    writers, table = FakeWriters(), FakeTable(1, 3, 6, 7)
    tracker = GapTracker(writers)
    writers.open.add("a")
    assert read(tracker, table, 0) == [1]
    assert tracker.pending() == [IdRange(2, 2), IdRange(4, 5)]  # both wait for the same writers
    table.ids.add(4)
    writers.open = {"b"}
    assert read(tracker, table, 1) == [3, 4, 6, 7]  # 2 and 5 never came; "b" started later


def test_a_gap_before_the_first_row_is_a_gap_too() -> None:
    writers, table = FakeWriters(), FakeTable(2)
    tracker = GapTracker(writers)
    writers.open.add("a")
    assert read(tracker, table, 0) == []
    table.ids.add(1)
    writers.open.clear()
    assert read(tracker, table, 0) == [1, 2]


def test_a_new_reader_with_no_memory_waits_for_the_writers_running_now() -> None:
    writers, table = FakeWriters(), FakeTable(1, 3)
    writers.open.add("a")
    assert read(GapTracker(writers), table, 0) == [1]
    assert read(GapTracker(writers), table, 1) == []  # a restart forgets the gap, and still waits
    writers.open.clear()
    assert read(GapTracker(writers), table, 1) == [3]


def test_a_cut_off_read_has_no_gap_past_its_last_row() -> None:
    writers, table = FakeWriters(), FakeTable(1, 2, 3, 9)
    writers.open.add("a")
    assert read_complete(GapTracker(writers), 0, lambda after: table.read(after, limit=3), int) == [1, 2, 3]
    assert writers.queries == 0


def test_without_a_tracker_rows_come_as_read() -> None:
    assert read_complete(None, 0, FakeTable(1, 3).read, int) == [1, 3]


def test_sqlite_needs_no_tracker_and_an_unknown_database_is_refused() -> None:
    assert tracker_for(create_engine("sqlite://"), "events") is None
    other = create_mock_engine("mysql+pymysql://", lambda *_args, **_kw: None)
    with pytest.raises(ValueError, match="mysql"):
        tracker_for(other, "events")  # type: ignore[arg-type]
