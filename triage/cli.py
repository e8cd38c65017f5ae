"""``clearline worker``, ``clearline db upgrade`` and ``clearline bench pipeline``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer


def register(app: typer.Typer, bench_app: typer.Typer) -> None:
    db_app = typer.Typer(help="Clearline's database (Alembic migrations).", no_args_is_help=True)
    app.add_typer(db_app, name="db")

    @db_app.command("upgrade")
    def db_upgrade(
        revision: Annotated[str, typer.Argument(help="target revision")] = "head",
        url: Annotated[str | None, typer.Option(help="database URL (default CLEARLINE_DATABASE_URL)")] = None,
    ) -> None:
        """Apply the migrations up to REVISION (SQLite or PostgreSQL)."""
        from triage.settings import RUNTIME_DIR, get_settings
        from triage.storage.migrate import upgrade

        target = url or get_settings().database_url
        if target.startswith("sqlite:///") and url is None:
            RUNTIME_DIR.mkdir(parents=True, exist_ok=True)
        upgrade(target, revision)
        typer.echo(f"database at revision {revision}")

    @app.command("worker")
    def worker(
        port: Annotated[
            int | None, typer.Option(help="health/metrics port (default CLEARLINE_WORKER_PORT)")
        ] = None,
    ) -> None:
        """Score every customer utterance, escalate, route and relay (until SIGTERM/SIGINT)."""
        from triage.worker.runner import main

        main(port=port)

    @bench_app.command("pipeline")
    def bench_pipeline(
        rate: Annotated[float, typer.Option(help="customer messages offered per second")] = 50.0,
        duration: Annotated[float, typer.Option(help="seconds of steady load")] = 30.0,
        conversations: Annotated[int, typer.Option(help="concurrent conversations")] = 200,
        conversation_length: Annotated[int, typer.Option(help="customer messages per conversation")] = 8,
        stressed: Annotated[float, typer.Option(help="share of conversations that turn stressed")] = 0.1,
        as_json: Annotated[bool, typer.Option("--json", help="print one JSON object")] = False,
        worker_log: Annotated[Path | None, typer.Option(help="keep the worker's JSON log here")] = None,
        keep_db: Annotated[
            Path | None,
            typer.Option(
                help="keep Clearline's SQLite database here (a new file), e.g. for `clearline replay`"
            ),
        ] = None,
        broker: Annotated[
            str, typer.Option(help="sql (Rasa's SQL broker table, one worker) or rabbitmq")
        ] = "sql",
        workers: Annotated[
            int, typer.Option(help="worker processes (rabbitmq; more than 1 needs PostgreSQL)")
        ] = 1,
        kill_worker_every: Annotated[
            float | None, typer.Option(help="SIGKILL a random worker every S seconds and start a new one")
        ] = None,
        database_url: Annotated[
            str | None, typer.Option(help="Clearline's database (default a temporary SQLite file)")
        ] = None,
        rabbitmq_url: Annotated[
            str | None, typer.Option(help="an empty RabbitMQ virtual host (default: a temporary one)")
        ] = None,
        partitions: Annotated[int, typer.Option(help="RabbitMQ partition queues")] = 8,
    ) -> None:
        """Offer Rasa-shaped events to real workers (real model) and measure throughput and latency."""
        from triage.benchmarks.pipeline import BenchConfig, run_pipeline_bench
        from triage.benchmarks.scaled import ScaleConfig, run_scaled_bench

        config = BenchConfig(
            rate=rate,
            duration=duration,
            conversations=conversations,
            conversation_length=conversation_length,
            stressed_conversations=stressed,
            keep_worker_log=worker_log,
            keep_db=keep_db,
        )
        if broker == "rabbitmq":
            figures = run_scaled_bench(
                ScaleConfig(config, workers, kill_worker_every, database_url, rabbitmq_url, partitions)
            )
        elif broker == "sql" and workers == 1 and kill_worker_every is None and database_url is None:
            figures = run_pipeline_bench(config)
        else:
            figures = {
                "error": "--broker sql runs one worker on temporary SQLite files; --workers, "
                "--kill-worker-every and --database-url need --broker rabbitmq"
            }
        if as_json:
            typer.echo(json.dumps(figures))
        else:
            for key, value in figures.items():
                typer.echo(f"{key}: {value}")
        if figures.get("error"):
            raise typer.Exit(1)
