"""User administration (admins only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, status
from sqlalchemy import select

from api.deps import AdminUser, SessionDep
from api.schemas import PasswordResetIn, UserCreateIn, UserOut, UserPatchIn
from api.staff import UserChange, UserNotFound, change_user, check_skills, get_user, reset_password
from api.users import NewUser, UserExists, WeakPassword, create_user
from triage import audit
from triage.audit import Actor
from triage.registry.active import active_policy
from triage.storage.db import User

UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserOut])
def list_users(_admin: AdminUser, session: SessionDep) -> list[User]:
    """All users."""
    return list(session.scalars(select(User).order_by(User.username)))


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def add_user(admin: AdminUser, session: SessionDep, body: UserCreateIn) -> User:
    """Create a user with a role, skills (queues and lang-xx languages) and capacity; audited."""
    check_skills(tuple(body.skills), _queues(session))
    new = NewUser(
        body.username, body.password, body.role, tuple(body.skills), body.capacity, body.display_name
    )
    try:
        user = create_user(session, new)
    except UserExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    audit.record(
        session,
        Actor.of(admin),
        "user_add",
        inputs={"user_id": user.id, "username": user.username},
        outcome={"role": str(user.role), "skills": list(user.skills), "capacity": user.capacity},
    )
    session.commit()
    return user


def _queues(session: SessionDep) -> list[str]:
    return list(active_policy(session).config.queue_names)


@router.get("/{user_id}", response_model=UserOut)
def read_user(user_id: UserId, _admin: AdminUser, session: SessionDep) -> User:
    """One user."""
    try:
        return get_user(session, user_id)
    except UserNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc


@router.patch("/{user_id}", response_model=UserOut)
def edit_user(user_id: UserId, body: UserPatchIn, admin: AdminUser, session: SessionDep) -> User:
    """Change role, skills, capacity or whether the account is active (the display name has its own
    route). Deactivating ends the user's sessions now; an agent deactivated or given another role goes
    offline and their open conversations go back to their queues. The last active admin stays one, and
    nobody deactivates or demotes themselves (409). Audited with the values before and after."""
    change = UserChange(
        role=body.role,
        skills=tuple(body.skills) if body.skills is not None else None,
        capacity=body.capacity,
        is_active=body.is_active,
    )
    try:
        user = change_user(session, user_id, change, known_queues=_queues(session), by=admin)
    except UserNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    session.commit()
    return user


@router.post("/{user_id}/password", status_code=status.HTTP_204_NO_CONTENT)
def set_password(user_id: UserId, body: PasswordResetIn, admin: AdminUser, session: SessionDep) -> None:
    """Set a new password; every session and token of the user ends now. Audited, without the password."""
    try:
        reset_password(session, user_id, body.password, by=admin)
    except UserNotFound as exc:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(exc)) from exc
    except WeakPassword as exc:
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, str(exc)) from exc
    session.commit()
