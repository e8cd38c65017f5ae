"""Customer satisfaction in the supervisor's figures (issue #20): the average 1-5 rating and how many
ratings, overall, by whether a person handled the conversation, by queue and by agent, with the spread of
ratings; aggregated in SQL over the ratings given in the window (``triage.storage.workplace_tables``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from triage.domain.csat import HIGHEST, LOWEST
from triage.storage.db import User
from triage.storage.workplace_tables import CsatRating


class CsatGroup(BaseModel):
    key: str  # "escalated" / "bot", the queue, or the agent's id
    label: str
    average: float
    responses: int


class CsatFigures(BaseModel):
    average: float | None  # None: no rating in the window
    responses: int
    distribution: list[int]  # how many 1s, 2s, ... 5s
    by_escalated: list[CsatGroup]  # with our team / the bot alone
    by_queue: list[CsatGroup]
    by_agent: list[CsatGroup]


def _groups(rows: Any, label: Any = str) -> list[CsatGroup]:
    return [
        CsatGroup(key=str(key), label=label(key), average=round(float(mean), 2), responses=int(n))
        for key, mean, n in rows
        if key is not None
    ]


def csat_figures(session: Session, since: datetime) -> CsatFigures:
    in_window = CsatRating.created_at >= since
    mean, count = func.avg(CsatRating.rating), func.count()

    def grouped(column: Any) -> Any:
        return session.execute(select(column, mean, count).where(in_window).group_by(column).order_by(column))

    average, responses = session.execute(select(mean, count).where(in_window)).one()
    spread = dict(
        session.execute(select(CsatRating.rating, count).where(in_window).group_by(CsatRating.rating)).all()
    )
    names = {
        user_id: display_name or username
        for user_id, username, display_name in session.execute(
            select(User.id, User.username, User.display_name).where(
                User.id.in_(select(CsatRating.agent_id).where(in_window, CsatRating.agent_id.is_not(None)))
            )
        )
    }
    escalated = _groups(
        ((("escalated" if flag else "bot"), avg, n) for flag, avg, n in grouped(CsatRating.escalated)),
        {"escalated": "Handled by our team", "bot": "The bot alone"}.__getitem__,
    )
    by_agent = sorted(
        _groups(grouped(CsatRating.agent_id), lambda agent_id: names.get(agent_id, f"user {agent_id}")),
        key=lambda group: (-group.responses, group.label),
    )
    return CsatFigures(
        average=round(float(average), 2) if average is not None else None,
        responses=int(responses or 0),
        distribution=[int(spread.get(value, 0)) for value in range(LOWEST, HIGHEST + 1)],
        by_escalated=escalated,
        by_queue=_groups(grouped(CsatRating.queue)),
        by_agent=by_agent,
    )
