"""The one place where domain errors become HTTP status codes, and where unexpected errors are hidden."""

from __future__ import annotations

import structlog
from fastapi import FastAPI, Request, status
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.orm.exc import StaleDataError

from api.provider import ProviderUnavailable
from triage import errors as domain
from triage.domain.staff import StaffChangeRefused
from triage.registry import rules as registry

log = structlog.get_logger("api.errors")

DOMAIN_STATUS: dict[type[Exception], int] = {
    domain.ConversationNotFound: status.HTTP_404_NOT_FOUND,
    domain.EscalationNotFound: status.HTTP_404_NOT_FOUND,
    domain.AgentNotFound: status.HTTP_404_NOT_FOUND,
    domain.InvalidTransition: status.HTTP_409_CONFLICT,
    domain.StaleUpdate: status.HTTP_409_CONFLICT,
    domain.CapacityExceeded: status.HTTP_409_CONFLICT,
    domain.NotAssignedToYou: status.HTTP_403_FORBIDDEN,
    domain.ValidationError: status.HTTP_422_UNPROCESSABLE_CONTENT,
    registry.UnknownVersion: status.HTTP_404_NOT_FOUND,
    registry.NotAnAdmin: status.HTTP_403_FORBIDDEN,
    StaffChangeRefused: status.HTTP_409_CONFLICT,
    ProviderUnavailable: status.HTTP_503_SERVICE_UNAVAILABLE,
}


def status_for(exc: Exception) -> int:
    for cls in type(exc).__mro__:
        if cls in DOMAIN_STATUS:
            return DOMAIN_STATUS[cls]
    return status.HTTP_500_INTERNAL_SERVER_ERROR


async def _domain_error(_request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": str(exc) or type(exc).__name__}, status_code=status_for(exc))


async def _stale(_request: Request, _exc: Exception) -> JSONResponse:
    return JSONResponse(
        {"detail": "the conversation was changed by someone else; reload and try again"},
        status_code=status.HTTP_409_CONFLICT,
    )


async def _invalid_request(_request: Request, exc: Exception) -> JSONResponse:
    # Say where and what, never echo the input back (it may be binary, huge or someone's secret).
    errors = exc.errors() if isinstance(exc, RequestValidationError) else []
    detail = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")} for e in errors
    ]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", path=request.url.path, method=request.method, error=type(exc).__name__)
    return JSONResponse({"detail": "internal error"}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR)


def install_error_handlers(app: FastAPI) -> None:
    for cls in DOMAIN_STATUS:
        app.add_exception_handler(cls, _domain_error)
    app.add_exception_handler(StaleDataError, _stale)
    app.add_exception_handler(RequestValidationError, _invalid_request)
    app.add_exception_handler(Exception, _unexpected)
