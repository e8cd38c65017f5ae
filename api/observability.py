"""Health, readiness and Prometheus metrics for the api; structured logging set-up."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

import structlog
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

router = APIRouter(tags=["health"])


class ApiMetrics:
    """Per-app registry so that several apps (tests) never clash on metric names."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "clearline_api_requests", "HTTP requests", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "clearline_api_request_seconds", "HTTP request latency", ["route"], registry=self.registry
        )


def route_template(request: Request) -> str:
    """The matched route with placeholders (``/api/v1/conversations/{conversation_id}``): bounded labels."""
    if request.scope.get("route") is None:
        return "unmatched"
    path = request.url.path
    for name, value in request.path_params.items():
        path = path.replace(f"/{value}", f"/{{{name}}}", 1)
    return path


async def record_request(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    started = time.perf_counter()
    response = await call_next(request)
    name = route_template(request)
    metrics: ApiMetrics = request.app.state.metrics
    metrics.requests.labels(request.method, name, str(response.status_code)).inc()
    metrics.latency.labels(name).observe(time.perf_counter() - started)
    return response


@router.get("/healthz", include_in_schema=False)
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", include_in_schema=False)
def readyz(request: Request) -> JSONResponse:
    factory: sessionmaker[Session] = request.app.state.session_factory
    try:
        with factory() as session:
            session.execute(text("SELECT 1"))
    except Exception as exc:  # any database failure means "not ready"
        structlog.get_logger("api").warning("database not reachable", error=type(exc).__name__)
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    return JSONResponse({"status": "ready", "database": "ok"})


@router.get("/metrics", include_in_schema=False)
def prometheus(request: Request) -> Response:
    metrics: ApiMetrics = request.app.state.metrics
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
