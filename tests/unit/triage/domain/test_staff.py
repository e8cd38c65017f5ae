"""The staff-account rules, without a database."""

from __future__ import annotations

import pytest

from triage.domain.staff import Account, StaffChangeRefused, check_change

ROOT = Account(1, "admin", True)
ALICE = Account(2, "agent", True)


def test_ordinary_changes_pass() -> None:
    check_change(ROOT, ALICE, Account(2, "supervisor", True), other_active_admins=0)
    check_change(ROOT, ALICE, Account(2, "agent", False), other_active_admins=0)
    check_change(ROOT, ALICE, Account(2, "admin", True), other_active_admins=0)
    other = Account(3, "admin", True)
    check_change(ROOT, other, Account(3, "admin", False), other_active_admins=1)  # ROOT stays admin
    check_change(ROOT, ROOT, Account(1, "admin", True), other_active_admins=0)  # a no-op on oneself


@pytest.mark.parametrize(
    ("by", "before", "after", "others", "says"),
    [
        (Account(9, "admin", True), ROOT, Account(1, "admin", False), 0, "last active admin"),
        (Account(9, "admin", True), ROOT, Account(1, "supervisor", True), 0, "last active admin"),
        (ROOT, ROOT, Account(1, "admin", False), 1, "your own account"),
        (ROOT, ROOT, Account(1, "supervisor", True), 1, "from yourself"),
    ],
)
def test_refusals(by: Account, before: Account, after: Account, others: int, says: str) -> None:
    with pytest.raises(StaffChangeRefused, match=says):
        check_change(by, before, after, other_active_admins=others)


def test_an_inactive_admin_is_not_the_last_one_standing() -> None:
    # reactivating or demoting an already inactive admin never counts against the rule
    check_change(ROOT, Account(3, "admin", False), Account(3, "agent", False), other_active_admins=0)
