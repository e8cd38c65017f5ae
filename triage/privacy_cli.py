"""``clearline purge`` and ``clearline customer export|erase``: retention and a customer's data, from a shell.

The same service as the admin page and the REST API (``triage.privacy``); every store comes from the
settings (CLEARLINE_DATABASE_URL, CLEARLINE_RASA_TRACKER_URL, CLEARLINE_EVENTS_URL).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from triage.audit import Actor
    from triage.privacy import ErasureResult, Stores

IDS_HELP = "conversation ids (Rasa sender ids): a Telegram customer's chat id, or each web-chat session's id"
BY_HELP = "the admin who asked (a username); recorded as the audit's actor, else 'cli'"


LINKED_HELP = (
    "also the other conversations the bot linked to the same customer (once it knew who they are), "
    "at most 50 ids in all"
)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code)


def _stores() -> Stores:
    from triage.logs import configure_logging
    from triage.privacy import Stores
    from triage.settings import get_settings

    configure_logging()  # on stderr: stdout is the command's answer (an export, --json)
    return Stores.from_settings(get_settings())


def _actor(stores: Stores, username: str | None) -> Actor:
    """The admin named by --by (an active admin user), else the CLI's system actor."""
    from sqlalchemy import select

    from triage import audit
    from triage.privacy import user_actor
    from triage.storage.db import Role, User

    if username is None:
        return audit.OPERATOR
    with stores.factory() as session:
        user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.is_active or user.role != Role.ADMIN:
        raise _fail(f"--by must name an active admin; {username!r} is not one")
    return user_actor(user.username, user.id)


def _summary(result: ErasureResult) -> str:
    if result.status == "nothing_held":
        return f"{result.customer_id}: nothing held"
    if result.status == "already_erased":
        when = result.previously_erased_at.isoformat() if result.previously_erased_at else "?"
        return f"{result.customer_id}: nothing held; erased before, {when} by {result.previously_erased_by}"
    stores = "; ".join(
        f"{store}: " + ", ".join(f"{n} {table}" for table, n in tables.items() if n)
        for store, tables in result.counts.items()
        if any(tables.values())
    )
    return f"{result.customer_id}: erased ({stores})"


def register(app: typer.Typer, _bench_app: typer.Typer) -> None:
    customer = typer.Typer(help="A customer's data in every store: export and erase.", no_args_is_help=True)
    app.add_typer(customer, name="customer")

    @customer.command("export")
    def export_command(
        ids: Annotated[list[str], typer.Argument(help=IDS_HELP)],
        out: Annotated[
            Path | None, typer.Option(help="write here (a new file, owner-only); else stdout")
        ] = None,
        by: Annotated[str | None, typer.Option(help=BY_HELP)] = None,
        linked: Annotated[bool, typer.Option("--linked", help=LINKED_HELP)] = False,
    ) -> None:
        """One JSON document of everything held about the customer, from every store (audited)."""
        from triage.errors import ValidationError
        from triage.privacy import export, record_export, with_linked

        stores = _stores()
        try:
            actor = _actor(stores, by)
            ids = list(with_linked(stores, ids)) if linked else ids
            if out is not None and out.exists():
                raise _fail(f"{out} exists; name a new file")
            record_export(stores, ids, actor)
            pieces = export(stores, ids)
            if out is None:
                for piece in pieces:
                    typer.echo(piece, nl=False)
                return
            # personal data: readable by its owner only, from the first byte
            with os.fdopen(os.open(out, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
                for piece in pieces:
                    file.write(piece)
            typer.echo(f"exported to {out}", err=True)
        except ValidationError as exc:
            raise _fail(str(exc), 2) from None
        finally:
            stores.close()

    @customer.command("erase")
    def erase_command(
        ids: Annotated[list[str], typer.Argument(help=IDS_HELP)],
        reason: Annotated[str, typer.Option(help="why (e.g. the request's reference); kept in the audit")],
        by: Annotated[str | None, typer.Option(help=BY_HELP)] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print the results as JSON")] = False,
        linked: Annotated[bool, typer.Option("--linked", help=LINKED_HELP)] = False,
    ) -> None:
        """Remove everything held about the customer from every store; the audit says who, when, why."""
        from triage.errors import ValidationError
        from triage.privacy import erase, with_linked
        from triage.settings import get_settings

        stores = _stores()
        try:
            actor = _actor(stores, by)
            ids = list(with_linked(stores, ids)) if linked else ids
            results = erase(stores, ids, reason=reason, actor=actor, settle_s=get_settings().erase_settle_s)
        except ValidationError as exc:
            raise _fail(str(exc), 2) from None
        finally:
            stores.close()
        if as_json:
            typer.echo(json.dumps([r.as_dict() for r in results]))
        else:
            for result in results:
                typer.echo(_summary(result))

    @app.command("purge")
    def purge_command(
        dry_run: Annotated[
            bool, typer.Option("--dry-run", help="count what would go; change nothing")
        ] = False,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
        days: Annotated[
            int | None, typer.Option(min=1, help="retention in days (default CLEARLINE_RETENTION_DAYS)")
        ] = None,
    ) -> None:
        """Purge conversations idle past retention from every store; audit records lose their text."""
        from triage.privacy import purge
        from triage.settings import get_settings

        retention = days or get_settings().retention_days
        if retention is None:
            raise _fail("no retention is configured: set CLEARLINE_RETENTION_DAYS or pass --days", 2)
        stores = _stores()
        try:
            report = purge(stores, retention, dry_run=dry_run)
        finally:
            stores.close()
        figures = report.as_dict()
        if as_json:
            typer.echo(json.dumps(figures))
            return
        verb = "would purge" if dry_run else "purged"
        typer.echo(f"{verb} {report.conversations} conversations idle since {figures['cutoff']}")
        for store, tables in report.removed.items():
            typer.echo(f"  {store}: " + ", ".join(f"{n} {table}" for table, n in tables.items()))
        if report.skipped:
            typer.echo("  kept: " + ", ".join(f"{n} {why}" for why, n in sorted(report.skipped.items())))
        typer.echo(
            f"  audit records {'to strip' if dry_run else 'stripped'} of text: {report.audit_text_removed}"
        )
