import datetime as dt
from pathlib import Path

import pytest
from actions.provider_db import (
    Card,
    CardStatus,
    ProviderRepository,
    create_schema,
    main,
    session_scope,
)
from actions.provider_seed import seed_demo_data
from sqlalchemy import select


def test_importing_creates_nothing_and_seed_is_idempotent(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'provider.db'}"
    assert not (tmp_path / "nested").exists()
    create_schema(url)
    with session_scope(url) as session:
        first = seed_demo_data(session, today=dt.date(2026, 1, 5))
    with session_scope(url) as session:
        second = seed_demo_data(session, today=dt.date(2026, 1, 6))
        cards = session.execute(select(Card)).scalars().all()
    assert first > 10
    assert second == 0
    assert len(cards) == 6


def test_seed_command_creates_and_seeds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["seed", "--url", url]) == 0
    assert main(["seed", "--url", url]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].endswith("demo rows added") and not out[0].endswith(": 0 demo rows added")
    assert out[1].endswith(": 0 demo rows added")


def test_customer_is_verified_by_email_and_one_of_their_cards(provider_url: str) -> None:
    with session_scope(provider_url) as session:
        repo = ProviderRepository(session)
        assert repo.verify_customer(" Anna.Smith@Example.com ", "1881").name == "Anna Smith"
        assert repo.verify_customer("anna.smith@example.com", "5521") is None  # Ben's card
        assert repo.verify_customer("nobody@example.com", "4242") is None
        assert repo.customer_for_sender("demo-ben").email == "ben.jones@example.org"
        assert repo.customer_for_sender("web-unknown") is None


def test_freeze_changes_the_stored_status_once(provider_url: str) -> None:
    with session_scope(provider_url) as session:
        repo = ProviderRepository(session)
        card = repo.card(repo.customer_by_email("anna.smith@example.com"), "4242")
        assert repo.freeze(card) is True
    with session_scope(provider_url) as session:
        repo = ProviderRepository(session)
        card = repo.card(repo.customer_by_email("anna.smith@example.com"), "4242")
        assert card.status == CardStatus.FROZEN
        assert repo.freeze(card) is False


def test_records_are_only_visible_to_their_owner(provider_url: str) -> None:
    with session_scope(provider_url) as session:
        repo = ProviderRepository(session)
        anna = repo.customer_by_email("anna.smith@example.com")
        ben = repo.customer_by_email("ben.jones@example.org")
        assert repo.transfer(anna, "TRF-100245") is not None
        assert repo.transfer(ben, "TRF-100245") is None
        assert repo.refund(ben, "RFD-200555") is not None
        assert repo.refund(anna, "RFD-200555") is None
