"""bot/rasa_patches.py: the same acceptance and the same errors as stock Rasa, and only on its version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import rasa
import rasa_patches
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from serve import patches_wanted

VALID = [
    {},
    {"events": [], "responses": []},
    {
        "events": [{"event": "slot", "name": "customer_email", "value": "a@example.com"}],
        "responses": [{"text": "Your card is on its way."}],
    },
]
MALFORMED = [
    {"events": "not a list"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot", "name": 5}]},
    {"responses": ["a bare string"]},
    ["not", "an", "object"],
]


@pytest.fixture
def stock_and_patched(monkeypatch: pytest.MonkeyPatch) -> tuple[Callable[..., Any], Callable[..., Any]]:
    stock = RemoteAction._validate_action_result
    monkeypatch.setattr(RemoteAction, "_validate_action_result", stock)  # restored after the test
    assert rasa_patches.apply() == ["action_response_validation"]
    patched = RemoteAction._validate_action_result
    assert patched is not stock
    return stock, patched


ACTION = RemoteAction("action_card_delivery_status", None)


def _error(validate: Callable[..., Any], response: Any) -> str:
    with pytest.raises(ValidationError) as raised:
        validate(ACTION, response)
    return raised.value.message


@pytest.mark.parametrize("response", VALID)
def test_valid_responses_pass_both(stock_and_patched: tuple[Callable[..., Any], ...], response: Any) -> None:
    stock, patched = stock_and_patched
    assert stock(ACTION, response) is True
    assert patched(ACTION, response) is True


@pytest.mark.parametrize("response", MALFORMED)
def test_malformed_responses_are_rejected_with_stock_rasas_error(
    stock_and_patched: tuple[Callable[..., Any], ...], response: Any
) -> None:
    stock, patched = stock_and_patched
    message = _error(patched, response)
    assert "Failed to validate Action server response" in message
    assert message == _error(stock, response)


def test_the_patched_validator_is_reused_not_rebuilt(
    stock_and_patched: tuple[Callable[..., Any], ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, patched = stock_and_patched
    import jsonschema.validators

    def no_schema_checks(*args: object, **kwargs: object) -> None:
        raise AssertionError("the schema must not be checked again per response")

    monkeypatch.setattr(jsonschema.validators.Draft4Validator, "check_schema", no_schema_checks)
    monkeypatch.setattr(jsonschema.validators.Draft7Validator, "check_schema", no_schema_checks)
    monkeypatch.setattr(jsonschema.validators.Draft202012Validator, "check_schema", no_schema_checks)
    assert patched(ACTION, VALID[2]) is True


def test_another_rasa_version_runs_stock(monkeypatch: pytest.MonkeyPatch) -> None:
    stock = RemoteAction._validate_action_result
    monkeypatch.setattr(RemoteAction, "_validate_action_result", stock)
    monkeypatch.setattr(rasa, "__version__", "3.6.22")
    assert rasa_patches.apply() == []
    assert RemoteAction._validate_action_result is stock


@pytest.mark.parametrize(("value", "wanted"), [("on", True), ("OFF", False), ("1", True), ("false", False)])
def test_patches_are_switched_by_the_environment(value: str, wanted: bool) -> None:
    assert patches_wanted({"CLEARLINE_RASA_PATCHES": value}) is wanted
    assert patches_wanted({}) is True


def test_a_wrong_switch_value_is_refused() -> None:
    with pytest.raises(SystemExit, match="CLEARLINE_RASA_PATCHES must be on or off"):
        patches_wanted({"CLEARLINE_RASA_PATCHES": "maybe"})
