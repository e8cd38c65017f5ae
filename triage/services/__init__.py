"""The escalation lifecycle, used by the worker and the api (the contract in docs/architecture.md).

Every function takes a ``Session`` and never commits: the caller's unit of work commits the business
rows, the audit records and the outbox commands together. Errors are the domain exceptions of
``triage.errors``. The implementations live in ``triage.services.escalation`` (raising and correcting
flags), ``triage.services.feedback`` (words people add, missed flags) and ``triage.services.handoff``
(routing and the agents' work); this module is the one place callers import from. The rules themselves
are the domain's (``triage.domain``).
"""

from __future__ import annotations

from triage.services.escalation import (
    escalate,
    follow_tier,
    record_feedback,
    request_handoff,
    set_priority,
    unflag,
)
from triage.services.feedback import missed_flags_of, record_missed_flag
from triage.services.handoff import (
    MAX_REPLY_CHARS,
    accept,
    agent_reply,
    assign_waiting,
    check_sla,
    resolve,
    set_agent_status,
    transfer,
)
from triage.services.locking import lock_conversations
from triage.storage.conversations import as_utc, get_conversation, new_conversation, policy_input

__all__ = [
    "MAX_REPLY_CHARS",
    "accept",
    "agent_reply",
    "as_utc",
    "assign_waiting",
    "check_sla",
    "escalate",
    "follow_tier",
    "get_conversation",
    "lock_conversations",
    "missed_flags_of",
    "new_conversation",
    "policy_input",
    "record_feedback",
    "record_missed_flag",
    "request_handoff",
    "resolve",
    "set_agent_status",
    "set_priority",
    "transfer",
    "unflag",
]
