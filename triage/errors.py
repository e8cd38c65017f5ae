"""Domain errors of the triage services. The api maps them to HTTP status codes in one place."""

from __future__ import annotations


class TriageError(Exception):
    """Base class of every triage domain error."""


class ConversationNotFound(TriageError):
    """No conversation with that id (api: 404)."""


class EscalationNotFound(TriageError):
    """No escalation with that id (api: 404)."""


class AgentNotFound(TriageError):
    """No active user with that id to act as an agent (api: 404)."""


class InvalidTransition(TriageError):
    """The conversation or escalation is not in a state that allows the action (api: 409)."""


class NotAssignedToYou(TriageError):
    """The acting agent does not own the conversation (api: 403)."""


class StaleUpdate(TriageError):
    """Someone else changed the row first; reload and retry (api: 409)."""


class ValidationError(TriageError):
    """Bad input for a service call, e.g. an empty reply or an unknown queue (api: 422)."""


class PolicyError(TriageError):
    """The triage policy file is missing or invalid; the message names the offending field."""


class CapacityExceeded(TriageError):
    """The agent already holds as many conversations as their capacity allows (api: 409)."""
