"""A suggested next action for the agent (issue #20), with its reasons: from what the customer asked (the
intents of their turns), what the provider's records say (cards, transfers, refunds) and what the triage
policy weighed on the latest escalation. One best action and at most two alternatives; none when nothing
fits (the answer says why instead of inventing one).

Pure: the caller loads the conversation and the provider's records into the dataclasses below and passes
today's date; nothing here reads a database, the network or a clock.

Ranking: each rule has a base weight (a card at risk first, then money that did not arrive); a rule gains
10 points for each further turn in which the customer asked about it (at most 20), 15 when it is about
the conversation's latest specific intent, and 10 when the policy weighed that intent on the latest
escalation. Equal scores keep the rules' order, then the provider's (newest record first).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

MAX_SUGGESTIONS = 3  # the best and two alternatives
ASK_POINTS, MAX_ASK_POINTS = 10, 20
LATEST_POINTS = 15
POLICY_POINTS = 10

# What the customer asked, by family of BANKING77 intents (names exactly as in bot/domain/banking77.yml)
CARD_AT_RISK = frozenset(
    {
        "lost_or_stolen_card",
        "compromised_card",
        "card_payment_not_recognised",
        "cash_withdrawal_not_recognised",
    }
)
CARD_NOT_WORKING = frozenset(
    {
        "card_not_working",
        "declined_card_payment",
        "declined_cash_withdrawal",
        "contactless_not_working",
        "virtual_card_not_working",
    }
)
CARD_ON_ITS_WAY = frozenset({"card_arrival", "card_delivery_estimate"})
TRANSFER = frozenset(
    {
        "failed_transfer",
        "declined_transfer",
        "transfer_not_received_by_recipient",
        "pending_transfer",
        "transfer_timing",
        "balance_not_updated_after_bank_transfer",
        "beneficiary_not_allowed",
    }
)
REFUND_AWAITED = frozenset({"Refund_not_showing_up", "request_refund", "reverted_card_payment?"})
CHARGED_WRONGLY = frozenset({"transaction_charged_twice", "extra_charge_on_statement", "request_refund"})

# how a reason says what the customer asked
ASKED = {
    "lost_or_stolen_card": "reports the card lost or stolen",
    "compromised_card": "thinks the card is compromised",
    "card_payment_not_recognised": "does not recognise a card payment",
    "cash_withdrawal_not_recognised": "does not recognise a cash withdrawal",
    "card_not_working": "says the card does not work",
    "declined_card_payment": "had a card payment declined",
    "declined_cash_withdrawal": "had a cash withdrawal declined",
    "contactless_not_working": "says contactless does not work",
    "virtual_card_not_working": "says the virtual card does not work",
    "card_arrival": "asks where the card is",
    "card_delivery_estimate": "asks when the card will arrive",
    "failed_transfer": "says a transfer failed",
    "declined_transfer": "says a transfer was declined",
    "transfer_not_received_by_recipient": "says the recipient did not get a transfer",
    "pending_transfer": "asks about a pending transfer",
    "transfer_timing": "asks how long a transfer takes",
    "balance_not_updated_after_bank_transfer": "says a transfer is not in the balance",
    "beneficiary_not_allowed": "says a payee is not allowed",
    "Refund_not_showing_up": "says a refund is not showing up",
    "request_refund": "asks for a refund",
    "reverted_card_payment?": "asks about a reverted card payment",
    "transaction_charged_twice": "says they were charged twice",
    "extra_charge_on_statement": "sees an extra charge on the statement",
}


# -- what comes in ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Card:
    last_four: str
    status: str  # ordered | shipped | active | frozen
    expected_by: date | None = None


@dataclass(frozen=True)
class Transfer:
    reference: str
    status: str  # pending | completed | failed | returned
    counterparty: str = ""
    amount: str = ""  # formatted: "£250.00"
    created_on: date | None = None
    expected_by: date | None = None
    failure_reason: str | None = None


@dataclass(frozen=True)
class Refund:
    reference: str
    status: str  # processing | completed | rejected
    merchant: str = ""
    amount: str = ""
    expected_by: date | None = None
    rejection_reason: str | None = None


@dataclass(frozen=True)
class Records:
    """The provider's records of the conversation's customer, newest payments first."""

    cards: tuple[Card, ...] = ()
    transfers: tuple[Transfer, ...] = ()
    refunds: tuple[Refund, ...] = ()


@dataclass(frozen=True)
class Factor:
    """A factor of the latest escalation as stored: ``{"factor", "value", "contribution", "text"}``."""

    name: str
    value: Any
    points: int
    text: str


@dataclass(frozen=True)
class Situation:
    intents: Sequence[object]  # the customer's turns' intents, oldest first (None or junk: ignored)
    records: Records | None  # None: the provider's records name no customer (or were not read)
    today: date
    factors: Sequence[Factor] = ()  # the latest escalation's; none when it was never escalated


# -- what goes out ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Suggestion:
    key: str  # stable across reads: "freeze_card:4242", "give_refund_date:RFD-200311"
    action: str
    title: str
    reasons: tuple[str, ...]
    evidence: dict[str, Any] = field(default_factory=dict)  # JSON: the intents counted, the record used
    score: int = 0


@dataclass(frozen=True)
class Advice:
    suggestions: tuple[Suggestion, ...]  # best first; empty when nothing fits
    none_because: str | None = None

    @property
    def best(self) -> Suggestion | None:
        return self.suggestions[0] if self.suggestions else None

    def find(self, key: str) -> Suggestion | None:
        return next((s for s in self.suggestions if s.key == key), None)


NO_RECORDS = "the provider's records name no customer for this conversation, so nothing can be checked"
NO_INTENTS = "the customer has asked nothing the suggestion rules know about"
NOTHING_FITS = "nothing in the provider's records fits what the customer asked"


def day(value: date, today: date) -> str:
    """``9 Dec`` (with the year when it is not this year's)."""
    text = f"{value.day} {value:%b}"
    return text if value.year == today.year else f"{text} {value.year}"


# -- the rules ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Asked:
    """What the customer asked about one family of intents."""

    turns: int  # how many of their turns
    latest: str  # the intent of the latest of those turns
    counted: dict[str, int]  # per intent
    is_topic: bool  # the family holds the conversation's latest known intent

    def reason(self) -> str:
        said = f"the customer {ASKED.get(self.latest, f'asked about {self.latest}')}"
        if self.turns == 1:
            return said
        return f"{said} (asked {'twice' if self.turns == 2 else f'{self.turns} times'})"


# each action's base weight: a card at risk first, then money that did not arrive, then dates
WEIGHTS = {
    "freeze_card": 100,
    "explain_transfer": 80,
    "replace_card": 75,
    "chase_transfer": 75,
    "chase_refund": 70,
    "open_refund": 65,
    "explain_refund": 60,
    "explain_frozen_card": 60,
    "give_transfer_date": 55,
    "give_refund_date": 55,
    "give_card_date": 50,
}


@dataclass(frozen=True)
class _Draft:
    action: str
    subject: str  # the card's last four digits, a payment's reference
    title: str
    facts: tuple[str, ...]  # what the records say, and why this action
    record: dict[str, Any]


def _asked(intents: Sequence[str], family: frozenset[str]) -> _Asked | None:
    matched = [i for i in intents if i in family]
    if not matched:
        return None
    counted: dict[str, int] = {}
    for intent in matched:
        counted[intent] = counted.get(intent, 0) + 1
    latest_known = next((i for i in reversed(intents) if i in ASKED), None)
    return _Asked(len(matched), matched[-1], counted, latest_known in family)


def _at_risk(r: Records, today: date) -> Iterable[_Draft]:
    active = [c for c in r.cards if c.status == "active" and c.last_four]
    for card in active:
        facts = [f"card ending {card.last_four} is active: anyone holding its details can still use it"]
        if len(active) > 1:
            facts.append(f"the customer has {len(active)} active cards: ask which one before freezing")
        record = {"card": card.last_four, "status": card.status}
        yield _Draft(
            "freeze_card", card.last_four, f"Freeze the card ending {card.last_four}", tuple(facts), record
        )


def _not_working(r: Records, today: date) -> Iterable[_Draft]:
    for card in r.cards:
        if card.status == "frozen" and card.last_four:
            facts = (f"card ending {card.last_four} is frozen, which declines every payment",)
            title = (
                f"Explain that the card ending {card.last_four} is frozen (unfreeze it if the customer did)"
            )
            record = {"card": card.last_four, "status": card.status}
            yield _Draft("explain_frozen_card", card.last_four, title, facts, record)


def _on_its_way(r: Records, today: date) -> Iterable[_Draft]:
    for card in r.cards:
        if card.status not in ("ordered", "shipped") or card.expected_by is None or not card.last_four:
            continue
        record = {"card": card.last_four, "status": card.status, "expected_by": card.expected_by.isoformat()}
        when = day(card.expected_by, today)
        fact = f"card ending {card.last_four} is {card.status}, expected by {when}"
        if card.expected_by < today:
            title = f"Order a replacement for the card ending {card.last_four} (late)"
            yield _Draft("replace_card", card.last_four, title, (f"{fact}: it is late",), record)
        else:
            title = f"Tell the customer the card ending {card.last_four} is expected by {when}"
            yield _Draft("give_card_date", card.last_four, title, (fact,), record)


def _transfers(r: Records, today: date) -> Iterable[_Draft]:
    for t in r.transfers:
        record: dict[str, Any] = {"transfer": t.reference, "status": t.status}
        paid = " ".join(p for p in (t.amount, f"to {t.counterparty}" if t.counterparty else "") if p)
        if t.status in ("failed", "returned"):
            why = f" ({t.failure_reason})" if t.failure_reason else " (the records give no reason)"
            facts = (f"transfer {t.reference}{' of ' + paid if paid else ''} {t.status}{why}",)
            title = f"Explain why transfer {t.reference} {t.status} and offer to send it again"
            yield _Draft("explain_transfer", t.reference, title, facts, record)
        elif t.status == "pending" and t.expected_by is not None:
            when = day(t.expected_by, today)
            record["expected_by"] = t.expected_by.isoformat()
            if t.expected_by < today:
                facts = (f"transfer {t.reference} is still pending, expected by {when}: it is late",)
                title = f"Chase transfer {t.reference} with payments operations (late)"
                yield _Draft("chase_transfer", t.reference, title, facts, record)
            else:
                facts = (f"transfer {t.reference} is pending, expected by {when}",)
                title = f"Tell the customer transfer {t.reference} is expected by {when}"
                yield _Draft("give_transfer_date", t.reference, title, facts, record)


def _refunds_awaited(r: Records, today: date) -> Iterable[_Draft]:
    for f in r.refunds:
        record: dict[str, Any] = {"refund": f.reference, "status": f.status}
        if f.status == "processing" and f.expected_by is not None:
            when = day(f.expected_by, today)
            record["expected_by"] = f.expected_by.isoformat()
            what = f"refund {f.reference}{f' from {f.merchant}' if f.merchant else ''}"
            if f.expected_by < today:
                facts = (f"{what} is still processing, expected by {when}: it is late",)
                yield _Draft("chase_refund", f.reference, f"Chase refund {f.reference} (late)", facts, record)
            else:
                facts = (f"{what} is processing, expected by {when}",)
                title = f"Tell the customer refund {f.reference} is expected by {when}"
                yield _Draft("give_refund_date", f.reference, title, facts, record)
        elif f.status == "rejected":
            why = f" ({f.rejection_reason})" if f.rejection_reason else " (the records give no reason)"
            facts = (f"refund {f.reference} was rejected{why}",)
            yield _Draft(
                "explain_refund", f.reference, f"Explain why refund {f.reference} was rejected", facts, record
            )


def _open_refund(r: Records, today: date) -> Iterable[_Draft]:
    if any(f.status == "processing" for f in r.refunds):
        return  # a refund is on its way: its date is the answer, not a second one
    facts = ("no refund is processing for this customer: the refund flow has not started",)
    title = "Open a refund request for the disputed charge"
    yield _Draft("open_refund", "charge", title, facts, {"refunds_processing": 0})


# in order of precedence on equal scores
RULES: tuple[tuple[frozenset[str], Callable[[Records, date], Iterable[_Draft]]], ...] = (
    (CARD_AT_RISK, _at_risk),
    (TRANSFER, _transfers),
    (CHARGED_WRONGLY, _open_refund),
    (REFUND_AWAITED, _refunds_awaited),
    (CARD_ON_ITS_WAY, _on_its_way),
    (CARD_NOT_WORKING, _not_working),
)


def _policy_factor(factors: Sequence[Factor], family: frozenset[str]) -> Factor | None:
    return next((f for f in factors if f.name == "intent" and f.value in family), None)


def _finish(draft: _Draft, asked: _Asked, factor: Factor | None) -> Suggestion:
    score = WEIGHTS[draft.action] + min(ASK_POINTS * (asked.turns - 1), MAX_ASK_POINTS)
    score += LATEST_POINTS if asked.is_topic else 0
    reasons = [asked.reason(), *draft.facts]
    if factor is not None:
        score += POLICY_POINTS
        reasons.append(f"the triage policy weighed it on the latest escalation ({factor.text})")
    evidence = {
        "intents": asked.counted,
        "record": draft.record,
        "policy_factor": factor.text if factor else None,
    }
    key = f"{draft.action}:{draft.subject}"
    return Suggestion(key, draft.action, draft.title, tuple(reasons), evidence, score)


def suggest(situation: Situation) -> Advice:
    """The best next action and at most two alternatives, each with its reasons; or none, and why."""
    intents = [i for i in situation.intents if isinstance(i, str)]
    if not any(i in ASKED for i in intents):
        return Advice((), NO_INTENTS)
    if situation.records is None:
        return Advice((), NO_RECORDS)
    found: list[tuple[int, int, int, Suggestion]] = []
    seen: set[str] = set()
    for rank, (family, rule) in enumerate(RULES):
        asked = _asked(intents, family)
        if asked is None:
            continue
        factor = _policy_factor(situation.factors, family)
        for position, draft in enumerate(rule(situation.records, situation.today)):
            suggestion = _finish(draft, asked, factor)
            if suggestion.key not in seen:  # a record answers one question once
                seen.add(suggestion.key)
                found.append((-suggestion.score, rank, position, suggestion))
    if not found:
        return Advice((), NOTHING_FITS)
    found.sort(key=lambda entry: entry[:3])
    return Advice(tuple(entry[3] for entry in found[:MAX_SUGGESTIONS]))
