"""A test's own RabbitMQ topology on the local server (127.0.0.1:5672, guest/guest): Clearline's exchange
and partition queues in a vhost of the test's own, so that tests running at the same time never share a
queue; and a publisher that publishes as Clearline's Rasa broker does."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pika

from tests.rabbitmq import close_connections, temporary_vhost
from triage import rabbitmq_topology as topology
from triage.rabbitmq_setup import declare_topology

URL = "amqp://guest:guest@127.0.0.1:5672/%2F"


@dataclass(frozen=True)
class QueueTopology:
    url: str  # the test's own vhost
    exchange: str
    queue_prefix: str
    partitions: int


@contextmanager
def declared_topology(partitions: int = 3) -> Iterator[QueueTopology]:
    """Clearline's topology, declared by ``clearline broker setup``'s function in a vhost of the test's own
    (deleted after with everything in it)."""
    with temporary_vhost("worker") as url:
        declared = declare_topology(url, partitions)
        yield QueueTopology(url, declared.exchange, topology.QUEUE_PREFIX, partitions)


class Publisher:
    """Publishes Rasa events as ``bot/clearline_broker.py`` does: persistent, ``message_id`` = the event's
    key, a ``sender_id`` header (hashed by the exchange), with publisher confirms."""

    def __init__(self, made: QueueTopology) -> None:
        self.made = made
        self.connection = pika.BlockingConnection(pika.URLParameters(made.url))
        self.channel = self.connection.channel()
        self.channel.confirm_delivery()

    def event(self, sender_id: str, event: dict[str, Any], *, stock: bool = False) -> str:
        """Publish one event; ``stock``: as Rasa's own PikaEventBroker would (no id, no header). Returns
        the key the worker will know it by."""
        body = {**event, "sender_id": sender_id}
        properties = pika.BasicProperties(
            delivery_mode=2,
            message_id=None if stock else topology.event_key(body),
            headers={topology.HASH_HEADER: sender_id if not stock else ""},
        )
        self.raw(json.dumps(body).encode(), properties)
        return topology.event_key(body)

    def raw(self, body: bytes, properties: pika.BasicProperties) -> None:
        self.channel.basic_publish(self.made.exchange, "", body, properties, mandatory=True)

    def close(self) -> None:
        self.connection.close()


def close_from_server(connection: pika.BlockingConnection) -> None:
    """Have the server close this client connection (``rabbitmqctl close_connection``), as when a node
    restarts or an operator kicks it: found by the client's local port."""
    port = connection._impl._transport._sock.getsockname()[1]  # noqa: SLF001 - the test needs the socket
    assert close_connections([port], "closed by the test") == 1
