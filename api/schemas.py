"""Request and response models of the REST API. Limits here are the first line of input validation."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StrictInt,
    StringConstraints,
    model_validator,
)

from api.figures_csat import CsatFigures
from triage.storage.conversations import as_utc
from triage.storage.db import AgentStatus, ConversationState, Role, Sender

# SQLite hands back naive datetimes; everything Clearline stores is UTC.
UtcDateTime = Annotated[datetime, AfterValidator(as_utc)]

# Printable text: no NUL bytes (they break PostgreSQL text columns and mean binary junk).
_NO_NUL = r"^[^\x00]*$"


def _redacted(text: str) -> str:
    """What people write about a conversation (reasons, comments) is stored like the customer's words:
    redacted. An agent who pastes the customer's card number into a reason must not make it stored."""
    from triage.redaction import redact  # presidio is imported once, at the api's start-up warm-up

    return redact(text)


Reason = Annotated[
    str,
    StringConstraints(strip_whitespace=True, min_length=3, max_length=500, pattern=_NO_NUL),
    AfterValidator(_redacted),
]
Comment = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=1000, pattern=_NO_NUL),
    AfterValidator(_redacted),
]
ReplyText = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000, pattern=_NO_NUL)
]
QueueName = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[a-z][a-z0-9_-]{0,63}$")]
Username = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9_.-]{2,64}$")]


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Versioned(StrictModel):
    """Optional optimistic-lock check: the conversation version the client last saw."""

    expected_version: int | None = Field(default=None, ge=1)


# ---- auth and users ----
class LoginIn(StrictModel):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    username: str
    display_name: str
    role: Role
    skills: list[str]
    capacity: int
    status: AgentStatus
    is_active: bool


class SessionOut(BaseModel):
    user: UserOut
    csrf_token: str


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"  # noqa: S105 - the scheme name
    expires_in: int


class UserCreateIn(StrictModel):
    username: Username
    display_name: Annotated[str, StringConstraints(strip_whitespace=True, max_length=128)] | None = None
    password: Annotated[str, StringConstraints(min_length=12, max_length=256)]
    role: Role
    skills: list[QueueName] = Field(default_factory=list, max_length=20)
    capacity: int = Field(default=3, ge=0, le=50)


class UserPatchIn(StrictModel):
    """Only what is sent changes."""

    role: Role | None = None
    skills: list[QueueName] | None = Field(default=None, max_length=20)
    capacity: int | None = Field(default=None, ge=0, le=50)
    is_active: bool | None = None


class PasswordResetIn(StrictModel):
    password: Annotated[str, StringConstraints(min_length=12, max_length=256)]


# ---- conversations ----
class ConversationSummary(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    channel: str | None
    state: ConversationState
    queue: str | None
    priority: int | None
    priority_band: str | None
    latest_intent: str | None
    assigned_agent_id: int | None
    assigned_agent_name: str | None = None
    max_stress: float | None = None
    last_stress: float | None = None
    escalation_id: int | None = None
    feedback_state: str | None = None
    unflagged: bool = False
    escalated_at: UtcDateTime | None
    queued_at: UtcDateTime | None
    sla_deadline: UtcDateTime | None
    sla_breached: bool
    first_agent_reply_at: UtcDateTime | None
    last_message_at: UtcDateTime
    version: int
    # the customer's language (ISO 639-1) as of their latest message the detector could judge; null: unknown
    language: str | None = None


class ConversationPage(BaseModel):
    items: list[ConversationSummary]
    total: int


class RedactionOut(BaseModel):
    """A redaction placeholder in a message's text: what it replaced and where it is (character offsets)."""

    entity: str
    start: int
    end: int


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    sender: Sender
    text: str  # PII-redacted: the placeholders are where ``redactions`` says, nowhere else
    # null for messages stored before the spans were recorded: show their text as it is
    redactions: list[RedactionOut] | None = None
    agent_id: int | None
    intent: str | None
    stress: float | None
    flagged: bool
    emotions: dict[str, Any] | None
    labels: list[Any] | None
    created_at: UtcDateTime
    delivered: bool | None
    # customer messages: the language they are taken to be in (ISO 639-1; null: unknown) and the detector's
    # confidence (null: too short to tell, the conversation's language was taken)
    language: str | None = None
    language_confidence: float | None = None
    # false when the emotion model was not trained on the message's language: its stress does not count
    stress_reliable: bool = True


class EscalationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    trigger: str
    priority: int
    priority_band: str
    queue: str
    score: float
    factors: list[Any]
    explanations: list[Any]
    policy_version: str
    model_version: str | None
    created_at: UtcDateTime
    feedback_state: str | None
    unflagged: bool


class ConversationDetail(ConversationSummary):
    customer_tier: str
    fallback_count: int
    human_requested: bool
    stress_trajectory: list[Any]
    # the triage policy counts an utterance's stress from this value on (the chart's reference line)
    stress_counts_from: float
    # the languages the emotion model reads (the policy's stress.languages)
    stress_languages: list[str]
    started_at: UtcDateTime
    assigned_at: UtcDateTime | None
    resolved_at: UtcDateTime | None
    messages: list[MessageOut]
    escalations: list[EscalationOut]


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    at: UtcDateTime
    actor_type: str
    actor: str
    action: str
    conversation_id: str | None
    inputs: dict[str, Any]
    outcome: dict[str, Any]
    versions: dict[str, Any]


# ---- actions ----
class ReplyIn(Versioned):
    text: ReplyText


class TransferIn(Versioned):
    to_queue: QueueName | None = None
    to_agent_id: int | None = Field(default=None, ge=1)
    reason: Reason

    @model_validator(mode="after")
    def _one_target(self) -> TransferIn:
        if (self.to_queue is None) == (self.to_agent_id is None):
            raise ValueError("give exactly one of to_queue or to_agent_id")
        return self


class ReassignIn(Versioned):
    to_agent_id: int = Field(ge=1)
    reason: Reason
    # the supervisor's confirmation that an agent at capacity takes one more
    over_capacity_reason: Reason | None = None


class ResolveIn(Versioned):
    # required when no agent has answered the customer (the domain refuses otherwise)
    reason: Reason | None = None
    # sent to the customer as the agent's reply just before the hand-off ends (it answers them, so no
    # reason is needed then); the same checks as a reply
    closing_message: ReplyText | None = None


class PriorityIn(Versioned):
    priority: int = Field(ge=0, le=100)
    reason: Reason


class UnflagIn(StrictModel):
    reason: Reason


# Offsets of a word in a message: the convention of every offset Clearline stores and serves
_OFFSETS = (
    "offset into the message's stored (PII-redacted) text, in Unicode code points as Python counts them "
    "(not UTF-16 units as JavaScript's String.length, not bytes): after an emoji they differ"
)


class UnmarkedWord(StrictModel):
    """A highlighted word of a message, by its offsets into the stored text."""

    message_id: int = Field(ge=1, description="the message (its id in the conversation's transcript)")
    start: int = Field(ge=0, le=100_000, description=f"first character: {_OFFSETS}")
    end: int = Field(ge=0, le=100_000, description=f"one past the last character: {_OFFSETS}")
    word: Annotated[
        str, StringConstraints(min_length=1, max_length=100, pattern=_NO_NUL), AfterValidator(_redacted)
    ] = Field(description="the text at [start, end) of the message, as stored (redacted)")


class AddedWord(UnmarkedWord):
    """A word of a customer's message that should have been highlighted: the message must be the
    customer's, in this conversation, and ``word`` exactly its text at [start, end), else 422."""


class FeedbackIn(StrictModel):
    verdict: Literal["correct", "wrong"]
    unmarked_words: list[UnmarkedWord] = Field(default_factory=list, max_length=200)
    added_words: list[AddedWord] = Field(
        default_factory=list,
        max_length=200,
        description="words of the customer's messages that should have been highlighted",
    )
    comment: Comment | None = None


class FeedbackOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    escalation_id: int
    user_id: int
    verdict: str
    unmarked_words: list[Any]
    added_words: list[Any]
    comment: str | None
    created_at: UtcDateTime


class MissedFlagIn(StrictModel):
    """The policy should have escalated this conversation and did not."""

    message_id: int | None = Field(
        default=None, ge=1, le=2**63 - 1, description="the customer message that should have triggered it"
    )
    comment: Comment | None = None
    words: list[AddedWord] = Field(
        default_factory=list, max_length=200, description="words that should have been highlighted"
    )


class MissedFlagOut(BaseModel):
    id: int
    conversation_id: str
    message_id: int | None
    user_id: int
    user_name: str  # the display name of who marked it
    comment: str | None
    words: list[Any]
    created_at: UtcDateTime


class HandoffIn(StrictModel):
    conversation_id: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=_NO_NUL)]
    reason: Annotated[str, StringConstraints(max_length=500, pattern=_NO_NUL), AfterValidator(_redacted)] = (
        "customer asked for a human"
    )
    intent: Annotated[str, StringConstraints(max_length=128, pattern=_NO_NUL)] | None = None


class HandoffOut(BaseModel):
    escalation_id: int
    conversation_id: str


class CsatIn(StrictModel):
    conversation_id: Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=_NO_NUL)]
    # strict: "4", 4.0 or true are no rating; the range is the domain's rule (triage.domain.csat)
    rating: StrictInt
    # what the question was about, as the bot kept it: "bot" or "escalation:<id>" (triage.domain.csat)
    about: Annotated[str, StringConstraints(max_length=40, pattern=r"^(bot|escalation:\d{1,18})$")] | None = (
        None
    )
    channel: Annotated[str, StringConstraints(max_length=64, pattern=_NO_NUL)] | None = None


class CsatOut(BaseModel):
    id: int
    conversation_id: str
    rating: int
    escalated: bool
    escalation_id: int | None
    replaced: bool


class AgentStatusIn(StrictModel):
    status: AgentStatus


class AgentOut(UserOut):
    load: int
    requeued: list[str] = Field(default_factory=list)


# ---- queues and figures ----
class WaitingOut(BaseModel):
    id: str
    priority: int | None
    priority_band: str | None
    queued_at: UtcDateTime | None
    waiting_s: float
    sla_deadline: UtcDateTime | None
    sla_remaining_s: float | None
    sla_breached: bool


class QueueOut(BaseModel):
    name: str
    waiting: list[WaitingOut]
    assigned: int
    breaches: int
    oldest_wait_s: float


class HourCount(BaseModel):
    hour: UtcDateTime
    count: int


class QueueFigures(BaseModel):
    queue: str
    escalations: int
    flag_precision: float | None
    median_first_reply_s: float | None
    median_resolution_s: float | None
    sla_breach_rate: float | None


class AgentFigures(BaseModel):
    agent_id: int
    name: str
    conversations_answered: int
    replies: int
    resolved: int


class FiguresOut(BaseModel):
    window_hours: int
    conversations: int  # started in the window
    escalations: int
    escalation_rate: float | None  # conversations escalated / conversations started, in the window
    escalations_per_hour: list[HourCount]
    # the latest verdict per escalation; an unflagged escalation counts as a wrong flag
    flag_precision: float | None
    feedback_count: int
    median_first_reply_s: float | None  # escalation -> first agent reply
    median_resolution_s: float | None  # escalation -> resolved
    sla_breach_rate: float | None
    stress_histogram: list[int]
    stress_bins: list[float]
    by_queue: list[QueueFigures]
    by_agent: list[AgentFigures]
    # customers' 1-5 ratings given in the window (api/figures_csat.py): the average, how many, breakdowns
    csat_average: float | None
    csat_responses: int
    csat: CsatFigures
