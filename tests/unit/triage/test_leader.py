"""The leader election's state machine, with a hand-written lock (no database)."""

from __future__ import annotations

import pytest

from tests.unit.triage.fakes import ScriptedLock
from triage.worker.leader import (
    AdvisoryLock,
    LeaderElection,
    LeadershipChange,
    SingleWorkerLock,
    lock_for,
)


def election(lock: ScriptedLock) -> tuple[LeaderElection, list[LeadershipChange]]:
    changes: list[LeadershipChange] = []
    return LeaderElection(lock, changes.append, check_interval=0.5, retry_interval=3.0), changes


def test_a_follower_that_takes_the_lock_leads_and_then_checks_more_often():
    chosen, changes = election(ScriptedLock(acquire=[False, True]))
    assert not chosen.check() and chosen.interval() == 3.0 and changes == []  # another one holds it
    assert chosen.check() and chosen.leading and chosen.interval() == 0.5
    assert changes == [LeadershipChange(True, "elected")]


def test_a_lock_that_cannot_be_reached_leaves_a_follower_that_tries_again():
    chosen, changes = election(ScriptedLock(acquire=[ConnectionError("server down"), True]))
    assert not chosen.check() and changes == []
    assert chosen.check() and changes == [LeadershipChange(True, "elected")]


def test_a_leader_that_still_holds_the_lock_goes_on_leading():
    lock = ScriptedLock(acquire=[True], held=[True, True])
    chosen, changes = election(lock)
    assert chosen.check() and chosen.check() and chosen.check()
    assert changes == [LeadershipChange(True, "elected")] and lock.releases == 0


def test_a_leader_whose_lock_is_gone_stops_leading_at_once_and_drops_its_connection():
    lock = ScriptedLock(acquire=[True, False], held=[False])
    chosen, changes = election(lock)
    chosen.check()
    assert not chosen.check() and not chosen.leading and lock.releases == 1
    assert changes[-1] == LeadershipChange(False, "lost")
    assert not chosen.check() and chosen.interval() == 3.0  # a follower now: it tries, another holds it


def test_a_leader_whose_connection_fails_stops_leading_and_says_why():
    lock = ScriptedLock(acquire=[True], held=[OSError("connection reset")])
    chosen, changes = election(lock)
    chosen.check()
    assert not chosen.check()
    assert changes[-1] == LeadershipChange(False, "lost", "OSError: connection reset")


def test_a_change_that_cannot_be_recorded_is_still_made():
    def fail(change: LeadershipChange) -> None:
        raise RuntimeError("audit database down")

    chosen = LeaderElection(ScriptedLock(acquire=[True], held=[False]), fail)
    assert chosen.check() and chosen.leading
    assert not chosen.check() and not chosen.leading


def test_resigning_gives_the_lock_up_and_is_recorded_only_by_a_leader():
    lock = ScriptedLock(acquire=[False, True])
    chosen, changes = election(lock)
    chosen.check()
    chosen.resign()  # a follower: it may hold a connection that tries, which is closed; nothing changes
    assert lock.releases == 1 and changes == []
    chosen.check()
    chosen.resign()
    assert not chosen.leading and lock.releases == 2
    assert changes == [LeadershipChange(True, "elected"), LeadershipChange(False, "resigned")]


def test_the_single_sqlite_worker_always_leads():
    chosen = LeaderElection(SingleWorkerLock())
    assert chosen.check() and chosen.check() and chosen.leading


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("sqlite:///clearline.db", SingleWorkerLock),
        ("postgresql+psycopg://clearline@db:5432/clearline", AdvisoryLock),
    ],
)
def test_the_lock_follows_the_database(url, kind):
    assert isinstance(lock_for(url), kind)  # builds an engine only: nothing connects yet
