"""Rasa's events from RabbitMQ: the worker's ``EventSource`` over the partition queues that
``clearline broker setup`` declares (``triage.rabbitmq_topology``).

With partition leases (``triage.worker.partitions``, on PostgreSQL) the worker consumes only the
partition queues it holds a lease on, so that several workers split the partitions; without them (SQLite,
one worker) it consumes every queue. The queues have a single active consumer as a safety net: were two
workers to consume one queue for a moment, only one of them would get deliveries, and RabbitMQ hands a
partition to the other when the first one's connection goes.

A batch is acknowledged only after its rows and its events' receipts committed (``settle``); a rolled-back
batch is given back to the queues (``release``). Anything the connection held unacknowledged when it was
lost is redelivered by RabbitMQ, to this worker or another, and skipped there by its receipt
(``triage.worker.receipts``): at-least-once delivery, each event applied once.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pika
import pika.exceptions
import structlog
from pika.adapters.blocking_connection import BlockingChannel
from pika.spec import Basic, BasicProperties
from prometheus_client import CollectorRegistry, Gauge
from sqlalchemy.orm import Session

from triage import rabbitmq_topology as topology
from triage.worker.broker import BrokerEvent, parse_event_data
from triage.worker.partitions import PartitionLeases
from triage.worker.receipts import KeyedAdmission, hold_off_erasure

log = structlog.get_logger("triage.worker.rabbitmq")

# what our publisher sets as ``message_id`` (``topology.event_key``); any other id is not trusted as a key
OUR_KEY = re.compile(r"[0-9a-f]{64}")
# what pika raises when the connection or channel is gone or refuses an operation
CONNECTION_ERRORS = (pika.exceptions.AMQPError, OSError)


@dataclass(frozen=True)
class Delivery:
    tag: int
    channel: BlockingChannel  # the channel it came on: a tag means nothing on another channel
    event: BrokerEvent
    partition: int = 0  # the queue it came from


def delivered_event(properties: BasicProperties, body: bytes) -> BrokerEvent:
    """The delivery as a broker event. The key is our publisher's ``message_id``, or for a stock
    publisher (no id) the same key computed from the body; a body that is not a JSON object becomes an
    event without data, which the worker skips (and which is acknowledged like any other)."""
    data = parse_event_data(body)
    headers = properties.headers or {}
    sender = headers.get(topology.HASH_HEADER)
    if not isinstance(sender, str):
        sender = data.get("sender_id") if data is not None else None
    message_id = properties.message_id
    if isinstance(message_id, str) and OUR_KEY.fullmatch(message_id):
        key = message_id
    elif data is not None:
        key = topology.event_key(data)
    else:
        key = hashlib.sha256(body).hexdigest()
    return BrokerEvent(topology.event_number(key), sender if isinstance(sender, str) else "", data, key)


class RabbitMQEventSource:
    """An ``EventSource`` (``triage.worker.broker``) over RabbitMQ's partition queues."""

    def __init__(
        self,
        url: str,
        partitions: int = topology.DEFAULT_PARTITIONS,
        *,
        pseudonym_key: str,
        queue_prefix: str = topology.QUEUE_PREFIX,
        prefetch: int = 256,
        fetch_wait_s: float = 0.05,
        backoff_s: tuple[float, float] = (0.5, 30.0),
        registry: CollectorRegistry | None = None,
        clock: Callable[[], float] = time.monotonic,
        leases: PartitionLeases | None = None,
    ) -> None:
        """
        Args:
            url: the server and vhost, e.g. ``amqp://guest:guest@127.0.0.1:5672/%2F``.
            partitions: how many partition queues there are (``CLEARLINE_RABBITMQ_PARTITIONS``).
            pseudonym_key: the privacy service's key (``CoreSettings.secret_key``), to recognise the
                queued events of an erased conversation.
            queue_prefix: the queues' names are the prefix and the partition's number.
            prefetch: unacknowledged deliveries per queue; a batch takes at most ``limit`` of them.
            fetch_wait_s: how long ``fetch`` waits for deliveries when none is buffered.
            backoff_s: the first and the longest wait before connecting again after a failure.
            registry: where the counters go (the worker's metrics registry).
            leases: which partitions this worker consumes, rebalanced between batches; None: all of them.
        """
        self.url = url
        self.queues = [f"{queue_prefix}{index}" for index in range(partitions)]
        self.prefetch = prefetch
        self.fetch_wait_s = fetch_wait_s
        self.backoff_s = backoff_s
        self.clock = clock
        self.admission = KeyedAdmission(pseudonym_key, registry)
        self.leases = leases
        self.partitions_held = Gauge(
            "clearline_worker_partitions_held",
            "Partition queues this worker holds and consumes",
            registry=registry or CollectorRegistry(),
        )
        self.partitions_held.set(partitions if leases is None else 0)
        # partition -> the channel consuming it: one channel per partition, so that giving a partition back
        # is closing its channel, and RabbitMQ returns what that channel held in delivery order
        self._consumers: dict[int, BlockingChannel] = {}
        self._connection: pika.BlockingConnection | None = None
        self._stats_channel: BlockingChannel | None = None
        self._connections_opened = 0
        self._buffer: list[Delivery] = []  # delivered, not yet in a batch
        self._batch: list[Delivery] = []  # the batch in flight, skipped deliveries included
        self._session: Session | None = None  # the batch's transaction, for ``count_present``
        self._retry_at = 0.0
        self._backoff = backoff_s[0]
        self.reconnects = 0  # connections opened after the first

    # -- the connection ----------------------------------------------------------------------------
    def _connected(self) -> bool:
        if (
            self._connection is not None
            and self._connection.is_open
            and all(channel.is_open for channel in self._consumers.values())
        ):
            return True
        if self._connection is not None:  # the broker closed a channel (the connection may live on)
            self._lost(RuntimeError("channel or connection closed"), "rabbitmq_channel_closed")
        if self.clock() < self._retry_at:
            return False
        try:
            connection = pika.BlockingConnection(pika.URLParameters(self.url))
        except CONNECTION_ERRORS as exc:
            self._lost(exc, "rabbitmq_connect_failed")
            return False
        if self._connections_opened > 0:
            self.reconnects += 1
        self._connections_opened += 1
        self._connection = connection
        self._backoff = self.backoff_s[0]
        for partition in self._partitions_consumed():  # after a reconnect: only those still held
            self._start_consuming(partition)
        if self._connection is None:  # opening a channel or a consumer failed, and _lost said why
            return False
        log.info("rabbitmq_consuming", queues=len(self._consumers), reconnects=self.reconnects)
        return True

    def _partitions_consumed(self) -> list[int]:
        return list(range(len(self.queues))) if self.leases is None else sorted(self.leases.held)

    def _start_consuming(self, partition: int) -> None:
        """Consume a partition's queue on the current channel (a taken lease, or a reconnect); while not
        connected nothing happens: the next connection consumes every held partition."""
        if self._connection is None or not self._connection.is_open:
            return
        try:
            channel = self._connection.channel()
            channel.basic_qos(prefetch_count=self.prefetch)
            on_message = functools.partial(self._on_message, partition, channel)
            channel.basic_consume(self.queues[partition], on_message, auto_ack=False)
        except CONNECTION_ERRORS as exc:
            self._lost(exc, "rabbitmq_consume_failed")
            return
        self._consumers[partition] = channel

    def _stop_consuming(self, partition: int) -> None:
        """Before a partition's lease is given back: close its channel. RabbitMQ then returns everything
        the channel held unacknowledged (what is buffered here, and what was still on the way) to the
        front of the queue, sorted in delivery order, so the next holder gets it first and in order."""
        channel = self._consumers.pop(partition, None)
        if channel is not None and channel.is_open:
            try:
                _close_without_cancelling(channel)
            except CONNECTION_ERRORS as exc:  # everything unacknowledged goes back with the connection
                self._lost(exc, "rabbitmq_channel_close_failed")
        # after the close: nothing that reached this worker while it closed stays in its buffer
        self._buffer = [d for d in self._buffer if d.partition != partition]

    def _rebalance(self) -> None:
        """Give back and take partitions (``PartitionLeases.rebalance``); between batches only, so that no
        delivery of a partition given back is in a batch."""
        assert self.leases is not None  # noqa: S101 - the caller checked
        change = self.leases.rebalance(self._stop_consuming)
        for partition in change.taken:
            self._start_consuming(partition)
        self.partitions_held.set(len(self.leases.held))

    def _on_message(
        self,
        partition: int,
        channel: BlockingChannel,
        _channel: BlockingChannel,
        method: Basic.Deliver,
        properties: BasicProperties,
        body: bytes,
    ) -> None:
        tag = method.delivery_tag
        assert tag is not None  # noqa: S101 - a delivery always has one
        self._buffer.append(Delivery(tag, channel, delivered_event(properties, body), partition))

    def _lost(self, error: BaseException, what: str) -> None:
        """Forget the connection and what it delivered (RabbitMQ redelivers it) and wait before the next
        try, longer after each failure."""
        log.warning(what, error=repr(error), retry_in_s=self._backoff)
        connection, self._connection, self._stats_channel = self._connection, None, None
        self._buffer, self._consumers = [], {}
        self._retry_at = self.clock() + self._backoff
        self._backoff = min(self._backoff * 2, self.backoff_s[1])
        _close_quietly(connection)

    def _deliveries(self, limit: int) -> list[Delivery]:
        if not self._connected():
            return []
        assert self._connection is not None  # noqa: S101 - _connected set it
        try:
            deadline = self.clock() + (0 if self._buffer else self.fetch_wait_s)
            while True:  # returns as soon as something was delivered, so wait again until full or late
                self._connection.process_data_events(time_limit=max(0.0, deadline - self.clock()))
                if len(self._buffer) >= limit or self.clock() >= deadline:
                    break
        except CONNECTION_ERRORS as exc:
            self._lost(exc, "rabbitmq_connection_lost")
            return []
        taken, self._buffer = self._buffer[:limit], self._buffer[limit:]
        return taken

    def _on_current_channel(self, delivery: Delivery) -> bool:
        """Its channel still consumes its partition: a tag from a closed channel means nothing."""
        channel = self._consumers.get(delivery.partition)
        return channel is not None and channel is delivery.channel and bool(channel.is_open)

    def _acknowledge(self, deliveries: Sequence[Delivery], what: str) -> None:
        """Ack (``settle``) or nack with requeue (``release``) the deliveries still on this channel."""
        live = [d for d in deliveries if self._on_current_channel(d)]
        if not live:
            return
        try:
            for delivery in sorted(live, key=lambda d: (d.partition, d.tag)):
                if what == "ack":
                    delivery.channel.basic_ack(delivery.tag)
                else:
                    delivery.channel.basic_nack(delivery.tag, requeue=True)
        except CONNECTION_ERRORS as exc:
            # committed (ack) or rolled back (nack) already: the broker redelivers the rest, and a
            # redelivered committed event is skipped by its receipt
            self._lost(exc, f"rabbitmq_{what}_failed")

    # -- EventSource -------------------------------------------------------------------------------
    def fetch(self, session: Session, limit: int) -> list[BrokerEvent]:
        """Up to ``limit`` deliveries, without those processed before, twice in the batch or of an erased
        conversation (all of them are acknowledged with the batch). With leases, the partitions are
        rebalanced first when it is time (no batch is in flight here: the last one was settled or
        released)."""
        if self.leases is not None and not self._batch and self.leases.due():
            self._rebalance()
        deliveries = self._deliveries(limit)
        if not deliveries:
            return []
        hold_off_erasure(session)
        admitted = self.admission.admit(session, [d.event for d in deliveries])
        if not admitted.events:  # nothing to commit: what was skipped is known from committed rows
            self._acknowledge(deliveries, "ack")
            return []
        self._batch, self._session = deliveries, session
        if admitted.duplicates or admitted.erased:
            log.info("rabbitmq_skipped", duplicates=admitted.duplicates, erased=admitted.erased)
        return admitted.events

    def record(self, session: Session, events: list[BrokerEvent]) -> None:
        self.admission.record(session, events)

    def settle(self, events: list[BrokerEvent]) -> None:
        batch, self._batch, self._session = self._batch, [], None
        self._acknowledge(batch, "ack")

    def release(self, events: list[BrokerEvent]) -> None:
        """Give the batch back, and what was delivered after it, so that RabbitMQ delivers them again in
        their order."""
        given_back, self._batch, self._buffer, self._session = self._batch + self._buffer, [], [], None
        self._acknowledge(given_back, "nack")

    def count_present(self, events: Sequence[BrokerEvent]) -> int:
        """A queue has no "still there": an event counts as gone when its conversation was erased after
        it was published (read in the batch's transaction, which ``fetch`` was given)."""
        if self._session is None:
            raise RuntimeError("count_present is asked about a batch: call fetch first")
        return self.admission.count_present(self._session, events)

    def waiting(self, session: Session) -> int:
        """Messages ready in all partition queues (this worker's and the others'), one passive declare
        each on a channel of its own (a failed declare closes its channel, not the consumer's); 0 while
        the source is not connected."""
        if not self._connected():
            return 0
        assert self._connection is not None  # noqa: S101 - _connected set it
        try:
            if self._stats_channel is None or not self._stats_channel.is_open:
                self._stats_channel = self._connection.channel()
            return sum(
                int(self._stats_channel.queue_declare(queue, passive=True).method.message_count or 0)
                for queue in self.queues
            )
        except pika.exceptions.ChannelClosedByBroker as exc:
            log.warning("rabbitmq_queue_missing", error=repr(exc))
            self._stats_channel = None
            return 0
        except CONNECTION_ERRORS as exc:
            self._lost(exc, "rabbitmq_connection_lost")
            return 0

    def close(self) -> None:
        """Close the connection (RabbitMQ takes back what it delivered), then give the leases up."""
        connection, self._connection, self._consumers = self._connection, None, {}
        _close_quietly(connection)
        if self.leases is not None:
            self.leases.close()
            self.partitions_held.set(0)


def _close_without_cancelling(channel: BlockingChannel) -> None:
    """Close a consuming channel the way a dead worker's channel goes: RabbitMQ returns all it held, in
    delivery order. ``BlockingChannel.close`` cancels the consumers first, and pika then rejects each
    delivery still on the way one by one, ahead of those buffered here: RabbitMQ would hand the later
    events out before the earlier ones (seen in the scale-out proof test). So this does the close without
    the cancel: the same steps as pika 1.4's ``BlockingChannel.close`` (pinned in requirements.lock), less
    ``_cancel_all_consumers``."""
    channel._impl.close(reply_code=0, reply_text="partition given back")  # noqa: SLF001
    channel._flush_output(lambda: channel.is_closed)  # noqa: SLF001
    channel._cleanup()  # noqa: SLF001


def _close_quietly(connection: pika.BlockingConnection | None) -> None:
    """Close a connection that may be broken already: nothing is left to save on it."""
    if connection is not None and connection.is_open:
        with contextlib.suppress(*CONNECTION_ERRORS):
            connection.close()
