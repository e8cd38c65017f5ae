"""The worker over a real SQLite events database written as Rasa writes it (fake scorer)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from structlog.testing import capture_logs

from tests.unit.triage.fakes import FakeScorer, ScriptedLock
from triage import audit, services
from triage.benchmarks.rasa_events import action_event, bot_event, user_event, write_events
from triage.domain.policy import Policy
from triage.rasa.client import RasaClient
from triage.rasa.events import AGENT_REPLY
from triage.redaction import redact_with_spans
from triage.storage.db import (
    AgentStatus,
    AuditRecord,
    ConsumerOffset,
    Conversation,
    ConversationState,
    Escalation,
    Message,
    OutboxCommand,
    Role,
    Sender,
    User,
    session_scope,
)
from triage.worker.broker import SqlEventSource, events_table
from triage.worker.explaining import WARM_UP_TEXT
from triage.worker.loop import Worker, WorkerOptions

from .fake_rasa import RESPONSES, RasaDouble


def make_worker(
    factory: sessionmaker[Session],
    source: SqlEventSource,
    policy: Policy,
    scorer: FakeScorer | None = None,
    batch_size: int = 256,
) -> Worker:
    return Worker(
        factory,
        source,
        scorer or FakeScorer(),
        policy,
        redact_with_spans,
        options=WorkerOptions(batch_size=batch_size),
    )


def write(source: SqlEventSource, rows: list) -> list[int]:
    with source.engine.begin() as conn:
        return write_events(conn, rows)


def test_batch_scores_across_conversations_in_one_call_and_stores_everything(session_factory, source, policy):
    write(
        source,
        [
            ("c1", user_event("where is my card", intent="card_arrival")),
            ("c1", action_event()),
            ("c1", bot_event("It is on its way.")),
            ("c2", user_event("my email is jane@example.com", intent="edit_personal_details")),
            ("c3", user_event("nlu did not get this", intent="nlu_fallback")),
        ],
    )
    scorer = FakeScorer()
    worker = make_worker(session_factory, source, policy, scorer)
    result = worker.process_next_batch()
    assert result is not None and result.events == 5 and result.stored == 4 and result.skipped == 1
    assert scorer.score_calls == [["where is my card", "my email is <EMAIL>", "nlu did not get this"]]
    with session_factory() as s:
        texts = s.execute(
            select(Message.conversation_id, Message.sender, Message.text).order_by(Message.id)
        ).all()
        assert texts == [
            ("c1", Sender.CUSTOMER, "where is my card"),
            ("c1", Sender.BOT, "It is on its way."),
            ("c2", Sender.CUSTOMER, "my email is <EMAIL>"),
            ("c3", Sender.CUSTOMER, "nlu did not get this"),
        ]
        assert s.get(ConsumerOffset, "triage-worker").last_event_id == 5
        assert s.get(Conversation, "c3").fallback_count == 1
        assert s.get(Conversation, "c1").channel == "socketio"
        assert s.get(Conversation, "c1").stress_trajectory == [0.05]
        assert s.scalar(select(func.count()).where(AuditRecord.action == "score")) == 3
        assert s.scalar(select(func.count()).where(AuditRecord.action == "policy")) == 3
    assert worker.process_next_batch() is None  # nothing new: offset respected


def test_messages_are_stored_with_where_their_redactions_are(session_factory, source, policy):
    """The spans, not the text, say what was redacted: typed look-alikes get none."""
    write(
        source,
        [
            ("c1", user_event("I typed <EMAIL> and <SCRIPT>; mine is jane@example.com")),
            ("c1", bot_event("We will write to jane@example.com")),
            ("c1", user_event("just <SCRIPT> here")),
        ],
    )
    make_worker(session_factory, source, policy).process_next_batch()
    with session_factory() as s:
        stored = s.execute(select(Message.text, Message.redactions).order_by(Message.id)).all()
    assert stored == [
        (
            "I typed <EMAIL> and <SCRIPT>; mine is <EMAIL>",
            [{"entity": "EMAIL_ADDRESS", "start": 38, "end": 45}],
        ),
        ("We will write to <EMAIL>", [{"entity": "EMAIL_ADDRESS", "start": 17, "end": 24}]),
        ("just <SCRIPT> here", []),
    ]


def test_stressed_conversation_escalates_with_redacted_explanations_and_is_routed(
    session_factory, source, policy
):
    with session_scope(session_factory) as s:
        s.add(
            User(
                username="ann",
                display_name="Ann",
                password_hash="x",
                role=Role.AGENT,
                skills=["cards"],
                capacity=2,
                status=AgentStatus.AVAILABLE,
            )
        )
    write(
        source,
        [
            ("c1", user_event("someone used my card 4111 1111 1111 1111", intent="compromised_card")),
            ("c1", user_event("this is unacceptable, I am furious", intent="compromised_card")),
            ("c1", user_event("hello?? I am angry", intent="compromised_card")),
        ],
    )
    scorer = FakeScorer()
    worker = make_worker(session_factory, source, policy, scorer, batch_size=2)
    result = worker.process_next_batch()
    assert result is not None and result.escalated == ["c1"]
    with session_factory() as s:  # the batch does not route: the leader's routing step does, just after
        assert s.get(Conversation, "c1").state == ConversationState.QUEUED
    assert worker.route_once() == [("c1", 1)]
    with session_factory() as s:  # the escalation is visible at once, its explanation follows
        pending = s.scalars(select(Escalation)).one()
        assert pending.explanations_pending and pending.explanations[0]["pending"] is True
        assert scorer.explain_calls == []
    assert worker.explain_once() == [1] and worker.explain_once() == []
    with session_factory() as s:
        conv = s.get(Conversation, "c1")
        assert conv.state == ConversationState.ASSIGNED and conv.assigned_agent_id == 1
        assert conv.queue == "cards" and conv.priority_band == "P1" and conv.sla_deadline is not None
        esc = s.scalars(select(Escalation)).one()
        assert esc.trigger == "policy" and esc.model_version == "fake-emotions@test"
        factors = {f["factor"]: f for f in esc.factors}
        assert factors["stress"]["text"] == "stress 0.97 -> +48"
        assert factors["intent"]["contribution"] == 30
        assert [e["text"] for e in esc.explanations] == ["this is unacceptable, I am furious"]
        words = esc.explanations[0]["words"]
        furious = next(w for w in words if w["word"] == "furious")
        assert esc.explanations[0]["text"][furious["start"] : furious["end"]] == "furious"
        first = s.scalars(select(Message).order_by(Message.id)).first()
        assert first.text == "someone used my card <CARD_NUMBER>"
        kinds = s.execute(select(OutboxCommand.kind, OutboxCommand.payload).order_by(OutboxCommand.id)).all()
        assert kinds == [
            ("pause", {}),
            # in the customer's language where the bot has it (#21)
            ("utter", {"name": "utter_handoff_notice", "handoff": "waiting", "language": "en"}),
            # routed: the customer is told who joined, by display name (#20)
            ("agent_joined", {"agent_id": 1, "agent_name": "Ann", "language": "en"}),
        ]
        actions = s.scalars(select(AuditRecord.action).order_by(AuditRecord.id)).all()
        assert actions == ["score", "policy", "score", "policy", "escalate", "assign", "explain"]
    # the third message arrives during hand-off: stored for the agent, no new policy decision
    result = make_worker(session_factory, source, policy, scorer).process_next_batch()
    assert result is not None and result.escalated == []
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 3
        assert s.scalar(select(func.count()).where(AuditRecord.action == "policy")) == 2


def test_malformed_and_other_events_are_skipped_and_the_offset_moves_on(session_factory, source, policy):
    with source.engine.begin() as conn:
        conn.execute(events_table.insert().values(sender_id="c1", data="{not json"))
        conn.execute(events_table.insert().values(sender_id="c1", data='["a", "list"]'))
    write(
        source,
        [
            ("c1", {"event": "user", "timestamp": 1.0, "text": None}),
            ("c1", {"event": "slot", "name": "x", "value": 1}),
            # the agent's words echoed by Rasa: marked by the relay, or uttered by older relays
            ("c1", {**bot_event("Ann: your card is frozen"), "metadata": {AGENT_REPLY: True}}),
            ("c1", bot_event("Ann: your card is frozen", utter_action="utter_agent_message")),
            # Rasa's trigger_intent replaying a message after the hand-back: not the customer's words
            ("c1", {**user_event("EXTERNAL: card_arrival"), "metadata": {"is_external": True}}),
            ("c1", {**user_event("odd metadata"), "metadata": "x"}),
            ("c1", user_event("fine")),
        ],
    )
    result = make_worker(session_factory, source, policy).process_next_batch()
    assert result is not None and (result.events, result.stored, result.skipped) == (9, 2, 7)
    with session_factory() as s:
        assert s.scalars(select(Message.text).order_by(Message.id)).all() == ["odd metadata", "fine"]
        assert s.get(ConsumerOffset, "triage-worker").last_event_id == 9


def test_scorer_failure_rolls_the_whole_batch_back(session_factory, source, policy):
    write(source, [("c1", user_event("hello")), ("c2", user_event("hi"))])

    class BrokenScorer(FakeScorer):
        def score(self, texts):
            raise RuntimeError("model crashed")

    with pytest.raises(RuntimeError, match="model crashed"):
        make_worker(session_factory, source, policy, BrokenScorer()).process_next_batch()
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Message)) == 0
        assert s.get(ConsumerOffset, "triage-worker") is None
    result = make_worker(session_factory, source, policy).process_next_batch()
    assert result is not None and result.stored == 2


def test_failed_explanation_does_not_stop_the_escalation(session_factory, source, policy):
    write(source, [("c1", user_event("I am furious", intent="compromised_card"))])
    worker = make_worker(session_factory, source, policy, FakeScorer(fail_explain=True))
    result = worker.process_next_batch()
    assert result is not None and result.escalated == ["c1"]
    assert worker.explain_once() == [1]
    with session_factory() as s:
        explanation = s.scalars(select(Escalation)).one().explanations[0]
        assert explanation["text"] == "I am furious" and "explainer exploded" in explanation["error"]


def test_explicit_request_for_a_human_escalates_without_explanations(session_factory, source, policy):
    write(source, [("c1", user_event("let me talk to a person", intent="request_human"))])
    scorer = FakeScorer()
    result = make_worker(session_factory, source, policy, scorer).process_next_batch()
    assert result is not None and result.escalated == ["c1"]
    with session_factory() as s:
        esc = s.scalars(select(Escalation)).one()
        assert [f["factor"] for f in esc.factors] == ["human_request"] and esc.explanations == []
    assert scorer.explain_calls == []


def test_resolved_conversation_returns_to_the_bot_and_can_escalate_again(session_factory, source, policy):
    write(source, [("c1", user_event("I am furious", intent="compromised_card"))])
    worker = make_worker(session_factory, source, policy)
    worker.process_next_batch()
    with session_scope(session_factory) as s:
        services.resolve(s, "c1", actor=audit.Actor.system("test"), reason="solved by phone")
    write(source, [("c1", user_event("thanks, all good now"))])
    result = worker.process_next_batch()
    assert result is not None and result.escalated == []
    with session_factory() as s:
        conv = s.get(Conversation, "c1")
        assert conv.state == ConversationState.BOT and conv.fallback_count == 0
        assert "back_to_bot" in s.scalars(select(AuditRecord.action)).all()
    write(source, [("c1", user_event("no wait, this is unacceptable", intent="compromised_card"))])
    result = worker.process_next_batch()
    assert result is not None and result.escalated == ["c1"]


def test_run_loop_relays_the_hand_off_to_rasa_and_stops_cleanly(session_factory, source, policy):
    rasa = RasaDouble().start()
    client = RasaClient(rasa.url, "tok")
    worker = Worker(
        session_factory,
        source,
        FakeScorer(),
        policy,
        redact_with_spans,
        client,
        options=WorkerOptions(poll_interval=0.01, relay_interval=0.05),
    )
    loop = threading.Thread(target=worker.run)
    loop.start()
    try:
        write(source, [("c7", user_event("I am angry, my card is gone", intent="lost_or_stolen_card"))])
        deadline = time.monotonic() + 20
        while len(rasa.requests) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert [(r.path, r.body) for r in rasa.requests] == [
            ("/conversations/c7/tracker/events", [{"event": "pause"}]),
            (
                "/conversations/c7/tracker/events",
                [
                    {
                        "event": "bot",
                        "text": RESPONSES["utter_handoff_notice"][-1]["text"],  # English
                        "metadata": {"clearline": {"handoff": "waiting"}},
                    }
                ],
            ),
        ]
    finally:
        worker.stop()
        loop.join(timeout=30)
        client.close()
        rasa.stop()
    assert not loop.is_alive()


def test_a_text_the_model_refuses_is_stored_unscored_and_does_not_block_the_stream(
    session_factory, source, policy
):
    class PickyScorer(FakeScorer):
        def score(self, texts):
            if any("poison" in t for t in texts):
                raise ValueError("text refused")
            return super().score(texts)

    write(
        source,
        [
            ("c1", user_event("poison pill", intent="nlu_fallback")),
            ("c2", user_event("I am furious", intent="compromised_card")),
        ],
    )
    with source.engine.begin() as conn:  # an unpaired surrogate, as JSON can carry it
        conn.execute(
            events_table.insert().values(
                sender_id="c3", data='{"event": "user", "text": "bad \\ud800 text", "timestamp": 1.0}'
            )
        )
    result = make_worker(session_factory, source, policy, PickyScorer()).process_next_batch()
    assert result is not None and (result.stored, result.scored) == (3, 2) and result.escalated == ["c2"]
    with session_factory() as s:
        rows = s.execute(
            select(Message.conversation_id, Message.text, Message.stress).order_by(Message.id)
        ).all()
        assert rows[0] == ("c1", "poison pill", None) and rows[1][2] is not None
        assert rows[2][1] == "bad ? text"
        assert s.get(Conversation, "c1").fallback_count == 1  # the intent still counts
        assert s.scalar(select(func.count()).where(AuditRecord.action == "score_refused")) == 1


def test_waiting_conversations_from_earlier_batches_are_ordered_with_new_ones(
    session_factory, source, policy
):
    worker = make_worker(session_factory, source, policy)
    write(source, [("c1", user_event("I am furious", intent="compromised_card"))])
    worker.process_next_batch()  # c1 waits (no agents); its timestamps now come back from SQLite
    write(source, [("c2", user_event("I am furious", intent="compromised_card"))])
    result = worker.process_next_batch()
    assert result is not None and result.escalated == ["c2"] and worker.route_once() == []
    with session_scope(session_factory) as s:
        s.add(
            User(
                username="ann",
                display_name="Ann",
                password_hash="x",
                role=Role.AGENT,
                skills=["cards"],
                capacity=1,
                status=AgentStatus.AVAILABLE,
            )
        )
    write(source, [("c3", user_event("I am furious", intent="compromised_card"))])
    result = worker.process_next_batch()
    assert result is not None and result.escalated == ["c3"]
    assert worker.route_once() == [("c1", 1)]  # equal priority: the longest wait first


def test_explains_the_most_stressed_driving_utterances_up_to_the_limit(session_factory, source, policy):
    rows = [("c1", user_event("I am annoyed")), ("c1", user_event("now I am furious"))]
    write(source, rows)
    scorer = FakeScorer()
    worker = make_worker(session_factory, source, policy, scorer)
    result = worker.process_next_batch()
    assert result is not None and result.escalated == ["c1"]
    worker.explain_once()
    assert scorer.explain_calls == ["now I am furious"]  # by default the most stressed one only
    write(source, [("c2", event) for _, event in rows])
    scorer = FakeScorer()
    worker = Worker(
        session_factory, source, scorer, policy, redact_with_spans, options=WorkerOptions(max_explained=2)
    )
    assert worker.process_next_batch().escalated == ["c2"]
    worker.explain_once()
    assert scorer.explain_calls == ["now I am furious", "I am annoyed"]
    with session_factory() as s:
        esc = s.scalars(select(Escalation).where(Escalation.conversation_id == "c2")).one()
        assert {f["factor"] for f in esc.factors} == {"stress", "trend"}
        assert [e["text"] for e in esc.explanations] == ["now I am furious", "I am annoyed"]


def test_explaining_holds_no_sqlite_write_lock(session_factory, source, policy, tmp_path):
    import sqlite3

    writes_during_explain = []

    class ProbingScorer(FakeScorer):
        def explain(self, text, target):
            other = sqlite3.connect(tmp_path / "clearline.db", timeout=0)  # fail at once if locked
            try:
                other.execute("BEGIN IMMEDIATE")
                other.execute("UPDATE consumer_offsets SET consumer = consumer")
                other.commit()
                writes_during_explain.append("ok")
            finally:
                other.close()
            return super().explain(text, target)

    write(
        source, [("c0", user_event("hello")), ("c1", user_event("I am furious", intent="compromised_card"))]
    )
    worker = make_worker(session_factory, source, policy, ProbingScorer())
    result = worker.process_next_batch()
    assert result is not None and result.escalated == ["c1"]
    worker.explain_once()
    assert writes_during_explain == ["ok"]
    with session_factory() as s:
        assert "error" not in s.scalars(select(Escalation)).one().explanations[0]


def test_pending_explanations_left_by_a_stopped_worker_are_filled_by_the_next(
    session_factory, source, policy
):
    write(source, [("c1", user_event("I am furious", intent="compromised_card"))])
    make_worker(session_factory, source, policy).process_next_batch()  # stops before explaining
    successor = make_worker(session_factory, source, policy)
    assert successor.explain_once() == [1]
    with session_factory() as s:
        escalation = s.scalars(select(Escalation)).one()
        assert not escalation.explanations_pending and "words" in escalation.explanations[0]
        assert escalation.explanations[0]["message_id"] == s.scalars(select(Message.id)).one()


def test_the_highest_stress_is_kept_with_the_conversation_across_batches(session_factory, source, policy):
    """The supervisor's list filters and sorts on conversations.max_stress: the worker keeps it equal
    to the highest stress of the conversation's stored messages, batch after batch."""
    write(source, [("c1", user_event("I am furious", intent="card_arrival"))])
    worker = make_worker(session_factory, source, policy)
    worker.process_next_batch()
    write(source, [("c1", user_event("ok thanks", intent="card_arrival"))])
    worker.process_next_batch()
    with session_factory() as s:
        highest = s.scalar(select(func.max(Message.stress)).where(Message.conversation_id == "c1"))
        assert highest is not None and highest > 0.5
        assert s.get(Conversation, "c1").max_stress == highest


def test_the_bots_customer_reference_is_kept_and_a_malformed_one_never_replaces_it(
    session_factory, source, policy
):
    """The ``customer_ref`` slot links a customer's conversations (the console's earlier conversations);
    only a value of the reference's shape is taken."""
    from triage.benchmarks.rasa_events import slot_event

    ref = "cref:v1:" + "a1" * 20
    write(
        source,
        [
            ("c1", user_event("where is my card", intent="card_arrival")),
            ("c1", slot_event("customer_ref", ref)),
            ("c1", slot_event("customer_ref", "anna@example.com")),  # not a reference: skipped
            ("c1", slot_event("customer_ref", None)),  # cleared by a form: the link stays
            ("c2", slot_event("customer_ref", ref.upper())),  # a new conversation, a wrong shape
            # a Telegram session start: the reference comes before the first message, at its own time
            ("c3", slot_event("customer_ref", ref, timestamp=1_700_000_000.0)),
        ],
    )
    result = make_worker(session_factory, source, policy).process_next_batch()
    assert result is not None and result.skipped == 3
    with session_factory() as s:
        assert s.get(Conversation, "c1").customer_ref == ref
        assert s.get(Conversation, "c2") is None
        started = s.get_one(Conversation, "c3")
        assert started.customer_ref == ref
        assert services.as_utc(started.started_at).timestamp() == 1_700_000_000.0


@contextmanager
def running(worker: Worker) -> Iterator[None]:
    loop = threading.Thread(target=worker.run)
    loop.start()
    try:
        yield
    finally:
        worker.stop()
        loop.join(timeout=30)
    assert not loop.is_alive()


def wait_until(condition: Callable[[], bool], timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "not in time"
        time.sleep(0.02)


def loop_options(warm: bool) -> WorkerOptions:
    return WorkerOptions(warm_up_explainer=warm, poll_interval=0.01, explain_interval=0.02)


def test_the_explainer_thread_warms_up_before_it_explains_an_escalation(session_factory, source, policy):
    scorer = FakeScorer()
    worker = Worker(session_factory, source, scorer, policy, redact_with_spans, options=loop_options(True))
    with running(worker):
        wait_until(lambda: scorer.explain_calls == [WARM_UP_TEXT])
        write(source, [("c1", user_event("this is unacceptable, I am furious", intent="compromised_card"))])
        wait_until(lambda: len(scorer.explain_calls) == 2)
    assert scorer.explain_calls == [WARM_UP_TEXT, "this is unacceptable, I am furious"]


def test_a_worker_that_does_not_lead_warms_its_explainer_up_too(session_factory, source, policy):
    """It explains nothing until it takes over, and then at once (a failover's backlog waits for nothing)."""
    scorer = FakeScorer()
    another_leads = ScriptedLock(acquire=[False] * 100)  # ~2 s between tries: more than the test needs
    options = loop_options(True)
    worker = Worker(
        session_factory, source, scorer, policy, redact_with_spans, options=options, leader_lock=another_leads
    )
    with running(worker):
        wait_until(lambda: scorer.explain_calls == [WARM_UP_TEXT])
        assert not worker.election.leading


def test_without_the_option_the_explainer_explains_only_escalations(session_factory, source, policy):
    scorer = FakeScorer()
    worker = Worker(session_factory, source, scorer, policy, redact_with_spans, options=loop_options(False))
    with running(worker):
        write(source, [("c1", user_event("this is unacceptable, I am furious", intent="compromised_card"))])
        wait_until(lambda: len(scorer.explain_calls) == 1)
    assert scorer.explain_calls == ["this is unacceptable, I am furious"]


def test_a_failed_warm_up_is_logged_and_escalations_are_still_explained(session_factory, source, policy):
    scorer = FakeScorer(fail_explain=True)
    worker = Worker(session_factory, source, scorer, policy, redact_with_spans, options=loop_options(True))
    with capture_logs() as logs, running(worker):
        wait_until(lambda: scorer.explain_calls == [WARM_UP_TEXT])
        write(source, [("c1", user_event("this is unacceptable, I am furious", intent="compromised_card"))])
        wait_until(lambda: len(scorer.explain_calls) == 2)
        wait_until(lambda: any(entry["event"] == "explained" for entry in logs))
    failed = [entry for entry in logs if entry["event"] == "explainer_warm_up_failed"]
    assert len(failed) == 1 and "explainer exploded" in failed[0]["error"]
    with session_factory() as s:  # the escalation gets its error entry, as without a warm-up
        assert "explainer exploded" in s.scalars(select(Escalation)).one().explanations[0]["error"]
