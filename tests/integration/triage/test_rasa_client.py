"""Rasa client and outbox relay against a real HTTP server on loopback: success, 500, down."""

from __future__ import annotations

import json
import socket

import pytest
from sqlalchemy import select

from triage import services
from triage.benchmarks.rasa_events import bot_event, user_event
from triage.rasa.client import RasaClient, RasaError
from triage.rasa.events import AGENT_REPLY
from triage.settings import get_settings
from triage.storage.db import (
    Conversation,
    ConversationState,
    Message,
    OutboxCommand,
    Role,
    User,
    session_scope,
    utcnow,
)
from triage.storage.outbox import deliver_outbox, enqueue


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def test_commands_hit_rasa_endpoints_with_the_token(rasa):
    with RasaClient(rasa.url, "s3cret") as client:
        client.pause("conv/1")
        client.utter("conv/1", "utter_handoff_notice")
        client.say("conv/1", "Hello from Ann")
        client.resume("conv/1")
    got = [(r.path, r.query, r.body) for r in rasa.requests]
    token = {"token": ["s3cret"]}
    deliver = token | {"output_channel": ["latest"], "execute_side_effects": ["true"]}
    events = "/conversations/conv%2F1/tracker/events"
    # One request per command; messages are bot events delivered to the customer's latest channel,
    # so no action is inserted into the conversation.
    assert got == [
        (events, token, [{"event": "pause"}]),
        (events, deliver, [{"event": "bot", "text": "A member of our team will join shortly."}]),
        # the agent's words are marked, so the worker does not store their echo as the bot's
        (
            events,
            deliver,
            [
                {
                    "event": "bot",
                    "text": "Hello from Ann",
                    "metadata": {AGENT_REPLY: True, "clearline": {"handoff": "agent"}},
                }
            ],
        ),
        (events, token, [{"event": "resume"}, {"event": "active_loop", "name": None}]),
    ]


def test_unknown_response_name_is_an_error(rasa):
    with RasaClient(rasa.url, "t") as client, pytest.raises(RasaError, match="no text response 'utter_x'"):
        client.utter("c1", "utter_x")
    assert rasa.requests == []


def test_non_2xx_and_connection_errors_raise(rasa):
    rasa.status = 500
    with RasaClient(rasa.url, "t") as client, pytest.raises(RasaError, match="answered 500"):
        client.pause("c1")
    rasa.status = 404
    with RasaClient(rasa.url, "t") as client, pytest.raises(RasaError, match="answered 404"):
        client.utter("c1", "utter_x")
    with (
        RasaClient(closed_port_url(), "t", timeout=2) as client,
        pytest.raises(RasaError, match="ConnectError"),
    ):
        client.resume("c1")
    with RasaClient(rasa.url, "t") as client, pytest.raises(RasaError, match="unknown outbox command"):
        client.send("c1", "dance", {})


def test_answer_pending_triggers_the_late_messages_intent_on_the_latest_channel(rasa):
    late = user_event("and my card?", intent="card_arrival", timestamp=1_000.1)
    late["parse_data"]["entities"] = [{"entity": "currency", "value": "EUR"}]
    rasa.tracker_events = [
        {"event": "pause", "timestamp": 900.0},
        bot_event("Ann here", "clearline_agent", timestamp=950.0),
        late,
        {"event": "resume", "timestamp": 1_000.3},
    ]
    with RasaClient(rasa.url, "t") as client:
        client.send("conv/1", "answer_pending", {"since": 1_000.0})
        assert client.answer_pending("conv/1", since=1_000.2) is False  # the message predates that
    assert [(r.path, r.query, r.body) for r in rasa.requests] == [
        (
            "/conversations/conv%2F1/trigger_intent",
            {"token": ["t"], "output_channel": ["latest"]},
            {"name": "card_arrival", "entities": [{"entity": "currency", "value": "EUR"}]},
        )
    ]


def test_answer_pending_without_a_parsed_intent_asks_the_fallback(rasa):
    late = {"event": "user", "text": "\u00e9\u00e9", "timestamp": 1_000.1, "parse_data": "garbled"}
    rasa.tracker_events = [late, {"event": "resume", "timestamp": 1_000.3}]
    with RasaClient(rasa.url, "t") as client:
        assert client.answer_pending("c1", since=1_000.0) is True
    assert rasa.requests[0].body == {"name": "nlu_fallback", "entities": []}


def test_answer_pending_failures_raise_for_a_retry(rasa):
    rasa.tracker_events = [user_event("hi", timestamp=5.0), {"event": "resume", "timestamp": 6.0}]
    rasa.status = 500
    with RasaClient(rasa.url, "t") as client, pytest.raises(RasaError, match="tracker answered 500"):
        client.answer_pending("c1", since=1.0)
    with (
        RasaClient(closed_port_url(), "t", timeout=2) as client,
        pytest.raises(RasaError, match="GET /conversations/c1/tracker failed: ConnectError"),
    ):
        client.answer_pending("c1", since=1.0)


@pytest.mark.parametrize(
    ("body", "error"),
    [(b"<html>oops</html>", "answered no JSON"), (b"[1, 2]", "answered list, not an object")],
)
def test_a_tracker_that_is_not_a_json_object_is_an_error_not_a_crash(rasa, body, error):
    rasa.tracker_raw = body
    with RasaClient(rasa.url, "t") as client, pytest.raises(RasaError, match=error):
        client.answer_pending("c1", since=1.0)
    assert rasa.requests == []  # nothing triggered


def add_commands(session_factory):
    with session_scope(session_factory) as s:
        enqueue(s, "c1", "pause")
        enqueue(s, "c1", "utter", {"name": "utter_handoff_notice", "handoff": "waiting"})
        enqueue(s, "c2", "resume")


def test_relay_delivers_in_order_and_marks_sent(session_factory, rasa):
    add_commands(session_factory)
    with RasaClient(rasa.url, "t") as client:
        assert deliver_outbox(session_factory, client) == 3
        assert deliver_outbox(session_factory, client) == 0  # nothing is sent twice
    assert [r.body for r in rasa.requests] == [
        [{"event": "pause"}],
        # the hand-off state travels as a structural marker, never to be guessed from the text
        [
            {
                "event": "bot",
                "text": "A member of our team will join shortly.",
                "metadata": {"clearline": {"handoff": "waiting"}},
            }
        ],
        [{"event": "resume"}, {"event": "active_loop", "name": None}],
    ]
    with session_factory() as s:
        assert all(c.sent_at is not None and c.attempts == 1 for c in s.scalars(select(OutboxCommand)))


def test_relay_keeps_failed_commands_for_retry_and_holds_later_ones(session_factory, rasa):
    add_commands(session_factory)
    rasa.status = 500
    with RasaClient(rasa.url, "t") as client:
        assert deliver_outbox(session_factory, client) == 0
    # c1's utter waited behind its failed pause; c2's resume was tried on its own
    assert [r.body for r in rasa.requests] == [
        [{"event": "pause"}],
        [{"event": "resume"}, {"event": "active_loop", "name": None}],
    ]
    with session_factory() as s:
        pause = s.get(OutboxCommand, 1)
        assert pause.sent_at is None and pause.attempts == 1 and "answered 500" in pause.last_error
        assert pause.next_attempt_at is not None and s.get(OutboxCommand, 2).attempts == 0
        # retry is due after the backoff: make it due now and let Rasa recover
        for command in s.scalars(select(OutboxCommand)):
            command.next_attempt_at = utcnow()
        s.commit()
    rasa.status = 200
    with RasaClient(rasa.url, "t") as client:
        assert deliver_outbox(session_factory, client) == 3
    notice = {"event": "bot", "text": "A member of our team will join shortly."}
    assert [r.body for r in rasa.requests[2:]] == [
        [{"event": "pause"}],
        [{**notice, "metadata": {"clearline": {"handoff": "waiting"}}}],
        [{"event": "resume"}, {"event": "active_loop", "name": None}],
    ]


def test_relay_with_rasa_down_loses_nothing(session_factory):
    add_commands(session_factory)
    with RasaClient(closed_port_url(), "t", timeout=2) as client:
        assert deliver_outbox(session_factory, client) == 0
    with session_factory() as s:
        assert [
            c.last_error is not None for c in s.scalars(select(OutboxCommand).order_by(OutboxCommand.id))
        ] == [True, False, True]
        assert s.scalar(select(OutboxCommand).where(OutboxCommand.sent_at.is_not(None))) is None


def test_delivered_agent_reply_is_marked_and_its_raw_text_dropped(session_factory, rasa):
    with session_scope(session_factory) as s:
        s.add(services.new_conversation("c9"))
        agent = User(username="ann", display_name="Ann", password_hash="x", role=Role.AGENT, skills=["cards"])
        s.add(agent)
        s.flush()
        s.get(Conversation, "c9").state = ConversationState.ASSIGNED
        s.get(Conversation, "c9").assigned_agent_id = agent.id
        s.flush()
        message_id = services.agent_reply(s, "c9", agent, "call 020 7946 0958").id
    with session_factory() as s:  # while it waits, the reply is stored sealed, not as typed
        waiting = s.scalars(select(OutboxCommand)).one().payload
        assert waiting["text"].startswith("sealed:v1:") and "7946" not in json.dumps(waiting)
    with RasaClient(rasa.url, "t") as client:
        assert deliver_outbox(session_factory, client) == 1
    assert rasa.requests[0].body == [
        {
            "event": "bot",
            "text": "call 020 7946 0958",
            "metadata": {AGENT_REPLY: True, "clearline": {"handoff": "agent", "agent": "Ann"}},
        }
    ]  # the customer gets the real text
    with session_factory() as s:
        assert s.get(Message, message_id).delivered is True
        assert s.get(Message, message_id).text == "call <PHONE>"
        payload = s.scalars(select(OutboxCommand)).one().payload
        assert payload == {"message_id": message_id, "agent_name": "Ann"}


def test_a_reply_sealed_under_another_key_is_not_sent_and_says_why(session_factory, rasa, monkeypatch):
    with session_scope(session_factory) as s:
        enqueue(s, "c10", "say", {"text": "your refund is on its way"})
    monkeypatch.setenv("CLEARLINE_PII_KEY", "a key set after the reply was written")
    get_settings.cache_clear()
    try:
        with RasaClient(rasa.url, "t") as client:
            assert deliver_outbox(session_factory, client) == 0
    finally:
        get_settings.cache_clear()
    assert rasa.requests == []  # nothing unreadable reaches the customer
    with session_factory() as s:
        command = s.scalars(select(OutboxCommand)).one()
        assert command.sent_at is None and "CLEARLINE_PII_KEY changed" in (command.last_error or "")
