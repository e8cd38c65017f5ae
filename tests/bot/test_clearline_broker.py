"""bot/clearline_broker.py against the local RabbitMQ: what it publishes, and that it refuses a server without
Clearline's topology. Each test has a vhost of its own; `clearline broker setup` (Clearline's environment)
declares the topology, as it would for a deployment."""

import asyncio
import json
import subprocess
from collections.abc import Iterator
from typing import Any

import aio_pika
import clearline_broker
import pytest
from clearline_broker import BrokerNotReady, ClearlineEventBroker, TopologyMissing, check_broker
from rasa.utils.endpoints import EndpointConfig

from tests.bot.conftest import BOT_DIR
from tests.rabbitmq import temporary_vhost, vhost_url

topology = clearline_broker.topology
CLEARLINE = BOT_DIR.parent / ".venv" / "bin" / "clearline"  # make test installs both environments
PARTITIONS = 4


def broker_setup(url: str, partitions: int) -> None:
    subprocess.run(
        [str(CLEARLINE), "broker", "setup", "--url", url, "--partitions", str(partitions)],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture
def empty_url() -> Iterator[str]:
    with temporary_vhost("clearline-broker") as url:
        yield url


@pytest.fixture
def url(empty_url: str) -> str:
    broker_setup(empty_url, PARTITIONS)
    return empty_url


def endpoint(url: str, partitions: int = PARTITIONS) -> EndpointConfig:
    return EndpointConfig(
        url=url,
        type="clearline_broker.ClearlineEventBroker",
        partitions=partitions,
        connection_attempts=1,
        retry_delay_in_seconds=0.1,
    )


def user_event(sender_id: str, number: int) -> dict[str, Any]:
    return {
        "event": "user",
        "timestamp": 1_765_000_000 + number / 1000,
        "sender_id": sender_id,
        "text": f"message {number}",
        "parse_data": {"intent": {"name": "inform", "confidence": 0.9}, "entities": []},
        "input_channel": "rest",
    }


async def publish(url: str, events: list[dict[str, Any]]) -> None:
    """Through the broker as Rasa's tracker store does (publish() schedules; the publisher confirms come
    later), waiting for every confirm before closing."""
    broker = await ClearlineEventBroker.from_endpoint_config(endpoint(url))
    assert broker is not None
    for event in events:
        broker.publish(event)
    while broker._background_tasks:  # the stock broker's pending publishes
        await asyncio.gather(*list(broker._background_tasks))
    assert not broker._unpublished_events
    await broker.close()


async def drain(url: str, expected: int) -> dict[str, list[aio_pika.abc.AbstractIncomingMessage]]:
    """Every message of every partition queue, in delivery order (a consumer: quorum queues with single
    active consumer refuse basic.get); waits for `expected` messages, then a moment for any extra."""
    connection = await aio_pika.connect(url)
    try:
        channel = await connection.channel()
        drained: dict[str, list[aio_pika.abc.AbstractIncomingMessage]] = {}
        enough = asyncio.Event()
        for name in topology.queue_names(PARTITIONS):
            received = drained.setdefault(name, [])

            def keep(message: aio_pika.abc.AbstractIncomingMessage, received: list = received) -> None:
                received.append(message)
                if sum(len(messages) for messages in drained.values()) >= expected:
                    enough.set()

            queue = await channel.declare_queue(name, passive=True)
            await queue.consume(keep, no_ack=True)
        await asyncio.wait_for(enough.wait(), timeout=60)
        await asyncio.sleep(1)
        return drained
    finally:
        await connection.close()


def test_each_event_is_keyed_and_headed_and_a_conversation_stays_in_one_queue_in_order(url: str) -> None:
    conversations = [f"conversation-{index}" for index in range(60)]
    # interleaved as concurrent conversations publish: turn 0 of each, then turn 1 of each, ...
    events = [user_event(sender, turn) for turn in range(8) for sender in conversations]
    asyncio.run(publish(url, events))
    drained = asyncio.run(drain(url, len(events)))

    assert sum(len(messages) for messages in drained.values()) == len(events)
    assert sum(1 for messages in drained.values() if messages) > 1  # the exchange spreads conversations
    queues_of: dict[str, set[str]] = {}
    turns_of: dict[str, list[str]] = {}
    for queue, messages in drained.items():
        for message in messages:
            event = json.loads(message.body)
            assert message.message_id == topology.event_key(event)
            assert message.headers == {"sender_id": event["sender_id"]}
            assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
            queues_of.setdefault(event["sender_id"], set()).add(queue)
            turns_of.setdefault(event["sender_id"], []).append(event["text"])
    assert all(len(queues) == 1 for queues in queues_of.values())
    assert turns_of == {sender: [f"message {turn}" for turn in range(8)] for sender in conversations}


def test_a_republished_event_has_the_same_message_id_and_queue(url: str) -> None:
    event = user_event("conversation-x", 1)
    later = user_event("conversation-x", 2)
    asyncio.run(publish(url, [event, dict(event), later]))
    received = [message for messages in asyncio.run(drain(url, 3)).values() for message in messages]
    assert [message.message_id for message in received] == [
        topology.event_key(event),
        topology.event_key(event),
        topology.event_key(later),
    ]
    assert topology.event_key(event) != topology.event_key(later)


def test_a_server_without_the_topology_is_refused(empty_url: str) -> None:
    with pytest.raises(TopologyMissing) as raised:
        asyncio.run(ClearlineEventBroker.from_endpoint_config(endpoint(empty_url)))
    message = str(raised.value)
    assert "exchange 'clearline.events'" in message and "queue 'clearline.events.p3'" in message
    assert "clearline broker setup" in message and "guest:guest" not in message


def test_fewer_partition_queues_than_configured_are_refused(empty_url: str) -> None:
    broker_setup(empty_url, 2)
    with pytest.raises(TopologyMissing) as raised:
        asyncio.run(ClearlineEventBroker.from_endpoint_config(endpoint(empty_url, partitions=4)))
    message = str(raised.value)
    assert "queue 'clearline.events.p2', queue 'clearline.events.p3'" in message
    assert "exchange" not in message.split("lacks")[1].split(":")[0]


def test_the_start_check_passes_with_the_topology_and_fails_clearly_without(url: str) -> None:
    asyncio.run(check_broker(endpoint(url)))
    with (
        temporary_vhost("clearline-broker-empty") as empty_url,
        pytest.raises(BrokerNotReady, match="lacks Clearline's exchange"),
    ):
        asyncio.run(check_broker(endpoint(empty_url)))
    unreachable = vhost_url("nowhere", server="127.0.0.1:9")  # nothing listens on port 9
    with pytest.raises(BrokerNotReady) as raised:
        asyncio.run(check_broker(endpoint(unreachable)))
    assert "cannot connect to RabbitMQ at amqp://127.0.0.1:9/nowhere" in str(raised.value)
    assert "guest:guest" not in str(raised.value)


def test_the_url_gives_port_and_quoted_credentials_and_the_logged_host_has_none() -> None:
    async def built() -> ClearlineEventBroker:
        return ClearlineEventBroker("amqp://alice:p%40ss%2Fword@rabbit.example:5673/%2F", partitions=2)

    broker = asyncio.run(built())
    assert broker.host == "amqp://rabbit.example:5673/%2F"
    assert (broker.username, broker.password, broker.port) == ("alice", "p@ss/word", 5673)
    assert broker._configure_url() == "amqp://alice:p%40ss%2Fword@rabbit.example:5673/%2F"
    assert broker.queues == ["clearline.events.p0", "clearline.events.p1"]
