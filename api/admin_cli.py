"""``clearline users ...``: add users and seed the demo team."""

from __future__ import annotations

import os
from typing import Annotated

import typer

PASSWORD_ENV = "CLEARLINE_NEW_USER_PASSWORD"  # noqa: S105 - the name of a variable, not a secret


def register(app: typer.Typer, _bench_app: typer.Typer) -> None:
    users = typer.Typer(help="Users of the console and dashboard.", no_args_is_help=True)
    app.add_typer(users, name="users")

    @users.command("add")
    def add(
        username: str,
        role: Annotated[str, typer.Option(help="agent, supervisor or admin")] = "agent",
        skills: Annotated[
            str, typer.Option(help="comma-separated queues and spoken languages, e.g. cards,lang-es")
        ] = "",
        capacity: Annotated[int, typer.Option(min=0, max=50, help="conversations at once")] = 3,
        display_name: Annotated[str | None, typer.Option(help="shown in the console")] = None,
    ) -> None:
        """Add a user; the password comes from $CLEARLINE_NEW_USER_PASSWORD or a prompt."""
        from api.users import NewUser, ReservedUsername, UserExists, WeakPassword, create_user
        from triage.settings import get_settings
        from triage.storage.db import Role, make_engine, make_session_factory, session_scope

        try:
            parsed_role = Role(role)
        except ValueError:
            raise typer.BadParameter(f"role must be one of {', '.join(r.value for r in Role)}") from None
        password = os.environ.get(PASSWORD_ENV) or typer.prompt(
            "Password", hide_input=True, confirmation_prompt=True
        )
        queue_names = tuple(s.strip() for s in skills.split(",") if s.strip())
        factory = make_session_factory(make_engine(get_settings().database_url))
        try:
            with session_scope(factory) as session:
                create_user(
                    session, NewUser(username, password, parsed_role, queue_names, capacity, display_name)
                )
        except (ReservedUsername, UserExists, WeakPassword) as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"added {parsed_role.value} {username}")

    @users.command("set-name")
    def set_name(username: str, display_name: str) -> None:
        """Set the display name customers see ("<name> from Northwind Pay joined"); audited."""
        from sqlalchemy import select

        from triage.audit import OPERATOR
        from triage.errors import ValidationError
        from triage.services.console import set_display_name
        from triage.settings import get_settings
        from triage.storage.db import User, make_engine, make_session_factory, session_scope

        factory = make_session_factory(make_engine(get_settings().database_url))
        try:
            with session_scope(factory) as session:
                user_id = session.scalar(select(User.id).where(User.username == username))
                if user_id is None:
                    raise LookupError(f"user {username!r} not found")
                set_display_name(session, user_id, display_name, by=OPERATOR)
        except (LookupError, ValidationError) as exc:
            typer.echo(f"error: {exc.args[0] if exc.args else exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"{username} is shown as {display_name.strip()!r}")

    @users.command("seed-demo")
    def seed_demo() -> None:
        """Create the demo team (agents alice and bob, supervisor sam, admin); demo mode only."""
        from api.users import DEMO_PASSWORD, seed_demo_users
        from triage.settings import get_settings
        from triage.storage.db import make_engine, make_session_factory, session_scope

        settings = get_settings()
        if not settings.demo:
            typer.echo("error: demo users are only created when CLEARLINE_DEMO is true", err=True)
            raise typer.Exit(1)
        factory = make_session_factory(make_engine(settings.database_url))
        with session_scope(factory) as session:
            created = seed_demo_users(session)
        typer.echo(f"created: {', '.join(created) or 'none (all exist)'}; password: {DEMO_PASSWORD}")
