"""Canned replies' variables: checked when saved, filled for one conversation, left visible when unknown."""

from __future__ import annotations

import pytest

from triage.domain import canned
from triage.errors import ValidationError


def test_known_variables_are_listed_in_order_of_first_use() -> None:
    body = "Hi {{customer_name}}, {{ agent_name }} here about card {{card_ending}}; {{customer_name}} again"
    assert canned.check_body(body) == ["customer_name", "agent_name", "card_ending"]


@pytest.mark.parametrize("body", ["Hi {{name}}", "Your {{card_last_four}}", "{{ Agent_Name }}"])
def test_an_unknown_variable_is_refused_naming_it_and_the_known_ones(body: str) -> None:
    with pytest.raises(ValidationError) as error:
        canned.check_body(body)
    message = str(error.value)
    assert "unknown variable" in message and "{{customer_name}}" in message and "{{agent_name}}" in message


@pytest.mark.parametrize("body", ["Hi {{customer name}}", "Hi {{", "odd }} brace", "{{agent_name}"])
def test_braces_outside_a_placeholder_are_refused(body: str) -> None:
    with pytest.raises(ValidationError, match="outside a placeholder"):
        canned.check_body(body)


def test_text_without_variables_is_fine() -> None:
    assert canned.check_body("Thanks for waiting, I'm looking into it now.") == []


def test_fill_replaces_known_values_and_leaves_missing_ones_visible() -> None:
    filled = canned.fill(
        "Hi {{customer_name}}, I'm {{agent_name}}. Card ending {{ card_ending }}: frozen.",
        {"customer_name": None, "agent_name": "Alice Moreau", "card_ending": "1881"},
    )
    assert filled.text == "Hi {{customer_name}}, I'm Alice Moreau. Card ending 1881: frozen."
    assert filled.unfilled == ("customer_name",)


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_an_empty_value_is_never_sent_as_a_hole(empty: str | None) -> None:
    filled = canned.fill("Dear {{customer_name}},", {"customer_name": empty})
    assert filled.text == "Dear {{customer_name}}," and filled.unfilled == ("customer_name",)


def test_a_value_is_inserted_as_it_is_never_read_as_a_placeholder() -> None:
    filled = canned.fill(
        "{{agent_name}} and {{card_ending}}", {"agent_name": "{{card_ending}}", "card_ending": None}
    )
    assert filled.text == "{{card_ending}} and {{card_ending}}" and filled.unfilled == ("card_ending",)


def test_unfilled_finds_known_variables_left_in_a_reply() -> None:
    assert canned.unfilled("Hi {{customer_name}}, see {{other}}") == ["customer_name"]
    assert canned.unfilled("Hi Ann, all done.") == []


def test_card_ending_is_the_card_the_bot_named_last() -> None:
    said = [
        "Your card ending 4242 was sent on 2 Dec.",
        "Done: your card ending 1881 is frozen, so no new payments.",
        "Is there anything else?",
    ]
    assert canned.card_ending(said) == "1881"
    assert canned.card_ending(["Hello! How can I help?"]) is None
    assert canned.card_ending([]) is None
