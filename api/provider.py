"""The card provider's records, read at request time for the agent's customer panel (read-only).

The action server owns the provider's demo database (bot/actions/provider_db.py, SQLAlchemy 1.4 under
Rasa's Python 3.10); this process cannot import it, so the tables are described here again with SQLAlchemy
Core, only the columns the panel reads. Nothing read here is written to Clearline's tables or logs.

Read-only on both sides: an SQLite file is opened with ``mode=ro`` (a missing file stays missing instead of
being created empty), a PostgreSQL session with ``default_transaction_read_only``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import lru_cache
from typing import Any

import structlog
from sqlalchemy import (
    Column,
    Connection,
    Date,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    inspect,
    select,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import SQLAlchemyError

from triage.privacy.rasa import clearline_url

log = structlog.get_logger("api.provider")

RECENT = 5  # transfers and refunds shown, newest first
CONNECT_TIMEOUT_S = 3  # an agent waits on this: a provider that does not answer is "unavailable" soon

_meta = MetaData()
customers = Table(
    "customers",
    _meta,
    Column("id", Integer, primary_key=True),
    Column("name", String(120)),
    Column("sender_id", String(120)),
    Column("tier", String(20)),  # absent in databases from before tiers (provider_db.upgrade_schema)
)
cards = Table(
    "cards",
    _meta,
    Column("id", Integer, primary_key=True),
    Column("customer_id", Integer),
    Column("last_four", String(4)),
    Column("kind", String(20)),
    Column("status", String(20)),  # the enum's name as SQLAlchemy stores it: "SHIPPED"
    Column("dispatched_on", Date),
    Column("expected_by", Date),
)
transfers = Table(
    "transfers",
    _meta,
    Column("id", Integer, primary_key=True),
    Column("reference", String(20)),
    Column("customer_id", Integer),
    Column("recipient", String(120)),
    Column("amount_minor", Integer),
    Column("currency", String(3)),
    Column("status", String(20)),
    Column("created_on", Date),
    Column("settled_on", Date),
    Column("expected_by", Date),
    Column("failure_reason", String(200)),
)
refunds = Table(
    "refunds",
    _meta,
    Column("id", Integer, primary_key=True),
    Column("reference", String(20)),
    Column("customer_id", Integer),
    Column("merchant", String(120)),
    Column("amount_minor", Integer),
    Column("currency", String(3)),
    Column("status", String(20)),
    Column("issued_on", Date),
    Column("expected_by", Date),
    Column("completed_on", Date),
    Column("rejection_reason", String(200)),
)


class ProviderUnavailable(Exception):
    """The provider's records cannot be read: not configured, unreachable, or not the expected tables."""


# -- money -----------------------------------------------------------------------------------------------

# ISO 4217 minor-unit exponents that are not 2 (the rest of the currencies in use have cents)
_EXPONENTS = {
    **dict.fromkeys(("JPY", "KRW", "ISK", "CLP", "VND"), 0),
    **dict.fromkeys(("BHD", "KWD", "OMR", "JOD", "TND"), 3),
}
_SYMBOLS = {"GBP": "£", "EUR": "€", "USD": "$"}


def format_money(amount_minor: int, currency: str) -> str:
    """``25000, "GBP"`` -> ``"£250.00"``; a currency without a symbol here: ``"CHF 12.50"``. Exact."""
    code = currency.upper()
    exponent = _EXPONENTS.get(code, 2)
    major = Decimal(abs(amount_minor)).scaleb(-exponent)
    number = f"{major:,.{exponent}f}"
    sign = "-" if amount_minor < 0 else ""
    symbol = _SYMBOLS.get(code)
    return f"{sign}{symbol}{number}" if symbol else f"{sign}{code} {number}"


# -- what the panel gets -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CardView:
    last_four: str
    kind: str
    status: str
    dispatched_on: date | None
    expected_by: date | None


@dataclass(frozen=True)
class TransferView:
    reference: str
    counterparty: str
    amount_minor: int
    currency: str
    amount: str
    status: str
    created_on: date
    settled_on: date | None
    expected_by: date | None
    failure_reason: str | None


@dataclass(frozen=True)
class RefundView:
    reference: str
    merchant: str
    amount_minor: int
    currency: str
    amount: str
    status: str
    issued_on: date
    expected_by: date | None
    completed_on: date | None
    rejection_reason: str | None


@dataclass(frozen=True)
class CustomerView:
    name: str
    tier: str | None  # None: the provider's database predates tiers
    cards: list[CardView]
    transfers: list[TransferView]
    refunds: list[RefundView]


# -- reading -----------------------------------------------------------------------------------------------


def _read_only_url(url: str) -> tuple[URL, dict[str, Any]]:
    parsed = make_url(clearline_url(url))
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if parsed.database in (None, "", ":memory:"):
            raise ProviderUnavailable("the provider database URL names no SQLite file")
        # the URI form opens the file read-only and never creates it
        uri = parsed.set(database=f"file:{parsed.database}", query={"mode": "ro", "uri": "true"})
        return uri, {"connect_args": {"timeout": CONNECT_TIMEOUT_S}}
    if backend == "postgresql":
        options = "-c default_transaction_read_only=on"
        return parsed, {"connect_args": {"connect_timeout": CONNECT_TIMEOUT_S, "options": options}}
    return parsed, {}


@lru_cache(maxsize=4)
def _engine(url: str) -> Engine:
    target, kwargs = _read_only_url(url)
    return create_engine(target, pool_pre_ping=True, **kwargs)


def _status(value: str | None) -> str:
    return (value or "").lower()


def _cards(conn: Connection, customer_id: int) -> list[CardView]:
    rows = conn.execute(select(cards).where(cards.c.customer_id == customer_id).order_by(cards.c.id))
    return [CardView(r.last_four, r.kind, _status(r.status), r.dispatched_on, r.expected_by) for r in rows]


def _newest(conn: Connection, payments: Table, customer_id: int, day: Column[Any]) -> list[Any]:
    stmt = (
        select(payments)
        .where(payments.c.customer_id == customer_id)
        .order_by(day.desc(), payments.c.id.desc())
        .limit(RECENT)
    )
    return list(conn.execute(stmt))


def _payment(row: Any) -> dict[str, Any]:
    """What a transfer and a refund share: the reference, the amount (also formatted) and the status."""
    return {
        "reference": row.reference,
        "amount_minor": row.amount_minor,
        "currency": row.currency,
        "amount": format_money(row.amount_minor, row.currency),
        "status": _status(row.status),
    }


def _transfers(conn: Connection, customer_id: int) -> list[TransferView]:
    return [
        TransferView(
            **_payment(r),
            counterparty=r.recipient,
            created_on=r.created_on,
            settled_on=r.settled_on,
            expected_by=r.expected_by,
            failure_reason=r.failure_reason,
        )
        for r in _newest(conn, transfers, customer_id, transfers.c.created_on)
    ]


def _refunds(conn: Connection, customer_id: int) -> list[RefundView]:
    return [
        RefundView(
            **_payment(r),
            merchant=r.merchant,
            issued_on=r.issued_on,
            expected_by=r.expected_by,
            completed_on=r.completed_on,
            rejection_reason=r.rejection_reason,
        )
        for r in _newest(conn, refunds, customer_id, refunds.c.issued_on)
    ]


def _customer_columns(conn: Connection) -> Sequence[Column[Any]]:
    present = {c["name"] for c in inspect(conn).get_columns("customers")}
    return [c for c in customers.c if c.name in present]


def customer_for_sender(url: str | None, sender_id: str) -> CustomerView | None:
    """The customer the provider's records map this sender id to, with cards and recent payments; None
    when no customer has it.

    Raises:
        ProviderUnavailable: no URL configured, a URL that cannot be used, or a database that cannot be
            read (down, missing file, missing tables). The cause is logged by kind only (no URL, no values).
    """
    if not url:
        raise ProviderUnavailable("no provider database is configured (CLEARLINE_PROVIDER_DB_URL)")
    try:
        with _engine(url).connect() as conn:
            columns = _customer_columns(conn)
            row = conn.execute(select(*columns).where(customers.c.sender_id == sender_id)).first()
            if row is None:
                return None
            found = row._mapping
            return CustomerView(
                name=found["name"],
                tier=found.get("tier"),
                cards=_cards(conn, found["id"]),
                transfers=_transfers(conn, found["id"]),
                refunds=_refunds(conn, found["id"]),
            )
    except ProviderUnavailable:
        raise
    except (SQLAlchemyError, ImportError, ValueError) as exc:
        log.warning("provider_unavailable", error=type(exc).__name__)
        raise ProviderUnavailable("the provider's records cannot be read right now") from exc
