"""Rasa's Pika event broker, publishing into Clearline's partitioned RabbitMQ topology.

endpoints.yml names this class (``type: clearline_broker.ClearlineEventBroker``; bot/serve.py adds it from
bot/endpoints.rabbitmq.yml when CLEARLINE_EVENT_BROKER=rabbitmq). Compared with the stock broker:
- every event goes to the consistent-hash exchange of triage/rabbitmq_topology.py with a ``sender_id``
  header, which the exchange hashes: one conversation always lands in the same partition queue;
- every message's ``message_id`` is the event's stable key (sha256 of its canonical JSON), so the worker
  recognises a re-published or redelivered event;
- it declares nothing: ``clearline broker setup`` declares the topology once, and ``connect`` checks
  (passive declares) that the exchange and the partition queues are there, raising ``TopologyMissing``
  otherwise. Rasa does not swallow that error (it swallows only an ImportError or AttributeError from a
  custom broker), so the server does not start; bot/serve.py runs the same check before starting Rasa.

Kept from the stock broker: persistent messages, publisher confirms, and while RabbitMQ is down after the
start, unpublished events buffered in memory and re-sent on reconnect (lost if Rasa stops meanwhile; a
re-send can duplicate or reorder events, which the consumer recognises by key).
"""

from __future__ import annotations

from asyncio import AbstractEventLoop
from typing import Any
from urllib.parse import quote, unquote, urlsplit, urlunsplit

import aio_pika
import aiormq
import rasa.shared.core.events  # noqa: F401 - the stock _publish reads it as an attribute, never imports it
from rasa.core.brokers.pika import PikaEventBroker
from rasa.shared.exceptions import RasaException
from rasa.utils.endpoints import EndpointConfig

from clearline_files import load

topology = load("triage/rabbitmq_topology.py")

SETUP_HINT = "run `clearline broker setup` (with the same --partitions) against this RabbitMQ first"


def address(host: str, port: int = 5672) -> str:
    """The server's address (host or amqp:// URL) without its credentials, for messages."""
    if not host.startswith("amqp"):
        return f"{host}:{port}"
    parts = urlsplit(host)
    return f"{parts.scheme}://{parts.hostname}:{parts.port or port}{parts.path}"


class TopologyMissing(RasaException):
    """The exchange or a partition queue is not on the server: nothing would receive Rasa's events."""


class ClearlineEventBroker(PikaEventBroker):
    """Publishes each event to Clearline's consistent-hash exchange, keyed and headed by conversation."""

    def __init__(
        self,
        host: str,
        username: str | None = None,
        password: str | None = None,
        port: int | str | None = None,
        partitions: int | str = topology.DEFAULT_PARTITIONS,
        event_loop: AbstractEventLoop | None = None,
        **kwargs: Any,
    ) -> None:
        """``host`` is an amqp:// URL (or a host name); the URL's user, password and port are used
        unless given. ``partitions`` is how many partition queues ``clearline broker setup`` declared."""
        parts = urlsplit(host) if host.startswith("amqp") else None
        if parts is not None:
            # The stock broker logs its host: keep the credentials out of it (_configure_url adds them).
            host = urlunsplit((parts.scheme, parts.netloc.rpartition("@")[2], parts.path, parts.query, ""))
        self.partitions = int(partitions)
        kwargs.pop("queues", None)
        kwargs.pop("exchange_name", None)
        super().__init__(
            host,
            username=username or (unquote(parts.username) if parts and parts.username else "guest"),
            password=password or (unquote(parts.password) if parts and parts.password else "guest"),
            port=port or (parts.port if parts and parts.port else 5672),
            queues=topology.queue_names(self.partitions),
            exchange_name=topology.EXCHANGE,
            event_loop=event_loop,
            **kwargs,
        )

    def _configure_url(self) -> str | None:
        """The URL with the credentials quoted (the stock one pastes them in as they are, which breaks
        on a password with "@" or "/") and the port always given (the stock one appends 5672 to a URL
        with another port)."""
        if not self.host.startswith("amqp"):
            return super()._configure_url()
        parts = urlsplit(self.host)
        credentials = f"{quote(self.username, safe='')}:{quote(self.password, safe='')}"
        server = parts.netloc if parts.port else f"{parts.netloc}:{self.port}"
        netloc = f"{credentials}@{server}"
        return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))

    @classmethod
    async def from_endpoint_config(
        cls,
        broker_config: EndpointConfig | None,
        event_loop: AbstractEventLoop | None = None,
    ) -> ClearlineEventBroker | None:
        """The broker, connected and with its topology checked (``TopologyMissing`` otherwise)."""
        if broker_config is None:
            return None
        broker = cls(broker_config.url, **broker_config.kwargs, event_loop=event_loop)
        await broker.connect()
        return broker

    async def connect(self) -> None:
        """Connects (retrying as configured), then checks the topology; raises when either fails."""
        try:
            await super().connect()
        except TopologyMissing:
            await self.close()
            raise

    async def _set_up_exchange(self, channel: aio_pika.RobustChannel) -> aio_pika.RobustExchange:
        """The existing exchange, after checking it and the partition queues in a throwaway channel
        (a failed passive declare closes its channel)."""
        assert self._connection is not None  # noqa: S101 - connect() opened it before calling this
        missing = await self._missing_entities()
        if missing:
            raise TopologyMissing(
                f"RabbitMQ at {self.host_for_messages()} lacks Clearline's {', '.join(missing)}: {SETUP_HINT}"
            )
        return await channel.declare_exchange(topology.EXCHANGE, passive=True)

    async def _missing_entities(self) -> list[str]:
        assert self._connection is not None  # noqa: S101
        missing = []
        checks = [("exchange", topology.EXCHANGE)] + [("queue", name) for name in self.queues]
        for kind, name in checks:
            channel = await self._connection.channel()
            try:
                if kind == "exchange":
                    await channel.declare_exchange(name, passive=True)
                else:
                    await channel.declare_queue(name, passive=True)
            except aiormq.exceptions.ChannelNotFoundEntity:
                missing.append(f"{kind} {name!r}")
            finally:
                if not channel.is_closed:
                    await channel.close()
        return missing

    def host_for_messages(self) -> str:
        return address(self.host, self.port)

    def _message(self, event: dict[str, Any], headers: dict[str, str] | None) -> aio_pika.Message:
        stock = super()._message(event, headers)
        return aio_pika.Message(
            stock.body,
            headers={**(headers or {}), topology.HASH_HEADER: str(event.get("sender_id") or "")},
            message_id=topology.event_key(event),
            app_id=stock.app_id,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )


class BrokerNotReady(RasaException):
    """RabbitMQ is unreachable or lacks Clearline's topology: Rasa must not start."""


async def check_broker(broker_config: EndpointConfig) -> None:
    """Connects as Rasa will (same class, same configuration), checks the topology, and disconnects.

    Raises:
        BrokerNotReady: the connection failed after the configured attempts, or the topology is missing.
    """
    try:
        broker = await ClearlineEventBroker.from_endpoint_config(broker_config)
    except TopologyMissing as exc:
        raise BrokerNotReady(str(exc)) from exc
    except Exception as exc:  # whatever aio-pika raises while RabbitMQ is down or refuses the login
        where = address(str(broker_config.url))
        raise BrokerNotReady(f"cannot connect to RabbitMQ at {where}: {exc!r}") from exc
    if broker is not None:
        await broker.close()
