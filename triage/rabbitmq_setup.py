"""``clearline broker setup``: declares Clearline's RabbitMQ topology (triage/rabbitmq_topology.py).

Declaring is idempotent: an exchange or queue that exists with the same type and arguments is left as it
is, and binding a queue again changes nothing. What the server refuses is turned into a ``TopologyError``
whose message says what to do instead of a client traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

import pika
import pika.exceptions
from pika.adapters.blocking_connection import BlockingChannel

from triage import rabbitmq_topology as topology

# AMQP reply codes the server closes a channel or connection with (AMQP 0-9-1 spec)
NOT_FOUND = 404
PRECONDITION_FAILED = 406
COMMAND_INVALID = 503


class TopologyError(RuntimeError):
    """The topology could not be declared; the message says why and what to do."""


@dataclass(frozen=True)
class DeclaredTopology:
    exchange: str
    queues: list[str]


def without_credentials(url: str) -> str:
    """The URL with its user and password left out, for messages."""
    parts = urlsplit(url)
    host = parts.hostname or "localhost"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def declare_topology(
    url: str, partitions: int, *, exchange_type: str = topology.EXCHANGE_TYPE
) -> DeclaredTopology:
    """Declares the exchange and ``partitions`` quorum queues and binds each queue with an equal weight.

    Args:
        url: the server, e.g. ``amqp://guest:guest@127.0.0.1:5672/%2F`` (vhost ``/``).
        partitions: how many partition queues; refused when the server already has more.
        exchange_type: the exchange's type; only tests change it (to provoke the server's answer to a type
            it does not know, which is what it says when the consistent-hash plugin is not enabled).

    Raises:
        TopologyError: the server is unreachable, lacks the plugin, or holds an entity of the same name
            with other arguments, or more partition queues than asked for.
    """
    queues = topology.queue_names(partitions)
    where = without_credentials(url)
    try:
        connection = pika.BlockingConnection(pika.URLParameters(url))
    except pika.exceptions.AMQPError as exc:
        raise TopologyError(f"cannot connect to RabbitMQ at {where}: {exc!r}") from exc
    try:
        _refuse_fewer_partitions(connection, partitions, where)
        channel = connection.channel()
        _declare(channel, queues, exchange_type, where)
    finally:
        if connection.is_open:
            connection.close()
    return DeclaredTopology(exchange=topology.EXCHANGE, queues=queues)


def _refuse_fewer_partitions(connection: pika.BlockingConnection, partitions: int, where: str) -> None:
    """A queue past the last partition would stay bound and keep receiving a share of the conversations."""
    next_queue = f"{topology.QUEUE_PREFIX}{partitions}"
    channel = connection.channel()
    try:
        channel.queue_declare(next_queue, passive=True)
    except pika.exceptions.ChannelClosedByBroker as exc:
        if exc.reply_code == NOT_FOUND:
            return
        raise TopologyError(f"RabbitMQ at {where} refused to look up {next_queue}: {exc.reply_text}") from exc
    channel.close()
    raise TopologyError(
        f"RabbitMQ at {where} already has {next_queue}, more partitions than --partitions {partitions}: "
        "run setup with the number it was set up with (fewer partitions means draining and deleting the "
        "extra queues first, with Rasa stopped, since they stay bound to the exchange)"
    )


def _declare(channel: BlockingChannel, queues: list[str], exchange_type: str, where: str) -> None:
    try:
        channel.exchange_declare(
            topology.EXCHANGE,
            exchange_type=exchange_type,
            durable=True,
            arguments=topology.EXCHANGE_ARGUMENTS,
        )
    except pika.exceptions.ConnectionClosedByBroker as exc:
        if exc.reply_code == COMMAND_INVALID and "exchange type" in exc.reply_text:
            raise TopologyError(
                f"RabbitMQ at {where} does not know the exchange type {exchange_type!r} ({exc.reply_text}): "
                f"enable its plugin with `rabbitmq-plugins enable {topology.PLUGIN}` and run setup again"
            ) from exc
        raise TopologyError(f"RabbitMQ at {where} closed the connection: {exc.reply_text}") from exc
    except pika.exceptions.ChannelClosedByBroker as exc:
        raise _refused("exchange", topology.EXCHANGE, where, exc) from exc
    for queue in queues:
        try:
            channel.queue_declare(queue, durable=True, arguments=topology.QUEUE_ARGUMENTS)
        except pika.exceptions.ChannelClosedByBroker as exc:
            raise _refused("queue", queue, where, exc) from exc
        channel.queue_bind(queue, topology.EXCHANGE, routing_key=topology.BINDING_WEIGHT)


def _refused(kind: str, name: str, where: str, exc: pika.exceptions.ChannelClosedByBroker) -> TopologyError:
    if exc.reply_code == PRECONDITION_FAILED:
        return TopologyError(
            f"RabbitMQ at {where} already has a {kind} {name} with other settings ({exc.reply_text}); "
            f"Clearline's must be {_expected(kind)}. Delete it (`rabbitmqctl delete_{kind} {name}` loses "
            "what it holds) or point Clearline at another vhost, then run setup again"
        )
    return TopologyError(f"RabbitMQ at {where} refused the {kind} {name}: {exc.reply_text}")


def _expected(kind: str) -> str:
    if kind == "exchange":
        return f"durable, type {topology.EXCHANGE_TYPE}, arguments {topology.EXCHANGE_ARGUMENTS}"
    return f"durable, arguments {topology.QUEUE_ARGUMENTS}"
