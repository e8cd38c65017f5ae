"""``clearline run``: the embedded stack in one command."""

from __future__ import annotations

import typer


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    @app.command("run")
    def run(
        health_timeout: float = typer.Option(300.0, help="Seconds to wait for every process to be healthy."),
    ) -> None:
        """Prepare (NLU data, cached Rasa training, migrations, demo data) and start all four processes."""
        from api.stack import StackError, run_stack

        try:
            code = run_stack(health_timeout_s=health_timeout)
        except StackError as exc:
            typer.secho(f"clearline run: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from exc
        raise typer.Exit(code)
