"""A throw-away schema on the local PostgreSQL server (127.0.0.1:5432, database test) for one test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def temporary_schema(prefix: str) -> Iterator[str]:
    """Yield a database URL whose search path is a new, empty schema; the schema is dropped after."""
    schema = f"{prefix}_{uuid.uuid4().hex[:12]}"
    admin = create_engine(SERVER)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            yield f"{SERVER}?options=-csearch_path%3D{schema}"
        finally:  # also when the migration or the test using it fails: no schema is left behind
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    finally:
        admin.dispose()
