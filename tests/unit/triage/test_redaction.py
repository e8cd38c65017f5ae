"""PII redaction with presidio's pattern recognizers, offline."""

from __future__ import annotations

import socket

import pytest

from triage.redaction import Redactor, redact


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my card 4111 1111 1111 1111 was stolen", "my card <CARD_NUMBER> was stolen"),
        ("number 5555555555554444 please", "number <CARD_NUMBER> please"),
        ("IBAN GB82 WEST 1234 5698 7654 32 thanks", "IBAN <IBAN> thanks"),
        ("send it to DE89370400440532013000", "send it to <IBAN>"),
        ("mail jane.doe@example.co.uk now", "mail <EMAIL> now"),
        ("call +44 20 7946 0958 or 020 7946 0958", "call <PHONE> or <PHONE>"),
        ("I live at SW1A 1AA in London", "I live at <POSTCODE> in London"),
        ("card 4111111111111111 and email a.b@example.com", "card <CARD_NUMBER> and email <EMAIL>"),
    ],
)
def test_pii_is_replaced_by_placeholders(text, expected):
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "card 4111 1111 1111 1112 is not a valid number",  # fails the Luhn check
        "IBAN GB82 WEST 1234 5698 7654 33",  # wrong checksum
        "I want a refund of 25 pounds for order 123",
        "where is my card? it has been 10 days",
        "",
    ],
)
def test_text_without_pii_is_unchanged(text):
    assert redact(text) == text


def test_overlapping_findings_keep_the_strongest_span():
    spans = Redactor().find("contact jane@example.com or 4111 1111 1111 1111")
    assert [s.entity for s in spans] == ["EMAIL_ADDRESS", "CREDIT_CARD"]
    assert all(a.end <= b.start for a, b in zip(spans, spans[1:], strict=False))


def test_redaction_never_touches_the_network(monkeypatch):
    def refuse(*_args, **_kwargs):
        raise AssertionError("redaction tried to open a network connection")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    assert Redactor().redact("mail x@newdomain-example.org") == "mail <EMAIL>"


def test_spans_point_at_the_placeholders_in_the_redacted_text():
    result = Redactor().redact_with_spans("mail a.b@example.com, card 4111 1111 1111 1111, <EMAIL> typed")
    assert result.text == "mail <EMAIL>, card <CARD_NUMBER>, <EMAIL> typed"
    assert [(s.entity, result.text[s.start : s.end]) for s in result.spans] == [
        ("EMAIL_ADDRESS", "<EMAIL>"),
        ("CREDIT_CARD", "<CARD_NUMBER>"),
    ]  # the customer's own "<EMAIL>" is text, not a span
