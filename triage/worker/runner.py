"""Wires the real worker from settings: database, Rasa's broker, the emotion model, Rasa's HTTP API."""

from __future__ import annotations

import functools
import signal
import sys
from dataclasses import dataclass, replace
from pathlib import Path
from types import FrameType

import structlog
from sqlalchemy import inspect

from sentiment.types import Explanation, UtteranceScore
from triage.logs import configure_logging
from triage.rasa.client import RasaClient
from triage.registry.active import ModelRef, active_model
from triage.registry.bootstrap import register_configured
from triage.settings import CoreSettings, get_settings
from triage.storage.db import make_engine, make_session_factory
from triage.webhooks import OutboxCommands
from triage.worker.broker import EventSource, SqlEventSource
from triage.worker.explaining import Explainer
from triage.worker.loop import Worker, WorkerOptions
from triage.worker.observability import HealthServer, ModelProbe, WorkerMetrics, with_model_probe
from triage.worker.scoring import Scorer
from triage.worker.sentiment_scorer import SentimentScorer
from triage.worker.versions import LoadedModel, RegistryVersions

# The explainer's own model instance: explanations run on torch (gradients), so no ONNX Runtime session.
EXPLAINER_RUNTIME = "torch"

log = structlog.get_logger("triage.worker.runner")


class SetupError(Exception):
    """The worker cannot start; the message says what to do."""


def build_worker(
    settings: CoreSettings,
    scorer: Scorer,
    options: WorkerOptions | None = None,
    explainer: Explainer | None = None,
    versions: RegistryVersions | None = None,
) -> Worker:
    """The worker on ``settings``' database. Each batch takes the registry's active policy (the policy
    file while none is registered) and, with ``versions``, its active model; without, ``scorer`` always."""
    # presidio takes seconds to import: only when a worker is built
    from triage.redaction import redact_with_spans

    engine = make_engine(settings.database_url)
    if not inspect(engine).has_table("consumer_offsets"):
        raise SetupError(
            f"{settings.database_url}: Clearline's tables are missing; run `clearline db upgrade`"
        )
    factory = make_session_factory(engine)
    retention = None
    if settings.retention_days is not None:
        from triage.privacy import RetentionJob, Stores

        retention = RetentionJob(Stores.from_settings(settings, factory), settings.retention_days)
    metrics = WorkerMetrics()
    options = options or default_options(settings)
    versions = versions or RegistryVersions(load=None)  # the registry's policy; the model: ``scorer``
    with factory() as session:
        first_policy = versions.policy(session)
    return Worker(
        factory,
        event_source(settings, metrics),
        scorer,
        first_policy,
        redact_with_spans,
        OutboxCommands(RasaClient(settings.rasa_url, settings.rasa_token)),  # webhooks too
        metrics,
        options,
        explainer,
        retention,
        versions=versions,
    )


def event_source(settings: CoreSettings, metrics: WorkerMetrics) -> EventSource:
    """Where the worker reads Rasa's events (``CLEARLINE_EVENT_SOURCE``)."""
    if settings.event_source == "rabbitmq":
        from triage.worker.partitions import leases_for
        from triage.worker.rabbitmq_source import RabbitMQEventSource  # pika: only when asked for

        # Few unacknowledged deliveries per queue, so that everything a worker holds fits in one batch:
        # when a worker dies RabbitMQ hands its deliveries to the next one, not always in their first
        # order (measured by tests/integration/test_scale_out.py), and a batch puts each conversation's
        # events back in order (triage.worker.receipts.in_conversation_order).
        prefetch = max(1, WorkerOptions().batch_size // settings.rabbitmq_partitions)
        return RabbitMQEventSource(
            settings.rabbitmq_url,
            settings.rabbitmq_partitions,
            pseudonym_key=settings.secret_key,
            prefetch=prefetch,
            registry=metrics.registry,
            # PostgreSQL: the workers split the partitions by leases; SQLite: the one worker takes all
            leases=leases_for(settings.database_url, settings.rabbitmq_partitions),
        )
    return SqlEventSource(settings.events_url)


@dataclass(frozen=True)
class Model:
    """The emotion model as this process got it; ``error`` is why it did not load."""

    scorer: Scorer
    explainer: Explainer | None = None  # None: the worker explains with ``scorer``
    error: Exception | None = None
    loaded: LoadedModel | None = None  # the registered model it is


class _NotLoaded:
    """Stands in for a model that did not load. The worker is still built, so that /readyz can answer
    its database check, but its loop never runs; were it called, it would say why it cannot score."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def score(self, texts: list[str]) -> list[UtteranceScore]:
        raise _did_not_load(self.error) from self.error

    def explain(self, text: str, target: str) -> Explanation:
        raise _did_not_load(self.error) from self.error


def _did_not_load(error: Exception) -> SetupError:
    return SetupError(f"the emotion model did not load: {error}")


def load_model(settings: CoreSettings, ref: ModelRef | None = None) -> Model:
    """The real model (the registered ``ref``, else ``CLEARLINE_MODEL_DIR``'s), and an instance of its
    own for the explainer thread.

    A model that fails to load (missing or truncated weights, out of memory) is logged and kept as
    ``error`` rather than raised: the worker then serves /readyz as not ready, which is where the stack
    and the container health check look, instead of exiting before anything could ask it.
    """
    try:
        loaded = load_registered(settings, ref) if ref is not None else None
        scorer = loaded.scorer if loaded else SentimentScorer(threads=settings.worker_threads)
        explainer = (
            loaded.explainer
            if loaded
            else SentimentScorer(
                threads=settings.worker_threads, own_instance=True, runtime=EXPLAINER_RUNTIME
            )
        )
    except Exception as exc:
        log.exception("model_load_failed")
        return Model(_NotLoaded(exc), error=exc)
    return Model(scorer, explainer, loaded=loaded)


def load_registered(settings: CoreSettings, ref: ModelRef) -> LoadedModel:
    """A registered model, refused when its directory no longer holds the weights that were registered."""
    from sentiment.checkpoint import weights_digest
    from sentiment.errors import ModelNotLoaded

    if weights_digest(Path(ref.path)) != ref.weights_digest:
        raise ModelNotLoaded(f"{ref.path}: the weights differ from those registered as {ref.version}")
    scorer = SentimentScorer(ref.path, threads=settings.worker_threads)
    if scorer.version != ref.version:
        raise ModelNotLoaded(f"{ref.path} loads as {scorer.version}, registered as {ref.version}")
    explainer = SentimentScorer(
        ref.path, threads=settings.worker_threads, own_instance=True, runtime=EXPLAINER_RUNTIME
    )
    return LoadedModel(ref.version, scorer, explainer)


def registered_model(settings: CoreSettings) -> ModelRef | None:
    """Register the configured model and policy where none is active (first start); the active model."""
    from sentiment.settings import SentimentSettings

    engine = make_engine(settings.database_url)
    try:
        factory = make_session_factory(engine)
        register_configured(factory, Path(SentimentSettings().model_dir), Path(settings.policy_path))
        with factory() as session:
            return active_model(session) if inspect(engine).has_table("model_versions") else None
    finally:
        engine.dispose()


def health_server(
    settings: CoreSettings, worker: Worker, model: Model, port: int | None = None
) -> HealthServer:
    """/healthz, /readyz and /metrics; readiness asks the model itself to score (see ``ModelProbe``)."""
    # the model the batches score with now (a promotion switches it)
    probe = ModelProbe(
        None if model.error is not None else lambda texts: worker.processor.scorer.score(texts)
    )
    # Without a model the loop never runs, so its heartbeat says nothing: the process is alive (it
    # answers, and /readyz says why it is not ready).
    alive = worker.alive if model.error is None else lambda: True
    return HealthServer(
        settings.api_host,
        settings.worker_port if port is None else port,
        worker.metrics,
        alive,
        with_model_probe(worker.ready, probe),
    )


def default_options(settings: CoreSettings) -> WorkerOptions:
    """The worker's options as ``settings`` set them."""
    return WorkerOptions(drift_interval=settings.drift_check_interval_s)


def serving_options(settings: CoreSettings) -> WorkerOptions:
    """The options of a worker that serves: its explainer thread warms up as it starts, so the first
    explanation does not wait for the explainer's imports."""
    return replace(default_options(settings), warm_up_explainer=True)


def serve(
    settings: CoreSettings | None = None, scorer: Scorer | None = None, port: int | None = None
) -> None:
    """Run the worker until SIGTERM/SIGINT; the batch in progress commits or rolls back first."""
    settings = settings or get_settings()
    versions = None
    if scorer is None:
        model = load_model(settings, registered_model(settings))
        # the registry's active model at every batch; a promoted one is loaded by the batch that sees it
        versions = RegistryVersions(functools.partial(load_registered, settings), model.loaded)
    else:
        model = Model(scorer)
    explainer = versions or model.explainer
    worker = build_worker(settings, model.scorer, serving_options(settings), explainer, versions)
    server = health_server(settings, worker, model, port)
    server.start()
    log.info("worker_http", port=server.port)

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("worker_stopping", signal=signal.Signals(signum).name)
        worker.stop()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        if model.error is None:
            worker.run()
        else:  # not ready until stopped; the events wait in Rasa's broker for a worker that can score
            worker.stop_event.wait()
    finally:
        server.stop()
        worker.source.close()
    if model.error is not None:
        raise _did_not_load(model.error) from model.error


def main(port: int | None = None, scorer: Scorer | None = None) -> None:
    """Entry point of a worker process: JSON logs, then ``serve`` until a signal."""
    configure_logging()
    try:
        serve(scorer=scorer, port=port)
    except SetupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from exc
