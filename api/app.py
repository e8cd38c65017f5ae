"""The api's app factory: ``uvicorn api.app:create_app --factory``."""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from slowapi import _rate_limit_exceeded_handler
from slowapi.errors import RateLimitExceeded
from sqlalchemy import inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from api import live, observability, pages
from api.app_csp import CSP, DOCS_CSP
from api.audit_horizon import AuditHorizon
from api.errors import install_error_handlers
from api.ratelimit import limiter
from api.relay import OutboxRelay
from api.routes import (
    actions,
    agents,
    alerts,
    audit,
    auth,
    chat,
    console,
    conversations,
    customer_panel,
    customers,
    dashboard,
    earlier,
    export,
    feedback,
    handoff,
    monitoring,
    registry,
    replay,
    suggestions,
    typing_indicator,
    users,
)
from api.security import Signer
from api.settings import ApiSettings, get_api_settings
from api.users import seed_demo_users
from triage.logs import configure_logging
from triage.privacy import Stores
from triage.settings import CoreSettings, get_settings
from triage.storage.db import make_engine, make_session_factory, session_scope

STATIC_DIR = Path(__file__).parent / "static"
log = structlog.get_logger("api")


def api_router() -> APIRouter:
    router = APIRouter(prefix="/api/v1")
    for module in (
        auth,
        alerts,
        chat,
        users,
        conversations,
        customer_panel,
        earlier,
        suggestions,
        actions,
        console,
        feedback,
        agents,
        dashboard,
        audit,
        export,
        handoff,
        customers,
        registry,
        replay,
        monitoring,
        typing_indicator,
        live,
    ):
        router.include_router(module.router)
    return router


async def security_headers(request: Request, call_next: Callable[[Request], Awaitable[Response]]) -> Response:
    response = await call_next(request)
    is_docs = request.url.path in ("/docs", "/openapi.json")
    response.headers.setdefault("Content-Security-Policy", DOCS_CSP if is_docs else CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not request.url.path.startswith("/static/"):
        # transcripts and tokens must not linger in shared or browser caches
        response.headers.setdefault("Cache-Control", "no-store")
    return response


DEMO_SEED_ATTEMPTS = 3


def _seed_demo(factory: sessionmaker[Session]) -> None:
    with factory() as probe:
        if not inspect(probe.get_bind()).has_table("users"):
            log.warning("demo users not seeded: the database has no tables yet (run the migrations)")
            return
    # Several api processes may start at once on one database (compose runs two): each checks which demo
    # users are missing, and the one that commits second meets the first one's rows. Its next attempt
    # finds them there.
    for attempt in range(1, DEMO_SEED_ATTEMPTS + 1):
        try:
            with session_scope(factory) as session:
                created = seed_demo_users(session)
        except IntegrityError:
            if attempt == DEMO_SEED_ATTEMPTS:
                raise
            log.info("demo users seeded concurrently by another process; checking again", attempt=attempt)
            continue
        if created:
            log.info("demo users seeded", users=created)
        return


def _register_versions(factory: sessionmaker[Session], core: CoreSettings) -> None:
    """The configured model and policy, registered and active where none is (first start)."""
    from sentiment.settings import SentimentSettings
    from triage.registry.bootstrap import register_configured

    try:
        register_configured(factory, Path(SentimentSettings().model_dir), Path(core.policy_path))
    except Exception:  # the api serves without it: the policy file applies while nothing is registered
        log.exception("registry not bootstrapped")


def _warm_up_redaction() -> None:
    # presidio takes seconds to import; do it now rather than in the first agent's reply
    from triage.redaction import redact

    redact("warm-up")


def create_app(
    core: CoreSettings | None = None,
    settings: ApiSettings | None = None,
    session_factory: sessionmaker[Session] | None = None,
    relay: OutboxRelay | None = None,
) -> FastAPI:
    core = core or get_settings()
    settings = settings or get_api_settings()
    configure_logging()  # JSON logs; keeps Rasa's token (in relay URLs) out of them
    factory = session_factory or make_session_factory(make_engine(core.database_url))

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if core.demo:
            _seed_demo(factory)
        _register_versions(factory, core)
        threading.Thread(target=_warm_up_redaction, name="redaction-warm-up", daemon=True).start()
        yield
        app.state.relay.close()
        app.state.privacy_stores.close()

    app = FastAPI(
        title="Clearline",
        version="1",
        summary="Support assistant with explainable stress triage: agent console and supervisor API.",
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    app.state.core_settings = core
    app.state.api_settings = settings
    app.state.session_factory = factory
    app.state.signer = Signer(core.secret_key)
    app.state.metrics = observability.ApiMetrics()
    app.state.relay = relay if relay is not None else OutboxRelay.from_settings(factory, core)
    # Rasa's stores too, for an admin's export and erasure of a customer (opened on first use)
    app.state.privacy_stores = Stores.from_settings(core, factory)
    app.state.limiter = limiter
    app.state.audit_horizon = AuditHorizon()  # how far the live feed may go (ids commit out of order)
    app.add_exception_handler(RateLimitExceeded, _rate_limit_exceeded_handler)  # type: ignore[arg-type]
    install_error_handlers(app)
    app.middleware("http")(observability.record_request)
    app.middleware("http")(security_headers)

    app.include_router(api_router())
    app.include_router(observability.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="Clearline API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    return app
