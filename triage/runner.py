"""Wires the real worker from settings: database, Rasa's broker, the emotion model, Rasa's HTTP API."""

from __future__ import annotations

import signal
import sys
from types import FrameType

import structlog
from sqlalchemy import inspect

from triage.broker import SqlEventSource
from triage.db import make_engine, make_session_factory
from triage.explaining import Explainer
from triage.logs import configure_logging
from triage.observability import HealthServer, WorkerMetrics
from triage.pipeline import Scorer
from triage.policy import load_policy
from triage.rasa_client import RasaClient
from triage.settings import CoreSettings, get_settings
from triage.worker import SentimentScorer, Worker, WorkerOptions

log = structlog.get_logger("triage.runner")


class SetupError(Exception):
    """The worker cannot start; the message says what to do."""


def build_worker(
    settings: CoreSettings,
    scorer: Scorer,
    options: WorkerOptions | None = None,
    explainer: Explainer | None = None,
) -> Worker:
    from triage.redaction import redact  # presidio takes seconds to import: only when a worker is built

    engine = make_engine(settings.database_url)
    if not inspect(engine).has_table("consumer_offsets"):
        raise SetupError(
            f"{settings.database_url}: Clearline's tables are missing; run `clearline db upgrade`"
        )
    return Worker(
        make_session_factory(engine),
        SqlEventSource(settings.events_url),
        scorer,
        load_policy(settings.policy_path),
        redact,
        RasaClient(settings.rasa_url, settings.rasa_token),
        WorkerMetrics(),
        options,
        explainer,
    )


def serve(
    settings: CoreSettings | None = None, scorer: Scorer | None = None, port: int | None = None
) -> None:
    """Run the worker until SIGTERM/SIGINT; the batch in progress commits or rolls back first."""
    settings = settings or get_settings()
    explainer: Explainer | None = None
    if scorer is None:  # the real model; the explainer thread gets an instance of its own
        scorer = SentimentScorer(threads=settings.worker_threads)
        explainer = SentimentScorer(threads=settings.worker_threads, own_instance=True)
    worker = build_worker(settings, scorer, explainer=explainer)
    server = HealthServer(
        settings.api_host,
        settings.worker_port if port is None else port,
        worker.metrics,
        worker.alive,
        worker.ready,
    )
    server.start()
    log.info("worker_http", port=server.port)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("worker_stopping", signal=signal.Signals(signum).name)
        worker.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        worker.run()
    finally:
        server.stop()
        worker.source.close()


def main(port: int | None = None, scorer: Scorer | None = None) -> None:
    """Entry point of a worker process: JSON logs, then ``serve`` until a signal."""
    configure_logging()
    try:
        serve(scorer=scorer, port=port)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
