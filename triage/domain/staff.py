"""Rules for changing staff accounts, which no adapter may bend: the team never loses its last active
admin (nobody could then manage users or customers' data), and an admin cannot lock themselves out."""

from __future__ import annotations

from dataclasses import dataclass

from triage.errors import TriageError

ADMIN = "admin"


class StaffChangeRefused(TriageError):
    """A change that would leave the team without an active admin, or lock its author out (api: 409)."""


@dataclass(frozen=True)
class Account:
    id: int
    role: str
    is_active: bool


def check_change(by: Account, before: Account, after: Account, other_active_admins: int) -> None:
    """Refuse ``before`` -> ``after`` when it breaks a rule; ``other_active_admins`` counts the active
    admins besides the account changed."""
    was_admin = before.role == ADMIN and before.is_active
    stays_admin = after.role == ADMIN and after.is_active
    if was_admin and not stays_admin and other_active_admins == 0:
        raise StaffChangeRefused("this is the last active admin: make another user an admin first")
    if by.id == before.id and not after.is_active:
        raise StaffChangeRefused("you cannot deactivate your own account")
    if by.id == before.id and before.role == ADMIN and after.role != ADMIN:
        raise StaffChangeRefused("you cannot take the admin role from yourself; another admin can")
