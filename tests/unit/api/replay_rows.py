"""Judged escalations and a candidate policy for the replay tests (CLI, api, browser).

Under the shipped policy (stress floor(70 s) from 0.4, trend floor(40 rise) from a rise of 0.15 over the
calm "hi" at 0.12 before, escalate at 50) each conversation has that "hi" and one more customer message:
- replay-stolen: 0.91, lost_or_stolen_card (+30): 63 + 31 + 30 -> 100, judged right;
- replay-waiting: 0.78, card_arrival: 54 + 26 = 80, judged wrong;
- replay-transfer: 0.66, transfer_not_received_by_recipient (+10): 46 + 21 + 10 = 77, judged right;
- replay-calm: 0.42, card_arrival: 29 + 12 = 41, not escalated.
Stress weight 30 (:func:`policy_yaml`): stolen 27 + 31 + 30 = 88, waiting 23 + 26 = 49 (removed),
transfer 19 + 21 + 10 = 50: precision 2/3 -> 2/2, recall stays 1.0.
Stress weight 100: calm 42 + 12 = 54 (added), waiting 78 + 26 -> 100, transfer 66 + 21 + 10 = 97.
"""

from __future__ import annotations

from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.unit.api import factories
from tests.unit.triage.policies import shipped_policy_data
from triage import services
from triage.storage.db import Conversation, Escalation, Message, Role, Sender, User, utcnow

JUDGED = {"replay-stolen": "correct", "replay-waiting": "wrong", "replay-transfer": "correct"}
ESCALATED = {
    "replay-stolen": (
        "This is ridiculous, my card was stolen and nobody helps me!",
        "lost_or_stolen_card",
        0.91,
    ),
    "replay-waiting": ("I have been waiting forever, this is awful", "card_arrival", 0.78),
    "replay-transfer": (
        "My transfer never arrived and I'm worried",
        "transfer_not_received_by_recipient",
        0.66,
    ),
}
CALM = "replay-calm"


def seed_judged(session: Session, judge: User | None = None) -> None:
    """The conversations above, with the verdicts of ``judge`` (a supervisor named "judge" if None)."""
    for cid, (text, intent, stress) in ESCALATED.items():
        factories.escalated(session, cid, text=text, intent=intent, stress=stress)
    now = utcnow()
    session.add(Conversation(id=CALM, channel="socketio", started_at=now, last_message_at=now))
    session.flush()
    for text, stress, intent in (("hi", 0.12, None), ("where is my card, it is late", 0.42, "card_arrival")):
        session.add(
            Message(conversation_id=CALM, sender=Sender.CUSTOMER, text=text, intent=intent, stress=stress)
        )
    judge = judge or factories.user(session, "judge", Role.SUPERVISOR)
    for escalation in session.scalars(select(Escalation).where(Escalation.conversation_id.in_(JUDGED))):
        services.record_feedback(
            session,
            escalation.id,
            user=judge,
            verdict=JUDGED[escalation.conversation_id],
            unmarked_words=[],
            comment=None,
        )
    session.flush()


def policy_yaml(version: str, stress_weight: int) -> str:
    """The shipped policy with another stress weight, as a candidate named ``version``."""
    data: dict[str, Any] = shipped_policy_data()
    data["version"] = version
    data["factors"]["stress"]["weight"] = stress_weight
    return yaml.safe_dump(data)
