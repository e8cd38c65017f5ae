"""``clearline broker setup``: the RabbitMQ exchange and partition queues Rasa publishes into."""

from __future__ import annotations

from typing import Annotated

import typer


def register(app: typer.Typer, _bench_app: typer.Typer) -> None:
    broker = typer.Typer(help="RabbitMQ, Rasa's event broker for several workers.", no_args_is_help=True)
    app.add_typer(broker, name="broker")

    @broker.command("setup")
    def setup(
        url: Annotated[
            str | None, typer.Option(help="amqp:// URL with the vhost (default CLEARLINE_RABBITMQ_URL)")
        ] = None,
        partitions: Annotated[
            int | None,
            typer.Option(min=1, help="partition queues (default CLEARLINE_RABBITMQ_PARTITIONS)"),
        ] = None,
    ) -> None:
        """Declare the consistent-hash exchange and the partition queues, and bind them (idempotent)."""
        from triage.rabbitmq_setup import TopologyError, declare_topology, without_credentials
        from triage.settings import get_settings

        settings = get_settings()
        target = url or settings.rabbitmq_url
        try:
            declared = declare_topology(target, partitions or settings.rabbitmq_partitions)
        except TopologyError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        typer.echo(
            f"RabbitMQ at {without_credentials(target)}: exchange {declared.exchange} bound to "
            f"{len(declared.queues)} partition queues ({declared.queues[0]} .. {declared.queues[-1]})"
        )
