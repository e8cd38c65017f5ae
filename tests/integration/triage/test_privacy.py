"""Export, erasure and retention end to end, on SQLite and on PostgreSQL: Clearline's tables, Rasa's tracker
store and Rasa's event broker, each in a database of its own (on PostgreSQL a schema of its own, reached
through the ``postgresql://`` URL Rasa is given)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.integration.triage import privacy_seed as seed
from tests.postgres import temporary_schema
from tests.unit.triage.fakes import FakeScorer
from triage import services
from triage.audit import RETENTION, Actor
from triage.domain.alerts import AlertKind
from triage.privacy import Stores, erase, export, purge, record_export, rules
from triage.privacy.rasa import clearline_url
from triage.services.alerts import webhook_key
from triage.settings import CoreSettings
from triage.storage.db import (
    Alert,
    AuditRecord,
    ConsumerOffset,
    Conversation,
    ConversationState,
    Message,
    OutboxCommand,
    session_scope,
)
from triage.storage.migrate import upgrade
from triage.worker.loop import Worker, WorkerOptions
from triage.worker.runner import build_worker

CUSTOMER = "tg-7316042"
WORDS = "Kestrel umbrella on Larkspur Road"  # the customer's words: searched for in every store after erasure
OTHER = "web-5f1c"
OTHER_WORDS = "Heron lantern"
ROOT = Actor("user", "root", None)


@dataclass(frozen=True)
class Urls:
    clearline: str
    tracker: str
    broker: str


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def urls(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Urls]:
    if request.param == "sqlite":
        yield Urls(*(f"sqlite:///{tmp_path / name}" for name in ("clearline.db", "tracker.db", "events.db")))
        return
    with (
        temporary_schema("privacy_clearline") as clearline,
        temporary_schema("privacy_tracker") as tracker,
        temporary_schema("privacy_broker") as broker,
    ):
        rasa_url = lambda url: url.replace("postgresql+psycopg://", "postgresql://")  # noqa: E731 - as Rasa has it
        yield Urls(clearline, rasa_url(tracker), rasa_url(broker))


def prepared(urls: Urls, **more: object) -> CoreSettings:
    """Clearline's tables migrated, Rasa's created, and the settings that name the three."""
    upgrade(urls.clearline)
    seed.create_rasa_tables(urls.tracker, urls.broker)
    return CoreSettings(
        database_url=urls.clearline,
        rasa_tracker_url=urls.tracker,
        events_url=urls.broker,
        secret_key="privacy-test-key-0123456789",
        demo=True,
        **more,
    )


@pytest.fixture
def stores(urls: Urls) -> Iterator[Stores]:
    built = Stores.from_settings(prepared(urls))
    yield built
    built.close()
    built.factory.kw["bind"].dispose()


@pytest.fixture
def people(stores: Stores) -> seed.Team:
    return seed.team(stores.factory)


def exported(stores: Stores, ids: list[str]) -> dict:
    return json.loads("".join(export(stores, ids)))


def test_export_holds_every_store_and_erase_leaves_nothing_anywhere(
    stores: Stores, urls: Urls, people: seed.Team
) -> None:
    seed.seed_handed_off(stores.factory, people, CUSTOMER, WORDS)
    seed.seed_handed_off(stores.factory, people, OTHER, OTHER_WORDS)
    now = seed.now()
    broker_ids = seed.rasa_turns(urls.tracker, urls.broker, CUSTOMER, WORDS, now)
    seed.rasa_turns(urls.tracker, urls.broker, OTHER, OTHER_WORDS, now)
    seed.set_offset(stores.factory, broker_ids[1])  # the worker has read part of it: the rest is unread

    document = exported(stores, [CUSTOMER])
    assert document["customer_ids"] == [CUSTOMER] and document["format"] == "clearline-customer-export/1"
    held = document["stores"]
    for table in ("conversations", "messages", "escalations", "feedback", "outbox", "audit_log"):
        assert held["clearline"][table], f"nothing of {table} exported"
        assert document["counts"]["clearline"][table] == len(held["clearline"][table])
    assert held["clearline"]["audit_log_references"][0]["outcome"]["requeued"] == [CUSTOMER]
    assert len(held["rasa_tracker"]["events"]) == len(held["rasa_broker"]["events"]) == 4
    assert held["rasa_tracker"]["events"][0]["data"]["text"] == f"{WORDS} (0)"  # parsed, not a string
    text = json.dumps(document, ensure_ascii=False)
    assert WORDS in text and OTHER not in text and OTHER_WORDS not in text
    assert '"word": "KESTREL"' in text  # the policy's signal factor points at the shouted words
    assert {"clearline.messages", "rasa_broker.events"} <= set(document["holdings"])

    results = erase(stores, [CUSTOMER], reason="request #4471", actor=ROOT)
    assert [r.status for r in results] == ["erased"]
    counts = results[0].counts
    assert counts["rasa_broker"] == {"events": 4} and counts["rasa_tracker"] == {"events": 4}
    for table in ("conversations", "messages", "escalations", "feedback", "outbox"):
        assert counts["clearline"][table] == len(held["clearline"][table])  # what the export showed
    assert counts["clearline"]["audit_log_pseudonymised"] == len(held["clearline"]["audit_log"])
    assert counts["clearline"]["audit_log_references"] == 1

    for url in (urls.clearline, urls.tracker, urls.broker):
        everything = seed.everything(url)
        assert CUSTOMER not in everything and "kestrel" not in everything.lower()  # quoted or shouted
        assert "larkspur" not in everything.lower()
    assert OTHER_WORDS in seed.everything(urls.tracker) and OTHER_WORDS in seed.everything(urls.clearline)
    name = rules.pseudonym(stores.key, CUSTOMER)
    with stores.factory() as session:
        trail = list(session.scalars(select(AuditRecord).where(AuditRecord.conversation_id == name)))
        assert {"escalate", "accept", "transfer", "feedback", "transcript_view", "erase"} <= {
            r.action for r in trail
        }
        transfer = next(r for r in trail if r.action == "transfer")
        assert "reason" not in transfer.inputs and transfer.inputs["text_removed"] == ["reason"]
        assert transfer.inputs["to_queue"] == "general"  # the decision stays
        record = trail[-1]
        assert (record.action, record.actor, record.actor_type) == ("erase", "root", "user")
        assert record.inputs["reason"] == "request #4471" and record.outcome["counts"] == counts
        assert session.get(Conversation, OTHER) is not None
    assert exported(stores, [CUSTOMER])["counts"] == {
        "clearline": dict.fromkeys(
            (
                "conversations",
                "messages",
                "escalations",
                "feedback",
                "outbox",
                "notes",
                "missed_flags",
                "csat_ratings",
                "suggestion_verdicts",
                "audit_log",
                "audit_log_references",
            ),
            0,
        ),
        "rasa_tracker": {"events": 0},
        "rasa_broker": {"events": 0},
    }


def test_erasing_again_an_unknown_id_or_several_ids_answers_clearly(stores: Stores, urls: Urls) -> None:
    seed.seed_bot_only(stores.factory, CUSTOMER, WORDS, seed.now())
    seed.rasa_turns(urls.tracker, urls.broker, OTHER, OTHER_WORDS, seed.now())
    record_export(stores, ["never-seen"], ROOT)  # an audit record under the id is no data of the customer
    first = erase(stores, [CUSTOMER, OTHER, "never-seen"], reason="three requests", actor=ROOT)
    assert [r.status for r in first] == ["erased", "erased", "nothing_held"]
    assert first[2].counts["clearline"]["audit_log_pseudonymised"] == 1
    assert (
        first[1].counts["rasa_tracker"] == {"events": 4}
        and first[1].counts["clearline"]["conversations"] == 0
    )
    again = erase(stores, [CUSTOMER], reason="asked twice", actor=Actor("user", "other-admin", None))
    assert again[0].status == "already_erased" and again[0].previously_erased_by == "root"
    assert again[0].previously_erased_at is not None
    with stores.factory() as session:
        assert (
            session.scalar(select(func.count()).where(AuditRecord.action == "erase")) == 4
        )  # each asked, each said
    with pytest.raises(rules.ValidationError, match="reason"):
        erase(stores, [CUSTOMER], reason="  ", actor=ROOT)
    with pytest.raises(rules.ValidationError, match="erased conversation"):
        erase(stores, [rules.pseudonym(stores.key, CUSTOMER)], reason="x", actor=ROOT)


def the_worker(stores: Stores, urls: Urls) -> Worker:
    """The worker as `clearline worker` builds it (its redactor, the policy file), with a fake model."""
    settings = CoreSettings(
        database_url=urls.clearline,
        events_url=clearline_url(urls.broker),
        rasa_url="http://127.0.0.1:9",
        demo=True,
    )
    return build_worker(settings, FakeScorer())


def test_erasure_while_the_conversation_is_open_and_its_events_unread_is_not_undone_by_the_worker(
    stores: Stores, urls: Urls, people: seed.Team
) -> None:
    seed.seed_handed_off(stores.factory, people, CUSTOMER, WORDS)  # queued, with an agent's reply unsent
    seed.rasa_turns(urls.tracker, urls.broker, CUSTOMER, WORDS, seed.now())  # none read yet
    seed.rasa_turns(urls.tracker, urls.broker, OTHER, OTHER_WORDS, seed.now())
    erase(stores, [CUSTOMER], reason="while waiting", actor=ROOT)
    worker = the_worker(stores, urls)
    try:
        while worker.process_next_batch() is not None:
            pass
    finally:
        worker.source.close()
    with stores.factory() as session:
        assert session.get(Conversation, CUSTOMER) is None
        assert session.scalar(select(func.count()).where(Message.conversation_id == OTHER)) == 4
    assert CUSTOMER not in seed.everything(urls.clearline)


# SQLite only (not a skip): there the worker reads its batch without a lock and the erasure runs between
# that read and the batch's writes; on PostgreSQL the erasure waits for the worker's lock on its offset row
@pytest.mark.parametrize("urls", ["sqlite"], indirect=True)
def test_a_batch_that_read_the_events_before_the_erasure_is_read_again(stores: Stores, urls: Urls) -> None:
    seed.rasa_turns(urls.tracker, urls.broker, CUSTOMER, WORDS, seed.now())
    seed.rasa_turns(urls.tracker, urls.broker, OTHER, OTHER_WORDS, seed.now())
    worker = the_worker(stores, urls)
    source = worker.source

    class ErasedMidBatch:
        def __init__(self) -> None:
            self.reads = 0

        def fetch(self, session: Session, limit: int):  # noqa: ANN201
            events = source.fetch(session, limit)
            self.reads += 1
            if self.reads == 1:
                erase(stores, [CUSTOMER], reason="mid-batch", actor=ROOT)
            return events

        def __getattr__(self, name: str):  # noqa: ANN204
            return getattr(source, name)

    worker.source = ErasedMidBatch()
    try:
        first = worker.process_next_batch()
        assert first is not None and first.events == 0  # rolled back, to be read again
        second = worker.process_next_batch()
        assert second is not None and second.stored == 4
    finally:
        source.close()
    with stores.factory() as session:
        assert session.get(Conversation, CUSTOMER) is None and session.get(Conversation, OTHER) is not None
    assert "kestrel" not in seed.everything(urls.clearline).lower()


def test_purge_by_age_in_every_store_with_a_dry_run_first(
    stores: Stores, urls: Urls, people: seed.Team
) -> None:
    now = seed.now()
    old = now - timedelta(days=400)
    seed.seed_bot_only(stores.factory, "old-done", WORDS, old)
    seed.rasa_turns(urls.tracker, urls.broker, "old-done", WORDS, old)
    seed.seed_bot_only(stores.factory, "old-but-tracker-recent", "x", old)
    seed.rasa_turns(urls.tracker, urls.broker, "old-but-tracker-recent", "y", now)
    seed.seed_handed_off(stores.factory, people, "old-and-waiting", OTHER_WORDS)
    seed.age(stores.factory, "old-and-waiting", old, ConversationState.QUEUED)
    seed.seed_bot_only(stores.factory, "old-with-unread", "z", old)
    seed.seed_bot_only(stores.factory, "recent", OTHER_WORDS, now)
    seed.rasa_turns(urls.tracker, urls.broker, "rasa-only-old", WORDS, old)
    seed.rasa_turns(urls.tracker, urls.broker, "rasa-only-recent", OTHER_WORDS, now)
    read = seed.rasa_turns(urls.tracker, urls.broker, "other", "w", now, turns=1)
    seed.set_offset(stores.factory, read[-1])
    seed.rasa_turns(urls.tracker, urls.broker, "old-with-unread", "z", old, turns=1)  # after the offset
    notes = (
        (old, {"reason": f"old note on {WORDS}", "before": {"priority": 3}}),
        (now, {"reason": "fresh note"}),
    )
    with session_scope(stores.factory) as session:
        for at, inputs in notes:
            session.add(
                AuditRecord(
                    actor_type="user",
                    actor="sam",
                    action="override_priority",
                    conversation_id="recent",
                    at=at,
                    inputs=inputs,
                )
            )

    dry = purge(stores, 365, dry_run=True, now=now, chunk=2)
    real = purge(stores, 365, now=now, chunk=2)
    assert dry.as_dict() | {"dry_run": False} == real.as_dict()
    assert real.conversations == 2  # old-done, rasa-only-old
    assert real.skipped == {"open": 1, "recent": 1, "unread": 1}
    assert real.removed["rasa_tracker"] == {"events": 8} and real.removed["rasa_broker"] == {"events": 8}
    assert real.removed["clearline"]["conversations"] == 1 and real.removed["clearline"]["messages"] == 2
    assert real.audit_text_removed >= 1

    with stores.factory() as session:
        left = set(session.scalars(select(Conversation.id)))
        assert left == {"old-but-tracker-recent", "old-and-waiting", "old-with-unread", "recent"}
        notes = session.scalars(
            select(AuditRecord.inputs)
            .where(AuditRecord.action == "override_priority")
            .order_by(AuditRecord.at)
        ).all()
        assert notes == [
            {"before": {"priority": 3}, "text_removed": ["reason"]},  # the decision stays, the text goes
            {"reason": "fresh note"},
        ]
        decisions = dict(
            session.execute(
                select(AuditRecord.conversation_id, AuditRecord.outcome).where(AuditRecord.action == "policy")
            ).all()
        )
        pointed = {c: [w for f in o["factors"] for w in f.get("words", [])] for c, o in decisions.items()}
        assert {"word": "HERON", "start": 0, "end": 5} in pointed["recent"]
        assert pointed["old-and-waiting"] and all("word" not in w for w in pointed["old-and-waiting"])
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "purge")).one()
        assert record.actor == RETENTION.name and record.outcome["conversations"] == 2
        assert "old-done" not in json.dumps(record.outcome)
    for url in (urls.clearline, urls.tracker, urls.broker):
        everything = seed.everything(url)
        assert (
            "old-done" not in everything
            and "rasa-only-old" not in everything
            and "kestrel" not in everything.lower()
        )
    assert "rasa-only-recent" in seed.everything(urls.tracker)
    again = purge(stores, 365, now=now)
    assert again.conversations == 0 and again.audit_text_removed == 0


def test_purge_removes_what_is_left_of_alert_webhooks_settled_before_the_cutoff(stores: Stores) -> None:
    """An alert about an agent or the model has no conversation to be purged with: its delivered or
    given-up webhooks go by age alone. Webhooks still to be sent, Rasa's commands (whatever the sender id
    looks like) and the webhooks of a conversation that is kept stay; a purged conversation's go with it,
    counted once (the dry run counts the same)."""
    now = seed.now()
    old, recent = now - timedelta(days=400), now - timedelta(days=3)
    seed.seed_bot_only(stores.factory, "kept", OTHER_WORDS, now)
    seed.seed_bot_only(stores.factory, "gone", WORDS, old)
    seed.seed_bot_only(stores.factory, "alert:x", OTHER_WORDS, now)  # a customer whose id looks like a key
    agent_key = webhook_key(None, Alert(kind=AlertKind.AGENT_OFFLINE, agent_id=7))
    drift_key = webhook_key(None, Alert(kind=AlertKind.DRIFT, agent_id=None))
    rows = {
        "the model's drift, sent long ago": OutboxCommand(
            conversation_id=drift_key, kind="webhook", sent_at=old
        ),
        "a command to that customer": OutboxCommand(conversation_id="alert:x", kind="say", sent_at=old),
        "sent long ago": OutboxCommand(conversation_id=agent_key, kind="webhook", sent_at=old),
        "given up long ago": OutboxCommand(conversation_id=agent_key, kind="webhook", abandoned_at=old),
        "an erased conversation's": OutboxCommand(
            conversation_id=webhook_key("erased"), kind="webhook", sent_at=old
        ),
        "sent recently": OutboxCommand(conversation_id=agent_key, kind="webhook", sent_at=recent),
        "still to send": OutboxCommand(conversation_id=agent_key, kind="webhook", created_at=old),
        "a kept conversation's": OutboxCommand(
            conversation_id=webhook_key("kept"), kind="webhook", sent_at=old
        ),
        "a purged conversation's": OutboxCommand(
            conversation_id=webhook_key("gone"), kind="webhook", sent_at=old
        ),
        "a command to Rasa": OutboxCommand(conversation_id="kept", kind="say", created_at=old, sent_at=old),
    }
    with session_scope(stores.factory) as session:
        session.add_all(rows.values())
        session.flush()
        ids = {name: row.id for name, row in rows.items()}

    dry = purge(stores, 365, dry_run=True, now=now)
    real = purge(stores, 365, now=now)
    assert dry.as_dict() | {"dry_run": False} == real.as_dict()
    assert real.conversations == 1
    assert real.removed["clearline"]["settled_webhooks"] == 4
    assert real.removed["clearline"]["outbox"] == 1  # the purged conversation's, with it
    with stores.factory() as session:
        left = set(session.scalars(select(OutboxCommand.id)))
        kept = ("sent recently", "still to send", "a kept conversation's", "a command to Rasa")
        kept += ("a command to that customer",)
        assert left == {ids[name] for name in kept}
        record = session.scalars(select(AuditRecord).where(AuditRecord.action == "purge")).one()
        assert record.outcome["removed"]["clearline"]["settled_webhooks"] == 4
    again = purge(stores, 365, now=now)
    assert again.removed == {} and again.conversations == 0  # nothing left to remove, nothing audited again
    with stores.factory() as session:
        assert session.scalar(select(func.count()).where(AuditRecord.action == "purge")) == 1


def test_a_rasa_store_that_is_not_there_holds_nothing_and_is_not_created(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'clearline.db'}"
    upgrade(url)
    settings = CoreSettings(
        database_url=url,
        rasa_tracker_url=f"sqlite:///{tmp_path / 'no-tracker.db'}",
        events_url=f"sqlite:///{tmp_path / 'no-events.db'}",
        demo=True,
    )
    built = Stores.from_settings(settings)
    seed.seed_bot_only(built.factory, CUSTOMER, WORDS, seed.now())
    assert exported(built, [CUSTOMER])["counts"]["rasa_tracker"] == {"events": 0}
    result = erase(built, [CUSTOMER], reason="r", actor=ROOT)[0]
    assert result.counts["rasa_broker"] == {"events": 0} and result.counts["clearline"]["conversations"] == 1
    assert purge(built, 1, now=seed.now() + timedelta(days=3)).conversations == 0
    assert not (tmp_path / "no-tracker.db").exists() and not (tmp_path / "no-events.db").exists()


def test_the_broker_in_clearlines_own_database_is_erased_in_the_same_transaction(tmp_path: Path) -> None:
    # a second connection to the same SQLite file would wait for the write lock the erasure holds
    url = f"sqlite:///{tmp_path / 'clearline.db'}"
    upgrade(url)
    seed.create_rasa_tables(f"sqlite:///{tmp_path / 'tracker.db'}", url)
    settings = CoreSettings(
        database_url=url, rasa_tracker_url=f"sqlite:///{tmp_path / 'tracker.db'}", events_url=url, demo=True
    )
    built = Stores.from_settings(settings)
    seed.rasa_turns(built.tracker.url, url, CUSTOMER, WORDS, seed.now())
    result = erase(built, [CUSTOMER], reason="r", actor=ROOT)[0]
    assert result.counts["rasa_broker"] == {"events": 4} and result.counts["rasa_tracker"] == {"events": 4}


def test_rows_rasa_saves_again_after_the_erasure_are_swept_when_it_settles(
    stores: Stores, urls: Urls
) -> None:
    seed.rasa_turns(urls.tracker, urls.broker, CUSTOMER, WORDS, seed.now())

    def rasa_finishes_its_turn(_seconds: float) -> None:  # the tracker it held is saved again, whole
        seed.rasa_turns(urls.tracker, urls.broker, CUSTOMER, WORDS, seed.now())

    result = erase(stores, [CUSTOMER], reason="r", actor=ROOT, settle_s=2.0, sleep=rasa_finishes_its_turn)[0]
    assert result.counts["rasa_tracker"] == {"events": 8} and result.counts["rasa_broker"] == {"events": 8}
    assert CUSTOMER not in seed.everything(urls.tracker) and CUSTOMER not in seed.everything(urls.broker)
    with stores.factory() as session:
        actions = list(session.scalars(select(AuditRecord.action).order_by(AuditRecord.id)))
        assert actions[-2:] == ["erase", "erase_settle"]


def test_an_erasure_waits_for_the_worker_batch_in_flight_and_removes_what_it_stored(stores: Stores) -> None:
    # the worker's batch: its offset row locked (PostgreSQL) and its rows flushed (SQLite's write lock)
    seed.set_offset(stores.factory, 0)
    batch = stores.factory()
    batch.get(ConsumerOffset, "triage-worker", with_for_update=True)
    batch.add(services.new_conversation(CUSTOMER))
    batch.flush()
    done = threading.Event()
    results: list = []
    eraser = threading.Thread(
        target=lambda: (results.extend(erase(stores, [CUSTOMER], reason="r", actor=ROOT)), done.set())
    )
    eraser.start()
    try:
        assert not done.wait(0.5)  # held off by the batch in flight
    finally:
        batch.commit()
        batch.close()
    eraser.join(timeout=30)
    assert results and results[0].counts["clearline"]["conversations"] == 1
    with stores.factory() as session:
        assert session.get(Conversation, CUSTOMER) is None


def test_the_worker_purges_on_a_thread_of_its_own_when_retention_is_set(tmp_path: Path) -> None:
    urls = Urls(*(f"sqlite:///{tmp_path / name}" for name in ("clearline.db", "tracker.db", "events.db")))
    settings = prepared(urls, rasa_url="http://127.0.0.1:9", retention_days=30)
    worker = build_worker(settings, FakeScorer(), WorkerOptions(retention_interval=0.05, poll_interval=0.01))
    assert build_worker(settings.model_copy(update={"retention_days": None}), FakeScorer()).retention is None
    seed.seed_bot_only(worker.session_factory, CUSTOMER, WORDS, seed.now() - timedelta(days=31))
    seed.seed_bot_only(worker.session_factory, OTHER, OTHER_WORDS, seed.now() - timedelta(days=29))
    loop = threading.Thread(target=worker.run)
    loop.start()
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with worker.session_factory() as session:
                if session.get(Conversation, CUSTOMER) is None:
                    break
            time.sleep(0.05)
    finally:
        worker.stop()
        loop.join(timeout=30)
    with worker.session_factory() as session:
        assert session.get(Conversation, CUSTOMER) is None and session.get(Conversation, OTHER) is not None
        assert session.scalars(select(AuditRecord.actor).where(AuditRecord.action == "purge")).all() == [
            "retention"
        ]


def test_every_table_that_names_a_conversation_is_erased(stores: Stores) -> None:
    """A table added later with a ``conversation_id`` column must be part of erasure (and so of retention,
    which erases): its name is among the counts that ``remove`` and ``count`` give."""
    from triage.privacy import clearline
    from triage.storage.db import Base

    aliases = {"conversation_notes": "notes"}
    naming = {
        aliases.get(table.name, table.name)
        for table in Base.metadata.sorted_tables
        if "conversation_id" in table.c and table.name != "audit_log"  # kept, pseudonymised
    }
    with session_scope(stores.factory) as session:
        counted = set(clearline.count(session, ["no-such-conversation"]))
        removed = set(clearline.remove(session, ["no-such-conversation"], {"no-such-conversation": "p"}))
        session.rollback()
    assert naming - counted == set() and naming - removed == set()
    assert {"csat_ratings", "suggestion_verdicts", "typing_signals"} <= counted & removed
