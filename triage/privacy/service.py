"""Export, erasure and retention across every store: Clearline's database, Rasa's tracker store and
Rasa's event broker. The rules are ``triage.privacy.rules``; the stores' adapters ``clearline`` and
``rasa``; the callers the CLI (``triage.privacy_cli``), the api (``api.routes.customers``) and the worker
(``RetentionJob``)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import structlog
from sqlalchemy import Connection, inspect
from sqlalchemy.orm import Session, sessionmaker

from triage import audit
from triage.audit import Actor
from triage.privacy import clearline, rasa, rules
from triage.settings import CoreSettings
from triage.storage.db import make_engine, make_session_factory, session_scope, utcnow

log = structlog.get_logger("triage.privacy")

EXPORT_FORMAT = "clearline-customer-export/1"
CLEARLINE = "clearline"
TRACKER = "rasa_tracker"
BROKER = "rasa_broker"
PURGE_CHUNK = 100  # conversations per transaction: short write locks beside a running worker


@dataclass
class Stores:
    """Where a customer's data is: Clearline's database and Rasa's two SQL stores."""

    factory: sessionmaker[Session]
    database_url: str
    tracker: rasa.RasaStore
    broker: rasa.RasaStore
    key: str  # the pseudonyms' key

    @classmethod
    def from_settings(cls, settings: CoreSettings, factory: sessionmaker[Session] | None = None) -> Stores:
        return cls(
            factory or make_session_factory(make_engine(settings.database_url)),
            settings.database_url,
            rasa.RasaStore(TRACKER, settings.rasa_tracker_url),
            rasa.RasaStore(BROKER, settings.events_url),
            settings.secret_key,
        )

    def pseudonyms(self, ids: Sequence[str]) -> dict[str, str]:
        return {i: rules.pseudonym(self.key, i) for i in ids}

    @contextmanager
    def rasa(self, store: rasa.RasaStore, session: Session) -> Iterator[Connection | None]:
        """The store's transaction; Clearline's own when Rasa's table lives in Clearline's database (a
        second connection would wait for the write lock this session holds)."""
        if rasa.clearline_url(store.url) == rasa.clearline_url(self.database_url):
            shared = session.connection()
            yield shared if inspect(shared).has_table(rasa.EVENTS) else None
            return
        with store.begin() as own:
            yield own

    def close(self) -> None:
        self.tracker.close()
        self.broker.close()


def user_actor(username: str, user_id: int | None) -> Actor:
    return Actor("user", username, user_id)


# -- export ------------------------------------------------------------------------------------------


def _default(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"not JSON: {type(value).__name__}")


def _json(value: Any) -> str:
    return json.dumps(value, default=_default, ensure_ascii=False)


def with_linked(stores: Stores, ids: Sequence[str]) -> tuple[str, ...]:
    """These conversations and the others the bot linked to the same customer, checked as one request's
    ids (at most ``rules.MAX_IDS_PER_REQUEST``).

    Raises:
        ValidationError: the ids given are not valid, or with the linked ones there are too many.
    """
    given = rules.customer_ids(ids)
    with session_scope(stores.factory) as session:
        return rules.customer_ids(clearline.same_customer(session, given))


def record_export(stores: Stores, ids: Sequence[str], actor: Actor, now: datetime | None = None) -> None:
    """Audit an export before it is streamed: one record per id (who took a copy of whose data)."""
    ids = rules.customer_ids(ids)
    with session_scope(stores.factory) as session:
        for customer_id in ids:
            audit.record(
                session,
                actor,
                clearline.EXPORT,
                conversation_id=customer_id,
                inputs={"ids_in_request": len(ids)},
                at=now or utcnow(),
            )


def export(stores: Stores, ids: Sequence[str], now: datetime | None = None) -> Iterator[str]:
    """One JSON document of everything held about these customers, in pieces (rows one by one).

    ``{"format", "customer_ids", "exported_at", "holdings", "out_of_scope", "stores": {"clearline":
    {table: [rows]}, "rasa_tracker": {"events": [...]}, "rasa_broker": {"events": [...]}}, "counts"}``
    """
    ids = rules.customer_ids(ids)
    head = {
        "format": EXPORT_FORMAT,
        "customer_ids": list(ids),
        "exported_at": now or utcnow(),
        "holdings": rules.HOLDINGS,
        "out_of_scope": rules.OUT_OF_SCOPE,
    }
    yield _json(head)[:-1] + ', "stores": {'
    counts: dict[str, dict[str, int]] = {}
    with session_scope(stores.factory) as session:
        tables = clearline.rows(session, ids)
        held = {CLEARLINE: tables}
        for store in (stores.tracker, stores.broker):
            with stores.rasa(store, session) as conn:
                held[store.name] = {rasa.EVENTS: rasa.rows(conn, ids) if conn is not None else []}
    for number, (store_name, store_tables) in enumerate(held.items()):
        yield ("" if number == 0 else ", ") + _json(store_name) + ": {"
        for position, (table_name, table_rows) in enumerate(store_tables.items()):
            yield ("" if position == 0 else ", ") + _json(table_name) + ": ["
            for index, row in enumerate(table_rows):
                yield ("" if index == 0 else ", ") + _json(row)
            yield "]"
            counts.setdefault(store_name, {})[table_name] = len(table_rows)
        yield "}"
    yield '}, "counts": ' + _json(counts) + "}\n"


# -- erasure -----------------------------------------------------------------------------------------


@dataclass
class ErasureResult:
    """What one erasure did for one id. ``status``: erased, already_erased (nothing held, erased before)
    or nothing_held."""

    customer_id: str
    status: str
    counts: dict[str, dict[str, int]]
    previously_erased_at: datetime | None = None
    previously_erased_by: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer_id": self.customer_id,
            "status": self.status,
            "counts": self.counts,
            "previously_erased_at": _default(self.previously_erased_at)
            if self.previously_erased_at
            else None,
            "previously_erased_by": self.previously_erased_by,
        }


def _held(counts: dict[str, dict[str, int]]) -> int:
    """Rows of the customer's data removed; renamed audit records do not count (an export of an id leaves
    one, and the audit trail is kept, not erased)."""
    return sum(
        n for store in counts.values() for table, n in store.items() if table not in clearline.AUDIT_COUNTS
    )


def _merge(total: dict[str, dict[str, int]], more: dict[str, dict[str, int]]) -> None:
    for store, tables in more.items():
        for table, n in tables.items():
            total.setdefault(store, {})[table] = total.get(store, {}).get(table, 0) + n


def _remove_everywhere(
    stores: Stores, session: Session, ids: Sequence[str], names: dict[str, str]
) -> dict[str, dict[str, dict[str, int]]]:
    """Delete the ids' rows from every store, per id: the broker first (nothing left for the worker to
    read), then the tracker store, then Clearline's tables (committed by the caller, last)."""
    counts: dict[str, dict[str, dict[str, int]]] = {i: {} for i in ids}
    clearline.hold_off_worker(session)
    for store in (stores.broker, stores.tracker):
        with stores.rasa(store, session) as conn:
            for customer_id in ids:
                removed = rasa.remove(conn, [customer_id]) if conn is not None else 0
                counts[customer_id][store.name] = {rasa.EVENTS: removed}
    for customer_id in ids:
        counts[customer_id][CLEARLINE] = clearline.remove(session, [customer_id], names)
    return counts


def erase(
    stores: Stores,
    ids: Sequence[str],
    *,
    reason: str,
    actor: Actor,
    settle_s: float = 0.0,
    now: datetime | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> list[ErasureResult]:
    """Remove everything held about these customers from every store, also while a conversation is open.

    Each id gets an audit record ``erase`` (under its pseudonym): who, when, why and the counts per store,
    never the erased text. Idempotent: an id with nothing held answers ``nothing_held``, or
    ``already_erased`` with the earlier erasure's time and actor.

    ``settle_s``: after this long the stores are swept again, and anything found is removed and audited as
    ``erase_settle``: a turn Rasa was processing when the rows went saves that conversation again when it
    ends (its tracker store counts what it holds and writes the rest).

    Raises:
        ValidationError: no ids, a bad id, or no reason.
    """
    ids = rules.customer_ids(ids)
    reason = rules.erase_reason(reason)
    names = stores.pseudonyms(ids)
    at = now or utcnow()
    with session_scope(stores.factory) as session:
        previous = {i: clearline.previous_erasure(session, names[i]) for i in ids}
        counts = _remove_everywhere(stores, session, ids, names)
        results = []
        for customer_id in ids:
            before = previous[customer_id]
            held = _held(counts[customer_id]) > 0
            status = "erased" if held else "already_erased" if before else "nothing_held"
            results.append(
                ErasureResult(
                    customer_id,
                    status,
                    counts[customer_id],
                    before.at if before else None,
                    before.actor if before else None,
                )
            )
            audit.record(
                session,
                actor,
                clearline.ERASE,
                conversation_id=names[customer_id],
                inputs={"reason": reason, "ids_in_request": len(ids)},
                outcome={"status": status, "counts": counts[customer_id]},
                at=at,
            )
    log.info("customer_erased", actor=actor.name, ids=len(ids), statuses=[r.status for r in results])
    if settle_s > 0:
        sleep(settle_s)
        _settle(stores, results, names, actor)
    return results


def _settle(stores: Stores, results: list[ErasureResult], names: dict[str, str], actor: Actor) -> None:
    ids = [r.customer_id for r in results]
    with session_scope(stores.factory) as session:
        late = _remove_everywhere(stores, session, ids, names)
        for result in results:
            found = late[result.customer_id]
            if _held(found) == 0:
                continue
            _merge(result.counts, found)
            result.status = "erased"
            audit.record(
                session,
                actor,
                clearline.ERASE_SETTLE,
                conversation_id=names[result.customer_id],
                outcome={"counts": found},
            )
            log.warning("customer_erased_late_rows", actor=actor.name, rows=_held(found))


# -- retention ---------------------------------------------------------------------------------------


@dataclass
class PurgeReport:
    days: int
    cutoff: datetime
    dry_run: bool
    conversations: int = 0  # sender ids purged (or, in a dry run, that would be)
    removed: dict[str, dict[str, int]] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)  # by verdict: open, recent, unread
    audit_text_removed: int = 0

    def add(self, store: str, counts: dict[str, int]) -> None:
        _merge(self.removed, {store: counts})

    def as_dict(self) -> dict[str, Any]:
        return {
            "days": self.days,
            "cutoff": self.cutoff.isoformat(),
            "dry_run": self.dry_run,
            "conversations": self.conversations,
            "removed": self.removed,
            "skipped": self.skipped,
            "audit_text_removed": self.audit_text_removed,
        }


def _purge_senders(
    stores: Stores, session: Session, ids: list[str], offset: int, report: PurgeReport
) -> None:
    for store, through in ((stores.broker, offset), (stores.tracker, None)):
        with stores.rasa(store, session) as conn:
            if conn is None:
                number = 0
            elif report.dry_run:
                number = rasa.count(conn, ids, through=through)
            else:
                number = rasa.remove(conn, ids, through=through)
        report.add(store.name, {rasa.EVENTS: number})
    if report.dry_run:
        report.add(CLEARLINE, clearline.count(session, ids))
    else:
        report.add(CLEARLINE, clearline.remove(session, ids, stores.pseudonyms(ids)))
    report.conversations += len(ids)


def _judge(
    stores: Stores, session: Session, facts: dict[str, rules.SenderFacts], cut: datetime, report: PurgeReport
) -> None:
    """Add what the Rasa stores know to ``facts``, decide, and purge the chosen senders."""
    ids = list(facts)
    offset = clearline.worker_offset(session)
    with stores.rasa(stores.tracker, session) as conn:
        stamps = rasa.last_timestamps(conn, ids) if conn is not None else {}
    with stores.rasa(stores.broker, session) as conn:
        unread = rasa.senders_after(conn, ids, offset) if conn is not None else set()
    chosen = []
    for sender, known in facts.items():
        stamp = stamps.get(sender)
        verdict = rules.purge_verdict(
            rules.SenderFacts(
                sender,
                known.state,
                known.clearline_activity,
                datetime.fromtimestamp(stamp, UTC) if stamp is not None else None,
                sender in unread,
            ),
            cut,
        )
        if verdict == rules.Verdict.PURGE:
            chosen.append(sender)
        else:
            report.skipped[verdict.value] = report.skipped.get(verdict.value, 0) + 1
    if chosen:
        _purge_senders(stores, session, chosen, offset, report)


def purge(
    stores: Stores,
    days: int,
    *,
    dry_run: bool = False,
    actor: Actor = audit.RETENTION,
    now: datetime | None = None,
    chunk: int = PURGE_CHUNK,
) -> PurgeReport:
    """Purge every conversation with no activity in any store for ``days`` days, remove the free text of
    audit records older than that and the outbox rows of alert webhooks settled before it; audited as
    ``purge`` with the counts (no ids, no text).

    A conversation is kept while it is queued or with an agent, while the broker holds events of it the
    worker has not read, and while Rasa's tracker store saw it after the cutoff (``rules.purge_verdict``).
    Each chunk of conversations is one transaction.
    """
    at = now or utcnow()
    cut = rules.cutoff(at, days)
    report = PurgeReport(days, cut, dry_run)
    after_id = 0
    # first, so that a dry run counts what the run does: the purge below strips its conversations' records
    while True:  # the audit trail keeps its decisions, not the text
        with session_scope(stores.factory) as session:
            records = clearline.old_text_records(session, cut, after_id, chunk * 10)
            report.audit_text_removed += clearline.strip_old_text(session, records, dry_run=dry_run)
        if len(records) < chunk * 10:
            break
        after_id = records[-1]["id"]
    after = ""
    while True:  # Clearline's conversations
        with session_scope(stores.factory) as session:
            idle = clearline.idle_conversations(session, cut, after, chunk)
            if idle:
                facts = {c.id: rules.SenderFacts(c.id, c.state, c.last_activity) for c in idle}
                _judge(stores, session, facts, cut, report)
        if len(idle) < chunk:
            break
        after = idle[-1].id
    after = ""
    while True:  # senders only Rasa knows (a session with nothing the worker stores)
        with stores.tracker.begin() as conn:
            senders = rasa.idle_senders(conn, cut.timestamp(), after, chunk) if conn is not None else []
        with session_scope(stores.factory) as session:
            known = clearline.existing(session, senders)  # judged above: still there, so kept
            rest = [s for s in senders if s not in known]
            if rest:
                _judge(stores, session, {s: rules.SenderFacts(s) for s in rest}, cut, report)
        if len(senders) < chunk:
            break
        after = senders[-1]
    with session_scope(stores.factory) as session:  # what is left of alerts' webhooks, whatever their subject
        settled_webhooks = clearline.purge_settled_webhooks(session, cut, dry_run=dry_run)
    if settled_webhooks:
        report.add(CLEARLINE, {"settled_webhooks": settled_webhooks})
    if not dry_run and (report.conversations or report.audit_text_removed or settled_webhooks):
        with session_scope(stores.factory) as session:
            summary = report.as_dict()
            audit.record(
                session,
                actor,
                clearline.PURGE,
                inputs={"days": days, "cutoff": summary["cutoff"]},
                outcome={k: v for k, v in summary.items() if k not in ("days", "cutoff", "dry_run")},
                at=at,
            )
    return report


class RetentionJob:
    """The worker's purge: ``purge`` once per interval on a thread of its own (``Worker``)."""

    def __init__(self, stores: Stores, days: int) -> None:
        self.stores = stores
        self.days = days

    def __call__(self) -> bool:
        report = purge(self.stores, self.days)
        log.info("retention_purge", **report.as_dict())
        return False  # done until the next interval


# -- access logging ----------------------------------------------------------------------------------


def record_transcript_view(session: Session, conversation_id: str, viewer: Actor) -> bool:
    """Audit ``transcript_view``: who opened which conversation's transcript (``clearline.record_view``)."""
    return clearline.record_view(session, conversation_id, viewer, utcnow())


def record_customer_view(session: Session, conversation_id: str, viewer: Actor) -> bool:
    """Audit ``customer_view``: who read the provider's records of which conversation's customer."""
    return clearline.record_view(session, conversation_id, viewer, utcnow(), action=rules.CUSTOMER_VIEW)
