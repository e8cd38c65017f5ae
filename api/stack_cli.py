"""``clearline run``: the embedded stack in one command."""

from __future__ import annotations

import typer


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    @app.command("run")
    def run(
        health_timeout: float = typer.Option(300.0, help="Seconds to wait for every process to be healthy."),
        exit_when_ready: bool = typer.Option(
            False, help="Stop again once every process is healthy (a smoke test of the installation)."
        ),
    ) -> None:
        """Prepare (datasets, NLU data, Rasa model, migrations, demo data) and start the four processes."""
        from api.stack import StackError, run_stack

        try:
            code = run_stack(health_timeout_s=health_timeout, exit_when_ready=exit_when_ready)
        except StackError as exc:
            typer.secho(f"clearline run: {exc}", fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from exc
        raise typer.Exit(code)
