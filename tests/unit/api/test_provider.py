"""The read-only adapter over the provider's records (api/provider.py) against a real SQLite database."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError

from api import provider
from api.provider import ProviderUnavailable, customer_for_sender, format_money
from tests.unit.api import provider_rows


@pytest.mark.parametrize(
    ("minor", "currency", "shown"),
    [
        (25000, "GBP", "£250.00"),
        (4550, "gbp", "£45.50"),
        (12000, "EUR", "€120.00"),
        (5, "USD", "$0.05"),
        (123456789, "USD", "$1,234,567.89"),
        (1500, "JPY", "JPY 1,500"),
        (1234, "KWD", "KWD 1.234"),
        (1250, "CHF", "CHF 12.50"),
        (-999, "GBP", "-£9.99"),
        (0, "EUR", "€0.00"),
    ],
)
def test_money_is_formatted_from_minor_units(minor: int, currency: str, shown: str) -> None:
    assert format_money(minor, currency) == shown


def test_the_customer_of_a_sender_with_cards_and_the_latest_payments(tmp_path: Path) -> None:
    url = provider_rows.build(tmp_path / "provider.db", "tg-1")
    view = customer_for_sender(url, "tg-1")
    assert view is not None
    assert (view.name, view.tier) == ("Anna Smith", "premium")
    assert [(c.last_four, c.kind, c.status) for c in view.cards] == [
        ("4242", "physical", "active"),
        ("1881", "physical", "shipped"),
    ]
    assert view.cards[1].dispatched_on == date(2026, 12, 4) and view.cards[1].expected_by == date(2026, 12, 9)
    # the five newest of seven, newest first; the other customer's transfer is not among them
    assert [t.reference for t in view.transfers] == [
        "TRF-100245",
        "TRF-100378",
        "TRF-OLD0",
        "TRF-OLD1",
        "TRF-OLD2",
    ]
    failed = view.transfers[1]
    assert (failed.counterparty, failed.amount, failed.status, failed.failure_reason) == (
        "M. Rossi",
        "€120.00",
        "failed",
        "account number rejected",
    )
    assert [r.reference for r in view.refunds] == [
        "RFD-200311",
        "RFD-200500",
        "RFD-OLD0",
        "RFD-OLD1",
        "RFD-OLD2",
    ]
    assert (view.refunds[1].amount, view.refunds[1].rejection_reason) == (
        "JPY 1,500",
        "outside the return window",
    )
    assert view.refunds[0].expected_by == date(2026, 12, 10) and view.refunds[2].completed_on == date(
        2026, 11, 17
    )


def test_a_sender_no_customer_has_is_none(tmp_path: Path) -> None:
    url = provider_rows.build(tmp_path / "provider.db", "tg-1")
    assert customer_for_sender(url, "tg-2") is None


def test_a_database_from_before_tiers_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "provider.db"
    url = provider_rows.build(path, "tg-1")
    with sqlite3.connect(path) as db:
        db.execute("ALTER TABLE customers DROP COLUMN tier")
    view = customer_for_sender(url, "tg-1")
    assert view is not None and view.name == "Anna Smith" and view.tier is None


def test_reading_changes_nothing_and_creates_no_file(tmp_path: Path) -> None:
    path = tmp_path / "provider.db"
    url = provider_rows.build(path, "tg-1")
    before = path.read_bytes()
    customer_for_sender(url, "tg-1")
    assert path.read_bytes() == before
    missing = tmp_path / "missing" / "provider.db"
    with pytest.raises(ProviderUnavailable):
        customer_for_sender(f"sqlite:///{missing}", "tg-1")
    assert not missing.exists() and not missing.parent.exists()


def test_the_connection_cannot_write(tmp_path: Path) -> None:
    url = provider_rows.build(tmp_path / "provider.db", "tg-1")
    with provider._engine(url).connect() as conn, pytest.raises(OperationalError, match="readonly"):
        conn.execute(text("UPDATE cards SET status = 'FROZEN'"))


@pytest.mark.parametrize(
    "url",
    [
        "",
        None,
        "sqlite:///{tmp}/nowhere/provider.db",
        "sqlite:///{tmp}/empty.db",  # a file without the provider's tables
        "not a url",
        "nosuchdb://user@host/db",
        "postgresql://clearline@127.0.0.1:1/provider",  # nothing listens on port 1
        "sqlite://",  # in memory: no provider there
    ],
)
def test_an_unusable_provider_is_unavailable(tmp_path: Path, url: str | None) -> None:
    (tmp_path / "empty.db").write_bytes(b"")
    with pytest.raises(ProviderUnavailable) as caught:
        customer_for_sender(url.format(tmp=tmp_path) if url else url, "tg-1")
    assert str(tmp_path) not in str(caught.value) and "clearline@" not in str(caught.value)
