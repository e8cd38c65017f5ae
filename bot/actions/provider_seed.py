"""Demo customers, cards, transfers and refunds for the provider database (idempotent)."""

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from actions.provider_db import (
    DEFAULT_TIER,
    Card,
    CardStatus,
    Customer,
    Refund,
    RefundStatus,
    Transfer,
    TransferStatus,
)


def _demo_customers(today: dt.date) -> list[dict[str, Any]]:
    day = dt.timedelta(days=1)
    return [
        {
            "name": "Anna Smith",
            "email": "anna.smith@example.com",
            "sender_id": "demo-anna",
            "tier": "premium",
            "cards": [
                {"last_four": "4242", "status": CardStatus.ACTIVE},
                {
                    "last_four": "1881",
                    "status": CardStatus.SHIPPED,
                    "dispatched_on": today - 2 * day,
                    "expected_by": today + 3 * day,
                },
            ],
            "transfers": [
                {
                    "reference": "TRF-100245",
                    "recipient": "J. Carter",
                    "amount_minor": 25000,
                    "currency": "GBP",
                    "status": TransferStatus.PENDING,
                    "created_on": today,
                    "expected_by": today + day,
                },
                {
                    "reference": "TRF-100378",
                    "recipient": "M. Rossi",
                    "amount_minor": 12000,
                    "currency": "EUR",
                    "status": TransferStatus.FAILED,
                    "created_on": today - 3 * day,
                    "failure_reason": "the recipient's bank rejected the account number",
                },
                {
                    "reference": "TRF-100512",
                    "recipient": "L. Chen",
                    "amount_minor": 4550,
                    "currency": "GBP",
                    "status": TransferStatus.COMPLETED,
                    "created_on": today - 2 * day,
                    "settled_on": today - 2 * day,
                },
            ],
            "refunds": [
                {
                    "reference": "RFD-200311",
                    "merchant": "Skyline Air",
                    "amount_minor": 18999,
                    "currency": "GBP",
                    "status": RefundStatus.PROCESSING,
                    "issued_on": today - 3 * day,
                    "expected_by": today + 4 * day,
                },
                {
                    "reference": "RFD-200412",
                    "merchant": "Bookworm Ltd",
                    "amount_minor": 2499,
                    "currency": "GBP",
                    "status": RefundStatus.COMPLETED,
                    "issued_on": today - 9 * day,
                    "completed_on": today - day,
                },
            ],
        },
        {
            "name": "Ben Jones",
            "email": "ben.jones@example.org",
            "sender_id": "demo-ben",
            "tier": "vip",
            "cards": [
                {"last_four": "5521", "status": CardStatus.ACTIVE},
                {"last_four": "7310", "status": CardStatus.FROZEN},
            ],
            "transfers": [
                {
                    "reference": "TRF-104511",
                    "recipient": "Harbour Lettings",
                    "amount_minor": 95000,
                    "currency": "GBP",
                    "status": TransferStatus.RETURNED,
                    "created_on": today - 5 * day,
                    "failure_reason": "the recipient's bank returned it: the account is closed",
                },
            ],
            "refunds": [
                {
                    "reference": "RFD-200555",
                    "merchant": "GadgetHub",
                    "amount_minor": 34900,
                    "currency": "GBP",
                    "status": RefundStatus.REJECTED,
                    "issued_on": today - 6 * day,
                    "rejection_reason": "the merchant withdrew the refund",
                },
            ],
        },
        {
            # No sender mapping: identified by email + last four digits only.
            "name": "Carla Diaz",
            "email": "carla@example.net",
            "sender_id": None,
            "tier": "standard",
            "cards": [
                {"last_four": "0005", "status": CardStatus.ACTIVE},
                {"last_four": "9034", "status": CardStatus.ORDERED},
            ],
            "transfers": [],
            "refunds": [],
        },
    ]


def seed_demo_data(session: Session, today: dt.date) -> int:
    """Insert the demo rows that are missing (keyed by email, card digits, reference); returns how many.

    A demo customer still at the default tier (a database from before tiers, upgraded) gets its demo tier;
    that counts as a row too.
    """
    added = 0
    for spec in _demo_customers(today):
        customer = session.execute(
            select(Customer).where(Customer.email == spec["email"])
        ).scalar_one_or_none()
        if customer is None:
            customer = Customer(
                name=spec["name"], email=spec["email"], sender_id=spec["sender_id"], tier=spec["tier"]
            )
            session.add(customer)
            session.flush()
            added += 1
        elif customer.tier == DEFAULT_TIER and spec["tier"] != DEFAULT_TIER:
            customer.tier = spec["tier"]
            added += 1
        held = {card.last_four for card in customer.cards}
        for card in spec["cards"]:
            if card["last_four"] not in held:
                session.add(Card(customer_id=customer.id, **card))
                added += 1
        for model, rows in ((Transfer, spec["transfers"]), (Refund, spec["refunds"])):
            for row in rows:
                exists = session.execute(select(model.id).where(model.reference == row["reference"])).first()
                if exists is None:
                    session.add(model(customer_id=customer.id, **row))
                    added += 1
    session.flush()
    return added
