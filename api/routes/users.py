"""User administration (admins only)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status
from sqlalchemy import select

from api.deps import AdminUser, SessionDep
from api.schemas import UserCreateIn, UserOut
from api.users import NewUser, UserExists, create_user
from triage.storage.db import User

router = APIRouter(prefix="/users", tags=["users"])


@router.get("", response_model=list[UserOut])
def list_users(_admin: AdminUser, session: SessionDep) -> list[User]:
    """All users."""
    return list(session.scalars(select(User).order_by(User.username)))


@router.post("", response_model=UserOut, status_code=status.HTTP_201_CREATED)
def add_user(_admin: AdminUser, session: SessionDep, body: UserCreateIn) -> User:
    """Create a user with a role, skills (queues) and capacity."""
    new = NewUser(
        body.username, body.password, body.role, tuple(body.skills), body.capacity, body.display_name
    )
    try:
        user = create_user(session, new)
    except UserExists as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    session.commit()
    return user
