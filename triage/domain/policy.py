"""The triage policy: pure, additive, explainable. No I/O apart from reading the YAML in `load_policy`.

Each factor adds whole points to a priority (0..100); the conversation escalates when the priority
reaches ``escalate_at``. The decision lists every factor with its value and contribution, so "why was
this escalated?" is answered by the decision itself. Besides the emotion model's stress, the policy weighs
what ``triage.domain.signals`` finds in the latest customer text (capitals, repeated punctuation, angry
emoji, profanity, threats, a request for a person); those factors carry the words they point at. The
model's stress counts only for a message in a language the model reads (``triage.domain.language``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from triage.domain import form_help, signals
from triage.domain.language import model_reads
from triage.domain.signals import Finding, Span, WordList
from triage.errors import PolicyError

# what a customer counts as until the bot says otherwise (the Conversation column default too)
DEFAULT_TIER = "standard"
# how many of a conversation's latest customer intents are kept for the topic (``topic.turns`` is at most
# this; the worker keeps this many with the conversation)
MAX_RECENT_INTENTS = 10
# the factor that shows a stress score set aside because the model does not read the message's language
STRESS_UNRELIABLE = "stress_unreliable"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class StressFactor(_Strict):
    weight: float = Field(ge=0)
    min: float = Field(ge=0, le=1)
    # the languages the emotion model was trained on (ISO 639-1): its stress of a message in another
    # language is set aside (shown, never counted), and so is the trend it would make
    languages: list[str] = Field(default_factory=lambda: ["en"], min_length=1)


class TrendFactor(_Strict):
    window: int = Field(ge=1, le=20)
    weight: float = Field(ge=0)
    min_rise: float = Field(ge=0, le=1)


class FallbackFactor(_Strict):
    min_count: int = Field(ge=1)
    per_fallback: float = Field(ge=0)
    max_points: float = Field(ge=0)


class HumanRequestFactor(_Strict):
    points: float = Field(ge=0)


class SignalFactor(_Strict):
    """Points for a signal in the latest customer text: ``per_hit`` for each word it points at once there
    are ``min_count`` of them, at most ``max_points``."""

    min_count: int = Field(ge=1)
    per_hit: float = Field(ge=0)
    max_points: float = Field(ge=0)


class ProfanityFactor(SignalFactor):
    # whole words, lower case; "word*" also matches every word it begins
    words: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _check_words(self) -> ProfanityFactor:
        bad = [w for w in self.words if not w.strip(" *") or w != w.strip().lower() or " " in w]
        if bad:
            raise ValueError(f"profanity words must be single lower-case words: {bad[:3]}")
        return self


class SignalFactors(_Strict):
    shouting: SignalFactor
    punctuation: SignalFactor
    angry_emoji: SignalFactor
    profanity: ProfanityFactor
    leaving: SignalFactor
    regulator: SignalFactor


class TopicRule(_Strict):
    """The conversation's topic: its most recent specific intent within the last ``turns`` customer turns."""

    turns: int = Field(ge=1, le=MAX_RECENT_INTENTS)
    not_specific: list[str] = Field(default_factory=list)


class TimeSpentFactor(_Strict):
    after_minutes: float = Field(ge=0)
    per_minute: float = Field(ge=0)
    max_points: float = Field(ge=0)


class Factors(_Strict):
    stress: StressFactor
    trend: TrendFactor
    fallbacks: FallbackFactor
    human_request: HumanRequestFactor
    person_request: HumanRequestFactor
    signals: SignalFactors
    topic: TopicRule
    # None: not weighed (a policy from before it)
    form_failures: form_help.FormFailuresFactor | None = None
    urgent_intents: dict[str, float] = Field(default_factory=dict)
    tiers: dict[str, float] = Field(default_factory=dict)
    time_spent: TimeSpentFactor


class Band(_Strict):
    name: str = Field(min_length=1)
    min: int = Field(ge=0, le=100)
    sla_seconds: int = Field(gt=0)


class PolicyConfig(_Strict):
    """The validated content of ``policy.yaml``."""

    version: str = Field(min_length=1)
    escalate_at: int = Field(ge=0, le=100)
    factors: Factors
    bands: list[Band] = Field(min_length=1)
    default_queue: str = Field(min_length=1)
    queues: dict[str, list[str]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check_bands_and_queues(self) -> PolicyConfig:
        mins = [band.min for band in self.bands]
        if mins != sorted(mins, reverse=True) or len(set(mins)) != len(mins):
            raise ValueError("bands must be listed highest first with strictly decreasing 'min'")
        if mins[-1] != 0:
            raise ValueError("the last band must have min 0 so that every priority has a band")
        names = [band.name for band in self.bands]
        if len(set(names)) != len(names):
            raise ValueError("band names must be unique")
        seen: dict[str, str] = {}
        for queue, intents in self.queues.items():
            for intent in intents:
                if intent in seen:
                    raise ValueError(f"intent {intent!r} is mapped to both {seen[intent]!r} and {queue!r}")
                seen[intent] = queue
        return self

    @property
    def queue_names(self) -> list[str]:
        return sorted({self.default_queue, *self.queues})


@dataclass(frozen=True)
class PolicyInput:
    """What the policy sees about a conversation after its latest customer utterance."""

    latest_stress: float | None
    stress_trajectory: list[float] = field(default_factory=list)
    fallback_count: int = 0
    human_requested: bool = False
    intent: str | None = None  # the latest customer utterance's
    customer_tier: str = DEFAULT_TIER
    minutes_elapsed: float = 0.0
    # the intents of the latest customer utterances, oldest first, the latest included (None: no intent)
    recent_intents: Sequence[str | None] = ()
    # what ``Policy.detect`` found in the latest customer text
    signals: Sequence[Finding] = ()
    # the customer's failed attempts in the bot's current form, as the bot's marked message says
    form_failures: int = 0
    # the latest customer message's language (ISO 639-1; None: unknown, taken as one the model reads)
    language: str | None = None


@dataclass(frozen=True)
class FactorContribution:
    factor: str
    value: Any
    contribution: int
    text: str
    # the words a signal factor points at (offsets into the message's redacted text); None for the others
    words: tuple[Span, ...] | None = None
    message_id: int | None = None  # the message those words are in, once it is stored


@dataclass(frozen=True)
class Decision:
    """The policy's result for one conversation."""

    escalate: bool
    priority: int  # 0..100
    band: str
    queue: str
    factors: list[FactorContribution]
    policy_version: str
    sla_seconds: int
    total: int  # sum of the contributions before capping at 100

    def factors_as_dicts(self) -> list[dict[str, Any]]:
        """``{"factor", "value", "contribution", "text"}``, and for a signal factor also ``"words":
        [{"word", "start", "end"}]`` and, once the message is stored, its ``"message_id"``."""
        out = []
        for f in self.factors:
            data = asdict(f)
            if f.words is None:
                del data["words"]
            else:
                data["words"] = list(data["words"])
            if f.message_id is None:
                del data["message_id"]
            out.append(data)
        return out

    def in_message(self, message_id: int) -> Decision:
        """The same decision, its signal factors pointing into the stored message ``message_id``."""
        factors = [f if f.words is None else replace(f, message_id=message_id) for f in self.factors]
        return replace(self, factors=factors)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["factors"] = self.factors_as_dicts()
        return data


class Policy:
    """Evaluates :class:`PolicyInput` against a validated :class:`PolicyConfig`."""

    def __init__(self, config: PolicyConfig) -> None:
        self.config = config
        self._queue_of_intent = {
            intent: queue for queue, intents in config.queues.items() for intent in intents
        }
        self._profane = WordList.of(config.factors.signals.profanity.words)
        self._not_specific = frozenset(config.factors.topic.not_specific)

    @property
    def version(self) -> str:
        return self.config.version

    def queue_for(self, intent: str | None) -> str:
        if intent is None:
            return self.config.default_queue
        return self._queue_of_intent.get(intent, self.config.default_queue)

    def topic(self, data: PolicyInput) -> str | None:
        """The conversation's topic: the most recent specific intent of the last ``topic.turns`` customer
        turns, so a complaint followed by an angry message the NLU cannot place keeps its queue. Without
        a specific one, the latest intent."""
        turns = list(data.recent_intents)[-self.config.factors.topic.turns :] or [data.intent]
        for intent in reversed(turns):
            if intent and intent not in self._not_specific:
                return intent
        return data.intent

    def detect(self, text: str) -> tuple[Finding, ...]:
        """The signals in a customer's (redacted) text, with this policy's word lists."""
        return signals.detect(text, self._profane)

    def stress_reliable(self, language: str | None) -> bool:
        """Whether the model's stress of a message in ``language`` counts (``stress.languages``)."""
        return model_reads(language, self.config.factors.stress.languages)

    def band_for(self, priority: int) -> Band:
        for band in self.config.bands:
            if priority >= band.min:
                return band
        return self.config.bands[-1]  # unreachable: the validator demands a band with min 0

    def evaluate(self, data: PolicyInput, *, force_escalate: bool = False) -> Decision:
        """Score the conversation; ``force_escalate`` is for hand-offs that people asked for."""
        topic = self.topic(data)
        factors = [
            f
            for f in (
                self._stress(data),
                self._trend(data),
                *self._signals(data),
                self._fallbacks(data),
                self._form_failures(data),
                self._human_request(data),
                self._urgent_intent(topic),
                self._tier(data),
                self._time_spent(data),
            )
            if f is not None
        ]
        total = sum(f.contribution for f in factors)
        priority = max(0, min(100, total))
        band = self.band_for(priority)
        return Decision(
            escalate=force_escalate or priority >= self.config.escalate_at,
            priority=priority,
            band=band.name,
            queue=self.queue_for(topic),
            factors=factors,
            policy_version=self.version,
            sla_seconds=band.sla_seconds,
            total=total,
        )

    def with_priority(self, decision: Decision, priority: int) -> Decision:
        """The same decision with a person's priority override (band and SLA follow the priority)."""
        band = self.band_for(priority)
        return Decision(
            escalate=decision.escalate,
            priority=priority,
            band=band.name,
            queue=decision.queue,
            factors=decision.factors,
            policy_version=decision.policy_version,
            sla_seconds=band.sla_seconds,
            total=decision.total,
        )

    # -- factors -------------------------------------------------------------------------------
    def _stress(self, data: PolicyInput) -> FactorContribution | None:
        cfg = self.config.factors.stress
        if data.latest_stress is None or data.latest_stress < cfg.min:
            return None
        if not self.stress_reliable(data.language):
            # listed with no points, so the agent sees that a high score was there and why it did not count
            languages = ", ".join(cfg.languages)
            return FactorContribution(
                STRESS_UNRELIABLE,
                round(data.latest_stress, 2),
                0,
                f"stress {data.latest_stress:.2f} not counted: the message is in {data.language}, the model "
                f"reads {languages} -> +0",
            )
        points = _points(cfg.weight * data.latest_stress)
        return FactorContribution(
            "stress", round(data.latest_stress, 2), points, f"stress {data.latest_stress:.2f} -> +{points}"
        )

    def _trend(self, data: PolicyInput) -> FactorContribution | None:
        cfg = self.config.factors.trend
        if not self.stress_reliable(data.language):
            return None  # a rise to a score the model cannot vouch for
        rise = stress_rise(data.stress_trajectory, cfg.window)
        if rise is None or rise < cfg.min_rise:
            return None
        points = _points(cfg.weight * rise)
        return FactorContribution(
            "trend", round(rise, 2), points, f"stress rising +{rise:.2f} over {cfg.window} turns -> +{points}"
        )

    def _fallbacks(self, data: PolicyInput) -> FactorContribution | None:
        cfg = self.config.factors.fallbacks
        if data.fallback_count < cfg.min_count:
            return None
        points = _points(min(cfg.max_points, cfg.per_fallback * data.fallback_count))
        return FactorContribution(
            "fallbacks", data.fallback_count, points, f"{data.fallback_count} fallbacks -> +{points}"
        )

    def _form_failures(self, data: PolicyInput) -> FactorContribution | None:
        cfg = self.config.factors.form_failures
        if cfg is None or not cfg.applies(data.form_failures):
            return None
        points = _points(cfg.points)
        text = f"{data.form_failures} failed answers in a form -> +{points}"
        return FactorContribution(form_help.FACTOR, data.form_failures, points, text) if points else None

    def _signals(self, data: PolicyInput) -> list[FactorContribution | None]:
        """One factor per intensity signal of the latest text (the request for a person is weighed with
        the NLU's request, in ``_human_request``)."""
        cfg = self.config.factors.signals
        weights: dict[str, tuple[SignalFactor, str]] = {
            signals.SHOUTING: (cfg.shouting, "SHOUTING ({n} {words})"),
            signals.PUNCTUATION: (cfg.punctuation, "repeated !/? ({n}x)"),
            signals.ANGRY_EMOJI: (cfg.angry_emoji, "angry emoji ({n})"),
            signals.PROFANITY: (cfg.profanity, "profanity ({n} {words})"),
            signals.LEAVING: (cfg.leaving, "threat to leave"),
            signals.REGULATOR: (cfg.regulator, "threat to go to a regulator"),
        }
        out: list[FactorContribution | None] = []
        for finding in data.signals:
            if finding.signal not in weights:
                continue
            weight, label = weights[finding.signal]
            if finding.count < weight.min_count:
                continue
            points = _points(min(weight.max_points, weight.per_hit * finding.count))
            if not points:
                continue
            words = "word" if finding.count == 1 else "words"
            text = f"{label.format(n=finding.count, words=words)} -> +{points}"
            out.append(FactorContribution(finding.signal, finding.count, points, text, words=finding.spans))
        return out

    def _human_request(self, data: PolicyInput) -> FactorContribution | None:
        """A request for a person, counted once: through the NLU or the bot (``human_request``), else found
        in the latest text only (``person_request``); with the words when the text shows it."""
        asked = next((f for f in data.signals if f.signal == signals.PERSON_REQUEST), None)
        if data.human_requested:
            name, points = "human_request", _points(self.config.factors.human_request.points)
        elif asked is not None:
            name, points = signals.PERSON_REQUEST, _points(self.config.factors.person_request.points)
        else:
            return None
        text = f"asked for a person -> +{points}"
        if asked is None:
            return FactorContribution(name, True, points, text)
        # the words are in `words` only, never in the text: erasure and retention strip `words` from the
        # audit trail, and a text quoting the customer would outlive them
        return FactorContribution(name, True, points, text, asked.spans)

    def _urgent_intent(self, topic: str | None) -> FactorContribution | None:
        weight = self.config.factors.urgent_intents.get(topic or "")
        if not weight:
            return None
        points = _points(weight)
        return FactorContribution("intent", topic, points, f"intent {topic} -> +{points}")

    def tier_points(self, tier: str) -> int:
        """The points a customer tier adds (0 for a tier the policy does not list)."""
        return _points(self.config.factors.tiers.get(tier, 0))

    def _tier(self, data: PolicyInput) -> FactorContribution | None:
        points = self.tier_points(data.customer_tier)
        if not points:
            return None
        return FactorContribution(
            "tier", data.customer_tier, points, f"tier {data.customer_tier} -> +{points}"
        )

    def _time_spent(self, data: PolicyInput) -> FactorContribution | None:
        cfg = self.config.factors.time_spent
        over = data.minutes_elapsed - cfg.after_minutes
        if over <= 0:
            return None
        points = _points(min(cfg.max_points, cfg.per_minute * over))
        if not points:
            return None
        return FactorContribution(
            "time_spent",
            round(data.minutes_elapsed, 1),
            points,
            f"{data.minutes_elapsed:.0f} min in conversation -> +{points}",
        )


def _points(value: float) -> int:
    """Whole points, rounding away float noise first (40 * 0.49999999 must give 20, not 19)."""
    return math.floor(round(value, 6))


def stress_rise(trajectory: list[float], window: int) -> float | None:
    """Mean stress of the last ``window`` turns minus the mean of the ``window`` turns before them.

    With fewer than ``window + 1`` turns the earlier part is whatever precedes the last window; with
    a single turn there is no trend.
    """
    if len(trajectory) < 2:
        return None
    recent = trajectory[-window:] if len(trajectory) > window else trajectory[1:]
    earlier_end = len(trajectory) - len(recent)
    earlier = trajectory[max(0, earlier_end - window) : earlier_end]
    return sum(recent) / len(recent) - sum(earlier) / len(earlier)


def parse_policy(data: Any, *, source: str = "policy") -> Policy:
    """Validate a parsed YAML document; raise :class:`PolicyError` naming the offending fields."""
    try:
        return Policy(PolicyConfig.model_validate(data))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}" for err in exc.errors()
        )
        raise PolicyError(f"invalid triage policy {source}: {problems}") from exc


def load_policy(path: Path | str) -> Policy:
    """Read and validate a policy YAML file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"cannot read triage policy {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise PolicyError(f"triage policy {path} is not valid YAML: {exc}") from exc
    return parse_policy(data, source=str(path))


@lru_cache(maxsize=4)
def _cached_policy(path: str, mtime_ns: int) -> Policy:
    return load_policy(path)


def policy_at(path: Path | str) -> Policy:
    """The policy file's current content, re-read only when the file changes (one cache for the api's
    services and the worker, so both apply the same version once the file is edited)."""
    path = Path(path)
    try:
        mtime = path.stat().st_mtime_ns
    except OSError as exc:
        raise PolicyError(f"cannot read triage policy {path}: {exc.strerror}") from exc
    return _cached_policy(str(path), mtime)


def current_policy() -> Policy:
    """The policy at ``CLEARLINE_POLICY_PATH``, re-read when the file changes."""
    from triage.settings import get_settings

    return policy_at(get_settings().policy_path)
