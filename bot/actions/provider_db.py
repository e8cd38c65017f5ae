"""The card provider's own database (demo): customers, cards, transfers, refunds.

SQLAlchemy ORM written for 1.4 (the version Rasa 3.6 pins) with `select()` queries, so it also runs on 2.0.
Nothing is created at import time: `create_schema` and `python -m actions.provider_db seed` do that, and they
also bring a database of an earlier version up to date (`upgrade_schema`).
"""

import argparse
import datetime as dt
import enum
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import (
    Column,
    Date,
    Enum,
    ForeignKey,
    Integer,
    String,
    create_engine,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.orm import Session, declarative_base, deferred, relationship, sessionmaker, validates

logger = logging.getLogger(__name__)
Base = declarative_base()

# The customer's service tier; Clearline's triage policy weighs it (triage/policy.yaml `tiers`).
CUSTOMER_TIERS = ("standard", "premium", "vip")
DEFAULT_TIER = "standard"


class CardStatus(str, enum.Enum):
    ORDERED = "ordered"  # not yet dispatched
    SHIPPED = "shipped"  # on its way to the customer
    ACTIVE = "active"
    FROZEN = "frozen"


class TransferStatus(str, enum.Enum):
    PENDING = "pending"
    COMPLETED = "completed"
    FAILED = "failed"
    RETURNED = "returned"  # the recipient's bank sent the money back


class RefundStatus(str, enum.Enum):
    PROCESSING = "processing"  # issued by the merchant, on its way to the account
    COMPLETED = "completed"
    REJECTED = "rejected"


class Customer(Base):
    __tablename__ = "customers"
    id = Column(Integer, primary_key=True)
    name = Column(String(120), nullable=False)
    email = Column(String(254), nullable=False, unique=True)  # stored lower-case
    # Demo mapping from a conversation's sender id (e.g. a REST channel user) to the customer.
    sender_id = Column(String(120), unique=True, nullable=True)
    # Deferred: loading a customer never reads it, so a database from before the column existed still works
    # (read it with ProviderRepository.tier_of).
    tier = deferred(Column(String(20), nullable=False, default=DEFAULT_TIER, server_default=DEFAULT_TIER))
    cards = relationship("Card", back_populates="customer", order_by="Card.id")

    @validates("tier")
    def _check_tier(self, key: str, value: str) -> str:
        if value not in CUSTOMER_TIERS:
            raise ValueError(f"unknown customer tier {value!r} (one of {', '.join(CUSTOMER_TIERS)})")
        return value


class Card(Base):
    __tablename__ = "cards"
    id = Column(Integer, primary_key=True)
    customer_id = Column(ForeignKey("customers.id"), nullable=False, index=True)
    last_four = Column(String(4), nullable=False)
    kind = Column(String(20), nullable=False, default="physical")
    status = Column(Enum(CardStatus, native_enum=False, length=20), nullable=False)
    dispatched_on = Column(Date, nullable=True)
    expected_by = Column(Date, nullable=True)
    customer = relationship("Customer", back_populates="cards")


class Transfer(Base):
    __tablename__ = "transfers"
    id = Column(Integer, primary_key=True)
    reference = Column(String(20), nullable=False, unique=True)
    customer_id = Column(ForeignKey("customers.id"), nullable=False, index=True)
    recipient = Column(String(120), nullable=False)
    amount_minor = Column(Integer, nullable=False)  # pence/cents: no floating point money
    currency = Column(String(3), nullable=False)
    status = Column(Enum(TransferStatus, native_enum=False, length=20), nullable=False)
    created_on = Column(Date, nullable=False)
    settled_on = Column(Date, nullable=True)
    expected_by = Column(Date, nullable=True)
    failure_reason = Column(String(200), nullable=True)


class Refund(Base):
    __tablename__ = "refunds"
    id = Column(Integer, primary_key=True)
    reference = Column(String(20), nullable=False, unique=True)
    customer_id = Column(ForeignKey("customers.id"), nullable=False, index=True)
    merchant = Column(String(120), nullable=False)
    amount_minor = Column(Integer, nullable=False)
    currency = Column(String(3), nullable=False)
    status = Column(Enum(RefundStatus, native_enum=False, length=20), nullable=False)
    issued_on = Column(Date, nullable=False)
    expected_by = Column(Date, nullable=True)
    completed_on = Column(Date, nullable=True)
    rejection_reason = Column(String(200), nullable=True)


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    return create_engine(url, future=True, pool_pre_ping=True)


def create_schema(url: str) -> Engine:
    """Create the tables (and the SQLite file's folder) if they do not exist yet, and upgrade old ones."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = get_engine(url)
    Base.metadata.create_all(engine)
    for change in upgrade_schema(engine):
        logger.warning("provider database upgraded: %s", change)
    return engine


_TIER_COLUMN_SEEN: set[str] = set()  # database URLs whose customers table has the tier column


def has_tier_column(connection: Connection) -> bool:
    return "tier" in {column["name"] for column in inspect(connection).get_columns(Customer.__tablename__)}


def upgrade_schema(engine: Engine) -> list[str]:
    """Add what earlier versions lacked (the only change so far: `customers.tier`); returns what it did.

    `create_all` never alters an existing table. Existing customers get the default tier.
    """
    with engine.begin() as connection:
        if has_tier_column(connection):
            return []
        connection.execute(
            text("ALTER TABLE customers ADD COLUMN tier VARCHAR(20) DEFAULT 'standard' NOT NULL")
        )
    return ["added column customers.tier"]


@contextmanager
def session_scope(url: str) -> Iterator[Session]:
    """One unit of work: commits on success, rolls back on any error."""
    factory = sessionmaker(bind=get_engine(url), future=True, expire_on_commit=False)
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


class ProviderRepository:
    """The queries the actions need; takes a session, never commits (session_scope does)."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def customer_for_sender(self, sender_id: str) -> Customer | None:
        return self.session.execute(
            select(Customer).where(Customer.sender_id == sender_id)
        ).scalar_one_or_none()

    def customer_by_email(self, email: str) -> Customer | None:
        statement = select(Customer).where(func.lower(Customer.email) == email.strip().lower())
        return self.session.execute(statement).scalar_one_or_none()

    def tier_of(self, customer: Customer) -> str | None:
        """The customer's tier; None when the database predates tiers (`seed` upgrades it)."""
        url = str(self.session.get_bind().url)
        if url not in _TIER_COLUMN_SEEN:  # a column once there stays: look at the schema until then only
            if not has_tier_column(self.session.connection()):
                logger.warning("provider database lacks customers.tier: `actions.provider_db seed` adds it")
                return None
            _TIER_COLUMN_SEEN.add(url)
        return self.session.execute(select(Customer.tier).where(Customer.id == customer.id)).scalar_one()

    def verify_customer(self, email: str, last_four: str) -> Customer | None:
        """The customer with this email who holds a card ending in `last_four`, else None."""
        customer = self.customer_by_email(email)
        if customer is None or all(card.last_four != last_four for card in customer.cards):
            return None
        return customer

    def cards_of(self, customer: Customer) -> list[Card]:
        return list(customer.cards)

    def card(self, customer: Customer, last_four: str) -> Card | None:
        return next((card for card in customer.cards if card.last_four == last_four), None)

    def freeze(self, card: Card) -> bool:
        """Freeze the card; returns False when it was already frozen."""
        if card.status == CardStatus.FROZEN:
            return False
        card.status = CardStatus.FROZEN
        self.session.flush()
        return True

    def transfer(self, customer: Customer, reference: str) -> Transfer | None:
        statement = select(Transfer).where(
            Transfer.customer_id == customer.id, Transfer.reference == reference
        )
        return self.session.execute(statement).scalar_one_or_none()

    def refund(self, customer: Customer, reference: str) -> Refund | None:
        statement = select(Refund).where(Refund.customer_id == customer.id, Refund.reference == reference)
        return self.session.execute(statement).scalar_one_or_none()


def main(argv: list[str] | None = None) -> int:
    from actions.provider_seed import seed_demo_data
    from actions.settings import get_settings

    parser = argparse.ArgumentParser(description="The provider's demo database.")
    parser.add_argument(
        "command",
        choices=["seed"],
        help="seed: create (or upgrade) the tables and the demo rows (idempotent)",
    )
    parser.add_argument("--url", default=None, help="SQLAlchemy URL (default: $CLEARLINE_PROVIDER_DB_URL)")
    args = parser.parse_args(argv)
    url = args.url or get_settings().provider_db_url
    create_schema(url)
    with session_scope(url) as session:
        changed = seed_demo_data(session, today=dt.date.today())
    where = make_url(url).render_as_string(hide_password=True)
    print(f"provider database {where}: {changed} demo rows added or updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
