"""The typing indicator's rules (issue #20): who may say they are typing in a conversation, in which
state, and how long a signal counts.

A signal is a promise that lasts ``SIGNAL_TTL``: the typist's page repeats it every few seconds while
they type, and a reader treats a signal whose ``until`` has passed as "not typing", so a closed tab or a
lost connection never leaves an indicator behind. No text is ever part of a signal. Nothing here reads a
clock or a database: callers pass ``now`` (timezone-aware) and what they know of the conversation.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from triage.domain.lifecycle import OPEN_STATES, ConversationState
from triage.errors import InvalidTransition, NotAssignedToYou

Party = Literal["customer", "agent"]
CUSTOMER: Party = "customer"
AGENT: Party = "agent"

# How long one signal counts. The pages send one at most every 2.5 s while someone types and read every
# 2 s, so 6 s bridges a missed signal or a slow read and lets the indicator go a few seconds after the
# last keystroke.
SIGNAL_TTL = timedelta(seconds=6)


def expires(now: datetime) -> datetime:
    """The ``until`` of a signal sent at ``now``."""
    return now + SIGNAL_TTL


def is_live(until: datetime | None, now: datetime) -> bool:
    """Whether a signal still counts at ``now`` (None: there is none)."""
    return until is not None and until > now


def customer_may_signal(state: ConversationState) -> bool:
    """The customer's typing matters only to a person: while waiting for one or talking to one. With the
    assistant there is nobody to show it to, so the signal is ignored (not an error: the page need not
    know the state exactly when it sends one)."""
    return state in OPEN_STATES


def check_agent_may_signal(
    state: ConversationState, assigned_agent_id: int | None, user_id: int, *, supervising: bool
) -> None:
    """Refuse a staff member's signal unless they may reply in this conversation now: its assigned agent,
    or a supervisor or admin (who may reply in any conversation with an agent; the customer then sees the
    supervisor's name, as on the reply). In that order, as for replies and notes: an agent who does not
    hold it gets ``NotAssignedToYou`` (403) whatever its state; then a conversation no agent is on
    (queued, back with the assistant, resolved) is ``InvalidTransition`` (409).
    """
    if not supervising and (assigned_agent_id is None or assigned_agent_id != user_id):
        raise NotAssignedToYou("this conversation is not assigned to you")
    if state != ConversationState.ASSIGNED:
        raise InvalidTransition(f"no agent is on this conversation (it is {state.value})")


def agent_typing_shown(state: ConversationState, until: datetime | None, now: datetime) -> bool:
    """What the customer's page shows: a live agent signal while an agent is on the conversation (a
    signal left from just before a resolve or a requeue is not shown)."""
    return state == ConversationState.ASSIGNED and is_live(until, now)


def customer_typing_shown(state: ConversationState, until: datetime | None, now: datetime) -> bool:
    """What the console shows: a live customer signal while the conversation waits for or has an agent."""
    return state in OPEN_STATES and is_live(until, now)
