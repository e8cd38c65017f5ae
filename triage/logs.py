"""Structured logging shared by Clearline's processes (worker and api)."""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr; events carry ``conversation_id`` where there is one."""
    logging.basicConfig(level=level, stream=sys.stderr, format="%(message)s")
    # httpx logs every request URL at INFO, and Rasa's token travels in the query string
    logging.getLogger("httpx").setLevel(logging.WARNING)
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        wrapper_class=structlog.make_filtering_bound_logger(level),
    )
