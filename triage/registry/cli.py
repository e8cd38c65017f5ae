"""``clearline models ...`` and ``clearline policies ...``: the registry from a shell. Adding, promoting
and rolling back name the admin who does it (``--by``); the exit code is 2 on bad input."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from sqlalchemy.orm import Session

from triage.registry.rules import Kind

By = Annotated[str, typer.Option("--by", help="the admin doing it (an active admin user)")]
ReasonOption = Annotated[str, typer.Option(help="why (kept in the registry and the audit trail)")]
DatabaseUrl = Annotated[str | None, typer.Option(help="database URL (default CLEARLINE_DATABASE_URL)")]
AsJson = Annotated[bool, typer.Option("--json", help="print JSON")]

MODEL_FIELDS = (
    "version",
    "active",
    "shadow",
    "weights_digest",
    "path",
    "training_data",
    "metrics",
    "calibration",
)
POLICY_FIELDS = ("version", "active", "digest")
COMMON_FIELDS = ("added_by", "reason", "created_at", "activated_at", "previous_version")


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(2)


@contextmanager
def _session(database_url: str | None) -> Iterator[Session]:
    """One unit of work; a domain error becomes exit code 2 with its message, and nothing is kept."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    from triage.errors import TriageError
    from triage.settings import get_settings
    from triage.storage.db import make_engine, make_session_factory, session_scope

    engine = make_engine(database_url or get_settings().database_url)
    try:
        with session_scope(make_session_factory(engine)) as session:
            yield session
    except TriageError as exc:
        raise _fail(str(exc)) from exc
    except IntegrityError as exc:
        raise _fail("changed at the same time by someone else; run the command again") from exc
    except OperationalError as exc:
        raise _fail(
            f"cannot use the database: {str(exc.orig).splitlines()[0]} (run `clearline db upgrade`?)"
        ) from exc
    finally:
        engine.dispose()


def _as_dict(row: Any, fields: tuple[str, ...]) -> dict[str, Any]:
    out = {name: getattr(row, name) for name in fields + COMMON_FIELDS}
    return {k: v.isoformat() if hasattr(v, "isoformat") else v for k, v in out.items()}


def _print_rows(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps(rows))
        return
    for row in rows:
        mark = "*" if row["active"] else " "
        typer.echo(
            f"{mark} {row['version']}  added {row['created_at'][:19]} by {row['added_by']}: {row['reason']}"
        )


def _switch_commands(app: typer.Typer, kind: Kind) -> None:
    @app.command("promote")
    def promote(version: str, reason: ReasonOption, by: By, database_url: DatabaseUrl = None) -> None:
        """Make VERSION the active one (the worker switches at its next batch, the api at its next
        request)."""
        from triage.registry import store

        with _session(database_url) as session:
            switch = store.promote(
                session, kind, version, actor=store.admin_actor(session, by), reason=reason
            )
        typer.echo(f"{kind} {switch.after} is active (was {switch.before})")

    @app.command("rollback")
    def rollback(reason: ReasonOption, by: By, database_url: DatabaseUrl = None) -> None:
        """Go back to the version the active one replaced."""
        from triage.registry import store

        with _session(database_url) as session:
            switch = store.rollback(session, kind, actor=store.admin_actor(session, by), reason=reason)
        typer.echo(f"{kind} {switch.after} is active again (was {switch.before})")


def _list_command(app: typer.Typer, kind: Kind, fields: tuple[str, ...]) -> None:
    @app.command("list")
    def list_versions(database_url: DatabaseUrl = None, as_json: AsJson = False) -> None:
        """Every registered version, oldest first; * marks the active one."""
        from triage.registry import store

        with _session(database_url) as session:
            rows = [_as_dict(r, fields) for r in store.list_versions(session, kind)]
        _print_rows(rows, as_json)


def _added(kind: str, row: Any, created: bool) -> str:
    return f"{'added' if created else 'already registered, unchanged:'} {kind} {row.version}"


def register(app: typer.Typer, _bench_app: typer.Typer) -> None:
    models = typer.Typer(help="Emotion model versions (the registry).", no_args_is_help=True)
    policies = typer.Typer(help="Triage policy versions (the registry).", no_args_is_help=True)
    app.add_typer(models, name="models")
    app.add_typer(policies, name="policies")

    @models.command("add")
    def add_model(
        path: Annotated[Path, typer.Argument(help="the model checkpoint directory")],
        reason: ReasonOption,
        by: By,
        training_data: Annotated[str | None, typer.Option(help="what it was trained on")] = None,
        database_url: DatabaseUrl = None,
    ) -> None:
        """Register a model directory (config.json and weights); not active until promoted."""
        from triage.registry import store
        from triage.registry.artifacts import model_candidate

        with _session(database_url) as session:
            candidate = model_candidate(path, training_data)
            row, created = store.add_model(
                session, candidate, actor=store.admin_actor(session, by), reason=reason
            )
        typer.echo(_added("model", row, created))

    @policies.command("add")
    def add_policy(
        path: Annotated[Path, typer.Argument(help="the policy YAML file")],
        reason: ReasonOption,
        by: By,
        database_url: DatabaseUrl = None,
    ) -> None:
        """Register a policy file that parses and validates; not active until promoted."""
        from triage.registry import store
        from triage.registry.rules import policy_candidate

        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _fail(f"cannot read {path}: {exc}") from exc
        with _session(database_url) as session:
            candidate = policy_candidate(text, str(path))
            row, created = store.add_policy(
                session, candidate, actor=store.admin_actor(session, by), reason=reason
            )
        typer.echo(_added("policy", row, created))

    @policies.command("show")
    def show_policy(version: str, database_url: DatabaseUrl = None) -> None:
        """Print a registered policy's YAML."""
        from triage.registry import store

        with _session(database_url) as session:
            row = store.get_version(session, "policy", version)
            text = getattr(row, "yaml", "")
        typer.echo(text, nl=False)

    @models.command("shadow")
    def shadow(
        reason: ReasonOption,
        by: By,
        version: Annotated[str | None, typer.Argument(help="the registered model to run in shadow")] = None,
        off: Annotated[bool, typer.Option("--off", help="stop the shadow model")] = False,
        database_url: DatabaseUrl = None,
    ) -> None:
        """Let a registered, inactive model score the live customer messages beside the active one without
        acting (the worker's leader starts within seconds; `clearline shadow` lists the disagreements),
        or stop it with --off."""
        from triage.registry import store

        if (version is None) == (not off):
            raise _fail("name a VERSION to shadow, or --off to stop the shadow, not both")
        with _session(database_url) as session:
            previous = store.set_shadow(session, version, actor=store.admin_actor(session, by), reason=reason)
        typer.echo(f"shadow model: {version or 'none'} (was {previous or 'none'})")

    _list_command(models, "model", MODEL_FIELDS)
    _list_command(policies, "policy", POLICY_FIELDS)
    _switch_commands(models, "model")
    _switch_commands(policies, "policy")
