"""triage/sealing.py: what the outbox (and Rasa's e-mail slot) keep encrypted."""

from __future__ import annotations

import pytest

from triage.sealing import (
    PREFIX,
    SealedValueUnreadable,
    SealingKeyMissing,
    demo_mode,
    pii_secret,
    seal,
    unseal,
)


def test_a_sealed_text_opens_only_with_its_key() -> None:
    sealed = seal("call me on 020 7946 0958", "key one")
    assert sealed.startswith(PREFIX) and "7946" not in sealed
    assert unseal(sealed, "key one") == "call me on 020 7946 0958"
    with pytest.raises(SealedValueUnreadable):
        unseal(sealed, "key two")
    assert unseal("never sealed", "key one") == "never sealed"


def test_a_text_that_looks_sealed_is_sealed_all_the_same() -> None:
    typed = PREFIX + "an agent typed this"
    sealed = seal(typed, "k")
    assert sealed != typed and unseal(sealed, "k") == typed


@pytest.mark.parametrize("value", ["false", "off", "OFF", "n", "no", "0", "f", "nonsense", ""])
def test_only_a_yes_is_demo_mode_and_then_alone_the_demo_key_is_used(value: str) -> None:
    assert demo_mode({"CLEARLINE_DEMO": value}) is False
    with pytest.raises(SealingKeyMissing, match="CLEARLINE_PII_KEY"):
        pii_secret({"CLEARLINE_DEMO": value})
    assert pii_secret({"CLEARLINE_DEMO": value, "CLEARLINE_PII_KEY": "k"}) == "k"


@pytest.mark.parametrize("value", ["true", "True", "on", "1", "yes", "y", "t"])
def test_demo_mode_as_pydantic_reads_it(value: str) -> None:
    assert demo_mode({"CLEARLINE_DEMO": value}) is True
    assert demo_mode({}) is True  # unset: demo, like the settings' default
