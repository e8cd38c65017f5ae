"""The worker's metrics and its small HTTP server: /healthz, /readyz and /metrics."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import structlog
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from sentiment.types import UtteranceScore
from triage.domain.drift import DayDrift

log = structlog.get_logger("triage.worker.observability")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class WorkerMetrics:
    """Prometheus metrics in a registry of their own (several workers can live in one test process)."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.utterances_scored = Counter(
            "clearline_utterances_scored", "Customer utterances scored", registry=r
        )
        self.events_processed = Counter("clearline_events_processed", "Broker events consumed", registry=r)
        self.scoring_seconds = Histogram(
            "clearline_scoring_seconds", "One batched scoring call", buckets=LATENCY_BUCKETS, registry=r
        )
        self.explanation_seconds = Histogram(
            "clearline_explanation_seconds", "One utterance explanation", buckets=LATENCY_BUCKETS, registry=r
        )
        self.escalations = Counter(
            "clearline_escalations", "Escalations by the policy", ["queue"], registry=r
        )
        self.queue_length = Gauge(
            "clearline_queue_length", "Conversations waiting for an agent", ["queue"], registry=r
        )
        self.sla_breaches = Counter("clearline_sla_breaches", "First-reply SLA breaches", registry=r)
        self.lag_events = Gauge("clearline_worker_lag_events", "Broker events not yet processed", registry=r)
        self.lag_seconds = Gauge(
            "clearline_worker_lag_seconds",
            "Age of the newest processed event when it was processed",
            registry=r,
        )
        self.batch_failures = Counter("clearline_worker_batch_failures", "Batches rolled back", registry=r)
        self.leader = Gauge(
            "clearline_worker_leader",
            "1 while this worker leads (routing, SLA, outbox relay, explanations, retention), else 0",
            registry=r,
        )

        self.drift_stress_psi = Gauge(
            "clearline_drift_stress_psi",
            "Stress PSI of the latest day against the model's reference",
            ["model_version"],
            registry=r,
        )
        self.drift_label_psi = Gauge(
            "clearline_drift_label_psi",
            "Predicted-label PSI of the latest day against the model's reference",
            ["model_version"],
            registry=r,
        )
        self.drift_flag_rate = Gauge(
            "clearline_flag_rate",
            "Share of the latest day's scored messages flagged",
            ["model_version"],
            registry=r,
        )
        self.drift_alert = Gauge(
            "clearline_drift_alert",
            "1 while the latest day crosses a drift threshold",
            ["model_version"],
            registry=r,
        )

    def set_drift(self, model_version: str, drift: DayDrift) -> None:
        for gauge, value in (
            (self.drift_stress_psi, drift.stress_psi),
            (self.drift_label_psi, drift.label_psi),
            (self.drift_flag_rate, drift.flag_rate),
            (self.drift_alert, float(drift.alert)),
        ):
            if value is not None:
                gauge.labels(model_version=model_version).set(value)

    def observe_scoring(self, seconds: float, count: int) -> None:
        self.scoring_seconds.observe(seconds)
        self.utterances_scored.inc(count)

    def observe_explanation(self, seconds: float) -> None:
        self.explanation_seconds.observe(seconds)

    def escalated(self, queue: str) -> None:
        self.escalations.labels(queue=queue).inc()

    def set_queue_lengths(self, lengths: dict[str, int]) -> None:
        for queue, value in lengths.items():
            self.queue_length.labels(queue=queue).set(value)

    def render(self) -> bytes:
        return generate_latest(self.registry)


Readiness = Callable[[], tuple[bool, dict[str, bool]]]
PROBE_TEXT = "My card was declined twice and I need it today."


class ModelProbe:
    """Whether the emotion model can score: it loaded, and a fixed text gets one stress in [0, 1].

    The worker's own check only sees that it holds a scorer; a model that did not load, or that raises
    (or answers NaN) on every call, would keep /readyz green while every batch rolls back. An answer is
    kept ``ttl_s`` seconds so that frequent probes add next to nothing to the model's load.
    """

    def __init__(
        self,
        score: Callable[[list[str]], Sequence[UtteranceScore]] | None,
        ttl_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._score = score  # None: the model did not load
        self._ttl_s = ttl_s
        self._clock = clock
        self._lock = threading.Lock()
        self._answer: tuple[float, bool] | None = None  # (when, ok)

    def __call__(self) -> bool:
        if self._score is None:
            return False
        with self._lock:  # probes at the same moment share one model call
            now = self._clock()
            if self._answer is None or now - self._answer[0] >= self._ttl_s:
                self._answer = (now, self._probe(self._score))
            return self._answer[1]

    @staticmethod
    def _probe(score: Callable[[list[str]], Sequence[UtteranceScore]]) -> bool:
        try:
            scores = score([PROBE_TEXT])
        except Exception as exc:
            log.warning("model_probe_failed", error=f"{type(exc).__name__}: {exc}")
            return False
        return len(scores) == 1 and 0.0 <= scores[0].stress <= 1.0  # NaN fails both comparisons


def with_model_probe(ready: Readiness, model: Callable[[], bool]) -> Readiness:
    """``ready`` with its "model" check answered by ``model`` (a ``ModelProbe``)."""

    def check() -> tuple[bool, dict[str, bool]]:
        checks = {**ready()[1], "model": model()}
        return all(checks.values()), checks

    return check


class HealthServer:
    """Serves health, readiness and metrics on a daemon thread."""

    def __init__(
        self,
        host: str,
        port: int,
        metrics: WorkerMetrics,
        alive: Callable[[], bool],
        ready: Readiness,
    ) -> None:
        handler = _handler(metrics, alive, ready)
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, name="worker-http", daemon=True)

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _handler(
    metrics: WorkerMetrics, alive: Callable[[], bool], ready: Readiness
) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: dict[str, object]) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def do_GET(self) -> None:  # noqa: N802 - the name http.server dispatches to
            if self.path == "/healthz":
                ok = alive()
                self._json(200 if ok else 503, {"status": "ok" if ok else "stalled"})
            elif self.path == "/readyz":
                ok, checks = ready()
                self._json(200 if ok else 503, {"status": "ready" if ok else "not ready", "checks": checks})
            elif self.path == "/metrics":
                self._send(200, metrics.render(), CONTENT_TYPE_LATEST)
            else:
                self._json(404, {"detail": "not found"})

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - http.server's signature
            return  # probes every few seconds would flood the log

    return Handler
