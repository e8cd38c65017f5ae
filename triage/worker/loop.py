"""The worker loop: broker events -> one transaction per batch; the leader's jobs; health.

Every worker scores batches. Routing, SLA checks, the outbox relay, the explainer backlog and retention
run on threads that act only while this worker leads (``triage.worker.leader``): with several workers
they would otherwise fight over the same rows. A batch never routes, and it locks the conversations it
reads until it commits (``triage.services.locking``): routing passes those rows by until the next tick
(PostgreSQL) or waits for the batch (SQLite), so a routing conflict cannot roll a batch back.

Exactly-once: the batch's rows and the source's position (the SQL broker's offset, or a message
broker's event keys) commit in one transaction of Clearline's database, and a message broker is
acknowledged only after that commit; so a worker killed at any moment starts again from what was
committed and neither loses nor repeats a message (the unique index on ``messages.source_event_id``
guards it too).
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from triage import audit, services
from triage.domain.policy import Policy
from triage.services.alerts import raise_alerts
from triage.storage.db import Conversation, ConversationState, session_scope, utcnow
from triage.storage.outbox import RasaCommands, deliver_outbox
from triage.worker.broker import CONSUMER, BrokerEvent, EventSource
from triage.worker.explaining import Explainer, explain_pending, warm_up
from triage.worker.leader import LeaderElection, LeaderLock, LeadershipChange, lock_for
from triage.worker.observability import WorkerMetrics
from triage.worker.pipeline import MAX_EXPLAINED, BatchProcessor, BatchResult
from triage.worker.scoring import Scorer
from triage.worker.sentiment_scorer import SentimentScorer
from triage.worker.versions import BatchVersions, VersionSource

if TYPE_CHECKING:
    from triage.worker.reading import Redact

log = structlog.get_logger("triage.worker.loop")

SLOW_BATCH_SECONDS = 0.5


class EventsErased(Exception):
    """Events of the batch left the broker while it was processed (a customer's erasure)."""

    def __init__(self, missing: int) -> None:
        super().__init__(f"{missing} events of the batch were erased")
        self.missing = missing


@dataclass
class WorkerOptions:
    batch_size: int = 256
    poll_interval: float = 0.05  # seconds to sleep when the broker has nothing new
    housekeeping_interval: float = 1.0  # the leader's SLA check and queue gauges; every worker's lag
    routing_interval: float = 0.2  # the leader routes waiting conversations (a new escalation among them)
    leader_check_interval: float = 1.0  # the leader confirms it still holds the lock
    leader_retry_interval: float = 2.0  # a follower tries to take the lock
    relay_interval: float = 0.2  # outbox delivery
    explain_interval: float = 0.1  # pending explanations
    retention_interval: float = 3600.0  # the purge of conversations past retention, when configured
    shadow_interval: float = 2.0  # the shadow model's scoring of new customer messages, when one is set
    drift_interval: float = 3600.0  # drift against the reference (CLEARLINE_DRIFT_CHECK_INTERVAL_S)
    error_backoff: float = 1.0
    consumer: str = CONSUMER  # the name in the logs
    max_explained: int = MAX_EXPLAINED  # utterances explained per escalation (inside the transaction)
    warm_up_explainer: bool = False  # the explainer thread first explains a fixed text (``warm_up``)


class Worker:
    def __init__(
        self,
        session_factory: sessionmaker[Session],
        source: EventSource,
        scorer: Scorer,
        policy: Policy | Callable[[], Policy],
        redact: Redact,
        rasa: RasaCommands | None = None,
        metrics: WorkerMetrics | None = None,
        options: WorkerOptions | None = None,
        explainer: Explainer | None = None,
        retention: Callable[[], object] | None = None,
        leader_lock: LeaderLock | None = None,
        versions: VersionSource | None = None,
    ) -> None:
        """``retention``: the purge (``triage.privacy.RetentionJob``), run on a thread of its own every
        ``options.retention_interval`` seconds; None when no retention is configured. ``leader_lock``:
        by default the one for ``session_factory``'s database (``triage.worker.leader.lock_for``).
        ``versions``: where each batch's policy and model come from (the registry), instead of ``policy``
        and ``scorer`` alone."""
        self.session_factory = session_factory
        self.retention = retention
        self.explainer: Explainer = explainer or scorer
        self.source = source
        self.metrics = metrics or WorkerMetrics()
        self.options = options or WorkerOptions()
        # a fixed policy, or a source read once per batch (a file's current version); with ``versions``
        # the registry's active policy and model, read once per batch: one batch is never decided under
        # two versions, and a change is picked up at the next batch and audited (triage.worker.versions)
        policy_source: Callable[[], Policy] = policy if callable(policy) else (lambda: policy)
        first = policy_source()
        self.processor = BatchProcessor(scorer, first, redact, self.metrics, self.options.max_explained)
        initial_model = versions.current if versions is not None else None
        self.versions = BatchVersions(
            self.processor, policy_source, versions, initial_model.version if initial_model else None
        )
        self.rasa = rasa
        self.shadow: Callable[[Session], int] | None = None  # built at its first round (imports torch)
        self.stop_event = threading.Event()
        self.heartbeat = time.monotonic()
        self._last_housekeeping = 0.0
        self._threads: list[threading.Thread] = []
        self.identity = f"{socket.gethostname()}:{os.getpid()}"  # in the audit of leadership changes
        self.election = LeaderElection(
            leader_lock or lock_for(_database_url(session_factory)),
            self._leadership_changed,
            self.options.leader_check_interval,
            self.options.leader_retry_interval,
        )

    # -- one step ------------------------------------------------------------------------------
    def process_next_batch(self) -> BatchResult | None:
        """Read, process and commit one batch; None when there was nothing new."""
        try:
            return self._process_next_batch()
        except EventsErased as exc:  # rolled back: read again, without the erased events
            log.info("batch_reread_after_erasure", missing=exc.missing)
            return BatchResult(last_event_id=0)  # not None: look again at once

    def _process_next_batch(self) -> BatchResult | None:
        started = time.perf_counter()
        events: list[BrokerEvent] = []
        try:
            with session_scope(self.session_factory) as session:
                self.versions.take(session)
                events = self.source.fetch(session, self.options.batch_size)
                if not events:
                    self.metrics.lag_seconds.set(0)  # caught up
                    return None
                result = self.processor.process(session, events)
                self._check_not_erased(session, events)
                self.source.record(session, events)
        except BaseException:
            if events:
                self.source.release(events)
            raise
        self.source.settle(events)
        seconds = time.perf_counter() - started
        if seconds > SLOW_BATCH_SECONDS:
            log.warning(
                "slow_batch", seconds=round(seconds, 3), events=result.events, escalated=len(result.escalated)
            )
        self.metrics.events_processed.inc(result.events)
        if result.newest_event_at is not None:
            self.metrics.lag_seconds.set(max(0.0, (utcnow() - result.newest_event_at).total_seconds()))
        return result

    def _check_not_erased(self, session: Session, events: list[BrokerEvent]) -> None:
        """An erasure deletes a customer's events from the broker and their rows from Clearline's tables
        (``triage.privacy``); a batch that read the events before must not store them again. With the
        batch's rows flushed this transaction holds SQLite's write lock (an erasure holds it until it
        commits; on PostgreSQL the offset row's lock taken by ``fetch`` does the same), so events still
        there now were not erased before this commit."""
        session.flush()
        present = self.source.count_present(events)
        if present != len(events):
            raise EventsErased(len(events) - present)

    def housekeeping(self) -> None:
        """This worker's lag (events its source has not processed yet)."""
        with session_scope(self.session_factory) as session:
            waiting = self.source.waiting(session)
        self.metrics.lag_events.set(waiting)

    # -- the leader's jobs (each also callable on its own, as the tests do) ---------------------
    def route_once(self) -> list[tuple[str, int]]:
        """Route waiting conversations to free agents (agents come and go; escalations arrive)."""
        with session_scope(self.session_factory) as session:
            return services.assign_waiting(session, utcnow())

    def check_sla_once(self) -> list[str]:
        """First-reply SLA breaches, and the queue gauges."""
        with session_scope(self.session_factory) as session:
            now = utcnow()
            breached = services.check_sla(session, now)
            raise_alerts(session, now)  # SLA breached or about to, a P1 waiting: once each
            lengths = dict(
                session.execute(
                    select(Conversation.queue, func.count())
                    .where(Conversation.state == ConversationState.QUEUED)
                    .group_by(Conversation.queue)
                ).all()
            )
        for conversation_id in breached:
            self.metrics.sla_breaches.inc()
            log.warning("sla_breach", conversation_id=conversation_id)
        known = set(self.processor.policy.config.queue_names)
        self.metrics.set_queue_lengths({q: int(lengths.get(q, 0)) for q in known | {str(q) for q in lengths}})
        return breached

    def explain_once(self) -> list[int]:
        """Fill the pending explanations of a few escalations (see ``triage.worker.explaining``)."""
        return explain_pending(self.session_factory, self.explainer, self.metrics.observe_explanation)

    def shadow_once(self) -> int:
        """The registry's shadow model scores the next customer messages (``triage.monitoring.shadow``)."""
        if self.shadow is None:
            from triage.monitoring.shadow import ShadowScorer

            self.shadow = ShadowScorer(lambda path: SentimentScorer(path, own_instance=True))
        with session_scope(self.session_factory) as session:
            return self.shadow(session)

    def check_drift_once(self) -> None:
        """Yesterday's and today's scores of the active model against its reference: an alert per day
        that drifts, and the gauges (``triage.monitoring.drift``)."""
        from sentiment.settings import SentimentSettings
        from triage.monitoring.drift import DriftCheck

        check = DriftCheck(SentimentSettings().model_dir, self.metrics.set_drift)
        with session_scope(self.session_factory) as session:
            check(session)

    def relay_once(self) -> int:
        if self.rasa is None:
            return 0
        return deliver_outbox(self.session_factory, self.rasa)

    # -- health --------------------------------------------------------------------------------
    def alive(self) -> bool:
        return time.monotonic() - self.heartbeat < 60

    def ready(self) -> tuple[bool, dict[str, bool]]:
        checks = {"database": self._database_ok(), "model": self.processor.scorer is not None}
        return all(checks.values()), checks

    def _database_ok(self) -> bool:
        try:
            with self.session_factory() as session:
                session.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    # -- leadership ----------------------------------------------------------------------------
    def _leadership_changed(self, change: LeadershipChange) -> None:
        """The gauge at once; then the audit (a database that is down loses the record, not the change)."""
        self.metrics.leader.set(1 if change.leading else 0)
        if not change.leading:
            self.metrics.queue_length.clear()  # the new leader reports the queues; stale values would add up
        with session_scope(self.session_factory) as session:
            audit.record(
                session,
                audit.WORKER,
                f"leader_{change.reason}",
                inputs={"worker": self.identity},
                outcome={"leading": change.leading} | ({"error": change.error} if change.error else {}),
            )

    def _keep_leadership(self) -> None:
        while not self.stop_event.wait(self.election.interval()):
            try:
                self.election.check()
            except Exception:  # it handles the lock's failures itself; this thread must never end early
                log.exception("leadership_check_failed")

    # -- loops ---------------------------------------------------------------------------------
    def _repeat_while_leading(
        self,
        step: Callable[[], object],
        interval: float,
        name: str,
        wait_first: bool = False,
        prepare: Callable[[], object] | None = None,
    ) -> None:
        if prepare is not None:  # once, leader or not: a worker that takes over later is ready at once
            prepare()
        if wait_first:
            self.stop_event.wait(interval)
        while not self.stop_event.is_set():
            if not self.election.leading:  # look again soon: leadership may come
                self.stop_event.wait(min(interval, self.options.leader_retry_interval))
                continue
            try:
                busy = step()
            except Exception:
                log.exception(f"{name}_failed")
                busy = False
            if not busy:  # with work done, look again at once
                self.stop_event.wait(interval)

    def _start(self, step: Callable[[], object], interval: float, name: str, **when: Any) -> None:
        """A thread that repeats ``step`` while this worker leads; ``when``: ``_repeat_while_leading``'s
        ``wait_first`` and ``prepare``."""
        thread = threading.Thread(
            target=self._repeat_while_leading,
            args=(step, interval, name),
            kwargs=when,
            name=name,
            daemon=True,
        )
        thread.start()
        self._threads.append(thread)

    def _start_leader_jobs(self) -> None:
        self._start(self.route_once, self.options.routing_interval, "router")
        self._start(self.check_sla_once, self.options.housekeeping_interval, "sla")
        warm = (lambda: warm_up(self.explainer)) if self.options.warm_up_explainer else None
        self._start(self.explain_once, self.options.explain_interval, "explainer", prepare=warm)
        if self.rasa is not None:
            self._start(self.relay_once, self.options.relay_interval, "outbox_relay")
        # an interval after the worker starts (a worker that becomes leader later checks at once): a restart
        # does not recount the days at once; the alert's key keeps a recount from alerting twice
        self._start(self.shadow_once, self.options.shadow_interval, "shadow")
        self._start(self.check_drift_once, self.options.drift_interval, "drift", wait_first=True)
        if self.retention is not None:
            self._start(self.retention, self.options.retention_interval, "retention")

    def run(self) -> None:
        """Loop until ``stop()``; the current batch always finishes (or rolls back) first. Leadership is
        given up only after the leader's jobs have stopped, so a successor never overlaps them."""
        log.info("worker_started", consumer=self.options.consumer, worker=self.identity)
        self.metrics.leader.set(0)
        self.election.check()  # before the jobs start: a single worker leads from its first moment
        self._start_leader_jobs()
        leadership = threading.Thread(target=self._keep_leadership, name="leadership", daemon=True)
        leadership.start()
        try:
            self._run_batches()
        finally:
            self.stop_event.set()  # also when the loop raised: the jobs end before the lock is given up
            for thread in [*self._threads, leadership]:
                thread.join(timeout=30)
            self.election.resign()
        log.info("worker_stopped", consumer=self.options.consumer)

    def _run_batches(self) -> None:
        while not self.stop_event.is_set():
            self.heartbeat = time.monotonic()
            try:
                result = self.process_next_batch()
                if time.monotonic() - self._last_housekeeping >= self.options.housekeeping_interval:
                    self.housekeeping()
                    self._last_housekeeping = time.monotonic()
            except Exception:
                self.metrics.batch_failures.inc()
                log.exception("batch_failed")  # rolled back: the same events are read again
                self.stop_event.wait(self.options.error_backoff)
                continue
            if result is None:
                self.stop_event.wait(self.options.poll_interval)
            elif result.escalated:
                log.info("batch_escalated", escalated=result.escalated, events=result.events)

    def stop(self) -> None:
        self.stop_event.set()


def _database_url(session_factory: sessionmaker[Session]) -> str:
    """The URL (with its password) of the engine the session factory is bound to."""
    bind = session_factory.kw.get("bind")
    return bind.url.render_as_string(hide_password=False) if bind is not None else ""
