"""Benchmarks of the api (their own package: not imported by the product). ``clearline bench api``."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def register(_app: typer.Typer, bench_app: typer.Typer) -> None:
    @bench_app.command("api")
    def bench_api(
        conversations: Annotated[
            int, typer.Option(min=10, help="conversations to seed (~10 messages each)")
        ] = 100_000,
        database_url: Annotated[
            str | None, typer.Option(help="an EMPTY database to seed (default: a temporary SQLite file)")
        ] = None,
        requests: Annotated[int, typer.Option(min=5, help="timed requests per view")] = 40,
        seed: Annotated[int, typer.Option(help="random seed of the data")] = 7,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    ) -> None:
        """Seed a database and time the supervisor's views through the real HTTP API (p95 per view;
        figures over the dashboard's default 24 hours and over 7 days)."""
        from api.benchmarks.views import ViewsBenchConfig, run_views_bench

        figures = run_views_bench(
            ViewsBenchConfig(
                conversations=conversations, database_url=database_url, requests=requests, seed=seed
            )
        )
        if as_json:
            typer.echo(json.dumps(figures))
        else:
            for key, value in figures.items():
                typer.echo(f"{key}: {value}")
