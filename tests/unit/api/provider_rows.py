"""A real provider database for tests, built as the action server's ORM builds it (bot/actions/provider_db.py,
checked against `python -m actions.provider_db seed` on 2026-12-06): the same tables and columns, statuses
stored as the enum's name ("SHIPPED"), dates as ISO text."""

from __future__ import annotations

import sqlite3
from datetime import date, timedelta
from pathlib import Path

SCHEMA = """
CREATE TABLE customers (
    id INTEGER NOT NULL PRIMARY KEY, name VARCHAR(120) NOT NULL, email VARCHAR(254) NOT NULL UNIQUE,
    sender_id VARCHAR(120) UNIQUE, tier VARCHAR(20) DEFAULT 'standard' NOT NULL
);
CREATE TABLE cards (
    id INTEGER NOT NULL PRIMARY KEY, customer_id INTEGER NOT NULL REFERENCES customers (id),
    last_four VARCHAR(4) NOT NULL, kind VARCHAR(20) NOT NULL, status VARCHAR(20) NOT NULL,
    dispatched_on DATE, expected_by DATE
);
CREATE TABLE transfers (
    id INTEGER NOT NULL PRIMARY KEY, reference VARCHAR(20) NOT NULL UNIQUE,
    customer_id INTEGER NOT NULL REFERENCES customers (id), recipient VARCHAR(120) NOT NULL,
    amount_minor INTEGER NOT NULL, currency VARCHAR(3) NOT NULL, status VARCHAR(20) NOT NULL,
    created_on DATE NOT NULL, settled_on DATE, expected_by DATE, failure_reason VARCHAR(200)
);
CREATE TABLE refunds (
    id INTEGER NOT NULL PRIMARY KEY, reference VARCHAR(20) NOT NULL UNIQUE,
    customer_id INTEGER NOT NULL REFERENCES customers (id), merchant VARCHAR(120) NOT NULL,
    amount_minor INTEGER NOT NULL, currency VARCHAR(3) NOT NULL, status VARCHAR(20) NOT NULL,
    issued_on DATE NOT NULL, expected_by DATE, completed_on DATE, rejection_reason VARCHAR(200)
);
"""

TODAY = date(2026, 12, 6)


def _day(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


def build(path: Path, sender_id: str, name: str = "Anna Smith", tier: str = "premium") -> str:
    """The provider's tables with one customer mapped to ``sender_id`` (2 cards, 7 transfers, 6 refunds)
    and another customer with a payment of their own; returns the SQLAlchemy URL."""
    with sqlite3.connect(path) as db:
        db.executescript(SCHEMA)
        db.execute("INSERT INTO customers VALUES (1, ?, 'anna@example.com', ?, ?)", (name, sender_id, tier))
        db.execute("INSERT INTO customers VALUES (2, 'Ben Other', 'ben@example.org', 'someone-else', 'vip')")
        db.executemany(
            "INSERT INTO cards VALUES (?, ?, ?, 'physical', ?, ?, ?)",
            [
                (1, 1, "4242", "ACTIVE", None, None),
                (2, 1, "1881", "SHIPPED", _day(2), _day(-3)),
                (3, 2, "7310", "FROZEN", None, None),
            ],
        )
        transfers = [
            (1, "TRF-100245", 1, "J. Carter", 25000, "GBP", "PENDING", _day(0), None, _day(-1), None),
            (
                2,
                "TRF-100378",
                1,
                "M. Rossi",
                12000,
                "EUR",
                "FAILED",
                _day(3),
                None,
                None,
                "account number rejected",
            ),
        ]
        transfers += [
            (
                3 + i,
                f"TRF-OLD{i}",
                1,
                f"Old payee {i}",
                100 + i,
                "GBP",
                "COMPLETED",
                _day(10 + i),
                _day(10 + i),
                None,
                None,
            )
            for i in range(5)
        ]
        transfers.append(
            (9, "TRF-BEN", 2, "Not Anna's", 999, "GBP", "COMPLETED", _day(0), _day(0), None, None)
        )
        db.executemany("INSERT INTO transfers VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", transfers)
        refunds = [
            (1, "RFD-200311", 1, "Skyline Air", 18999, "GBP", "PROCESSING", _day(3), _day(-4), None, None),
            (
                2,
                "RFD-200500",
                1,
                "Yen Shop",
                1500,
                "JPY",
                "REJECTED",
                _day(4),
                None,
                None,
                "outside the return window",
            ),
        ]
        refunds += [
            (
                3 + i,
                f"RFD-OLD{i}",
                1,
                f"Old shop {i}",
                2499,
                "GBP",
                "COMPLETED",
                _day(20 + i),
                None,
                _day(19 + i),
                None,
            )
            for i in range(4)
        ]
        db.executemany("INSERT INTO refunds VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", refunds)
    return f"sqlite:///{path}"
