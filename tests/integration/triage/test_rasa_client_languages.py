"""Clearline's own words to the customer in their language (issue #21) and with the bot's buttons (the CSAT
question, issue #20), sent by the relay to a loopback stand-in for Rasa's HTTP API."""

from __future__ import annotations

import pytest

from triage.rasa.client import RasaClient, RasaError
from triage.rasa.responses import Variant, parse_responses, pick

from .fake_rasa import RESPONSES, STARS, RasaDouble

EVENTS = "/conversations/c1/tracker/events"


def sent(rasa: RasaDouble) -> list[dict]:
    return [event for r in rasa.requests if r.path == EVENTS for event in r.body]


def test_the_notice_and_the_joined_line_go_in_the_conversations_language(rasa: RasaDouble) -> None:
    with RasaClient(rasa.url, "s3cret") as client:
        client.send("c1", "utter", {"name": "utter_handoff_notice", "handoff": "waiting", "language": "es"})
        client.send("c1", "agent_joined", {"agent_id": 7, "agent_name": "Alice Moreau", "language": "es"})
        # a language the bot has no words for, and none: English
        client.send("c1", "utter", {"name": "utter_handoff_notice", "handoff": "waiting", "language": "ja"})
        client.send("c1", "agent_joined", {"agent_id": 7, "agent_name": "Alice Moreau"})
    assert [event["text"] for event in sent(rasa)] == [
        "Una persona de nuestro equipo se unirá en breve.",
        "Alice Moreau, de Northwind Pay, se ha unido a la conversación",
        "A member of our team will join shortly.",
        "Alice Moreau from Northwind Pay joined",
    ]
    assert sent(rasa)[0]["metadata"] == {"clearline": {"handoff": "waiting"}}


def test_the_rating_question_carries_the_bots_buttons_and_what_it_is_about(rasa: RasaDouble) -> None:
    with RasaClient(rasa.url, "s3cret") as client:
        client.send(
            "c1",
            "utter",
            {"name": "utter_ask_csat", "optional": True, "slots": {"csat_asked": "escalation:4"}},
        )
    assert sent(rasa) == [
        {"event": "bot", "text": "How would you rate the help you got today?", "data": {"buttons": STARS}},
        {"event": "slot", "name": "csat_asked", "value": "escalation:4"},  # in the same request
    ]
    [request] = [r for r in rasa.requests if r.path == EVENTS]
    assert request.query["output_channel"] == ["latest"]  # to the customer's own channel


def test_a_name_with_braces_is_shown_as_it_is(rasa: RasaDouble) -> None:
    with RasaClient(rasa.url, "s3cret") as client:
        client.send("c1", "agent_joined", {"agent_id": 7, "agent_name": "Jo {agent_name} <b>"})
    assert sent(rasa)[0]["text"] == "Jo {agent_name} <b> from Northwind Pay joined"


def test_a_response_the_domain_lacks_or_has_only_under_another_condition_is_an_error(
    rasa: RasaDouble,
) -> None:
    with RasaClient(rasa.url, "s3cret") as client, pytest.raises(RasaError, match="no text response"):
        client.send("c1", "utter", {"name": "utter_tier_only"})
    assert sent(rasa) == []


def test_an_optional_response_the_bot_lacks_is_skipped_and_the_domain_read_again_later(
    rasa: RasaDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bot model older than the relay: the rating question is skipped (the conversation's later commands
    are not held up), and once the cache is old a missing response makes the client read the domain again."""
    domain_reads = []
    with RasaClient(rasa.url, "s3cret") as client:
        real = client._get_json
        monkeypatch.setattr(client, "_get_json", lambda *a, **k: domain_reads.append(1) or real(*a, **k))
        client.send("c1", "utter", {"name": "utter_not_in_this_model", "optional": True})
        assert sent(rasa) == [] and len(domain_reads) == 1  # read, missing, not read again so soon
        monkeypatch.setattr("triage.rasa.client.DOMAIN_REREAD_S", 0.0)
        with pytest.raises(RasaError, match="no text response"):
            client.send("c1", "utter", {"name": "utter_not_in_this_model"})  # not optional: retried later
        assert len(domain_reads) == 2  # the cache was old: the domain was read again


def test_parsing_keeps_language_variants_and_skips_what_it_cannot_use() -> None:
    parsed = parse_responses(
        {
            "responses": RESPONSES
            | {
                "utter_image_only": [{"image": "https://example.com/x.png"}],
                "utter_broken": "not a list",
                "utter_bad_buttons": [{"text": "t", "buttons": [{"title": "no payload"}, "x"]}],
            }
        }
    )
    assert set(parsed) == {
        "utter_handoff_notice",
        "utter_handoff_resumed",
        "utter_agent_joined",
        "utter_ask_csat",
        "utter_bad_buttons",
    }
    assert parsed["utter_bad_buttons"] == [Variant("t", None, ())]
    assert pick(parsed["utter_ask_csat"], "es").text == "¿Cómo valoraría la ayuda?"
    assert pick(parsed["utter_ask_csat"], "fr").language is None
    assert pick(parsed["utter_ask_csat"], None).buttons == tuple(STARS)
