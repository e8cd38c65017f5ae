"""Benchmarks of the api (their own package: not imported by the product). ``clearline bench api``."""

from __future__ import annotations

import json
from typing import Annotated

import typer


def register(_app: typer.Typer, bench_app: typer.Typer) -> None:
    @bench_app.command("chat")
    def bench_chat(
        concurrency: Annotated[int, typer.Option(min=1, help="customers talking at once")] = 16,
        duration: Annotated[float, typer.Option(min=1, help="measured seconds (after the warm-up)")] = 30.0,
        warmup: Annotated[float, typer.Option(min=0, help="seconds of load before measuring")] = 8.0,
        angry_share: Annotated[float, typer.Option(min=0, max=1, help="share of angry conversations")] = 0.1,
        baseline: Annotated[
            bool, typer.Option(help="also measure Rasa and the action server alone (no api, no worker)")
        ] = True,
        stock: Annotated[
            bool, typer.Option(help="also measure Rasa without Clearline's patches to it")
        ] = False,
        patches: Annotated[
            bool, typer.Option(help="Clearline's patches to Rasa in the main measurement")
        ] = True,
        rasa_workers: Annotated[
            int, typer.Option(min=1, help="Rasa processes behind its one port (> 1 needs --lock-store-url)")
        ] = 1,
        lock_store_url: Annotated[
            str | None, typer.Option(help="Rasa's Redis lock store, redis://host:port/db")
        ] = None,
        actions_workers: Annotated[
            int, typer.Option(min=1, max=64, help="action server processes behind its one port")
        ] = 1,
        rasa_url: Annotated[
            str | None, typer.Option(help="drive a running stack's Rasa instead of starting one")
        ] = None,
        database_url: Annotated[
            str | None, typer.Option(help="with --rasa-url: its Clearline database, for escalation timing")
        ] = None,
        seed: Annotated[int, typer.Option(help="random seed of the conversations")] = 7,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
    ) -> None:
        """Customers on Rasa's REST channel against the real stack, closed loop: throughput, reply and
        escalation latency, CPU per message of each process, with baselines measured in the same run."""
        from api.benchmarks.chat import ChatBenchConfig, run_chat_bench

        config = ChatBenchConfig(
            concurrency=concurrency,
            duration=duration,
            warmup=warmup,
            angry_share=angry_share,
            seed=seed,
            baseline=baseline,
            stock=stock,
            patches=patches,
            rasa_workers=rasa_workers,
            lock_store_url=lock_store_url,
            actions_workers=actions_workers,
            rasa_url=rasa_url,
            database_url=database_url,
        )
        figures = run_chat_bench(config, log=lambda line: typer.echo(line, err=True))
        typer.echo(json.dumps(figures) if as_json else json.dumps(figures, indent=2))

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
