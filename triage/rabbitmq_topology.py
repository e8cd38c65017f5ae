"""The RabbitMQ topology both sides of Rasa's event stream agree on, and the event's stable key.

Rasa's publisher (``bot/clearline_broker.py``, Python 3.10, loaded from this file by path through
``bot/clearline_files.py``) and Clearline's consumer (``triage/worker``) must name the same exchange and
queues and compute the same key, so this module is the one place for both: standard library only and
valid Python 3.10.

- One consistent-hash exchange (``x-consistent-hash``, from the bundled
  ``rabbitmq_consistent_hash_exchange`` plugin) that hashes the ``sender_id`` header: every event of one
  conversation goes to the same partition.
- P partition queues, quorum queues with single active consumer (classic-queue single active consumer is
  unreliable on RabbitMQ 3.10): one worker at a time consumes a partition, in order, and RabbitMQ hands
  the partition to another worker when that one's connection goes.
- Every message carries ``message_id`` = the event's key (sha256 of its canonical JSON) and a
  ``sender_id`` header: a redelivered or re-published event is recognised by its key.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

EXCHANGE = "clearline.events"
EXCHANGE_TYPE = "x-consistent-hash"
HASH_HEADER = "sender_id"  # the exchange hashes this header instead of the routing key
QUEUE_PREFIX = "clearline.events.p"
DEFAULT_PARTITIONS = 8
BINDING_WEIGHT = "1"  # a consistent-hash binding's routing key is its weight: equal shares
QUEUE_ARGUMENTS: dict[str, Any] = {"x-queue-type": "quorum", "x-single-active-consumer": True}
EXCHANGE_ARGUMENTS: dict[str, Any] = {"hash-header": HASH_HEADER}
PLUGIN = "rabbitmq_consistent_hash_exchange"


def queue_names(partitions: int = DEFAULT_PARTITIONS) -> list[str]:
    """The partition queues, in order: ``clearline.events.p0`` ... ``p{P-1}``."""
    if partitions < 1:
        raise ValueError(f"partitions must be at least 1, not {partitions}")
    return [f"{QUEUE_PREFIX}{index}" for index in range(partitions)]


def canonical_json(event: dict[str, Any]) -> bytes:
    """The event as JSON with sorted keys and no spaces: equal events give equal bytes."""
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode(
        "utf-8", "surrogatepass"
    )


def event_key(event: dict[str, Any]) -> str:
    """The event's stable key (hex sha256 of its canonical JSON, which includes its ``sender_id`` and
    timestamp): Rasa's events have no id, and a re-publish of the same event gives the same key."""
    return hashlib.sha256(canonical_json(event)).hexdigest()


def event_number(key: str) -> int:
    """A positive 53-bit number from the key, for columns that identify an event by integer (a
    message's ``source_event_id``); 53 bits so that JavaScript reads it exactly."""
    return int(key[:14], 16) & ((1 << 53) - 1) or 1
