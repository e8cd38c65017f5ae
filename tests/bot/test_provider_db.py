import datetime as dt
from pathlib import Path

import pytest
from actions.provider_db import (
    Card,
    CardStatus,
    ProviderRepository,
    create_schema,
    get_engine,
    has_tier_column,
    main,
    session_scope,
    upgrade_schema,
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
    assert out[0].endswith("demo rows added or updated") and ": 0 demo" not in out[0]
    assert out[1].endswith(": 0 demo rows added or updated")


def test_demo_customers_have_varied_tiers(provider_url: str) -> None:
    with session_scope(provider_url) as session:
        repo = ProviderRepository(session)
        tiers = {
            email: repo.tier_of(repo.customer_by_email(email))
            for email in ("anna.smith@example.com", "ben.jones@example.org", "carla@example.net")
        }
    assert tiers == {
        "anna.smith@example.com": "premium",
        "ben.jones@example.org": "vip",
        "carla@example.net": "standard",
    }


def test_only_known_tiers_are_stored(provider_url: str) -> None:
    with session_scope(provider_url) as session:
        anna = ProviderRepository(session).customer_by_email("anna.smith@example.com")
        with pytest.raises(ValueError, match="unknown customer tier 'gold'"):
            anna.tier = "gold"


def test_seed_upgrades_a_database_from_before_tiers(
    legacy_provider: str, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    with session_scope(legacy_provider) as session:
        repo = ProviderRepository(session)
        anna = repo.customer_for_sender("demo-anna")
        assert anna.email == "anna.smith@example.com"  # the old database still answers
        assert repo.tier_of(anna) is None
    with get_engine(legacy_provider).connect() as connection:
        assert not has_tier_column(connection)
    assert main(["seed", "--url", legacy_provider]) == 0
    assert "provider database upgraded: added column customers.tier" in caplog.text
    with session_scope(legacy_provider) as session:
        repo = ProviderRepository(session)
        # Anna was there before: the upgrade gave her the default, the seed her demo tier
        assert repo.tier_of(repo.customer_for_sender("demo-anna")) == "premium"
        assert repo.tier_of(repo.customer_for_sender("demo-ben")) == "vip"
        assert len(repo.customer_for_sender("demo-anna").cards) == 2  # the missing demo card was added
    assert upgrade_schema(get_engine(legacy_provider)) == []  # nothing left to do
    assert main(["seed", "--url", legacy_provider]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith(": 0 demo rows added or updated")


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
