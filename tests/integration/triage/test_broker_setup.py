"""`clearline broker setup` against the local RabbitMQ, each test in a vhost of its own."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from urllib.parse import unquote, urlsplit

import pika
import pytest
from typer.testing import CliRunner

from api.cli import app
from tests.rabbitmq import temporary_vhost, vhost_url
from triage import rabbitmq_topology as topology
from triage.rabbitmq_setup import TopologyError, declare_topology


@pytest.fixture
def url() -> Iterator[str]:
    with temporary_vhost("clearline-setup") as vhost_url_:
        yield vhost_url_


def _vhost(url: str) -> str:
    return unquote(urlsplit(url).path.lstrip("/"))


def _rabbitmqctl_rows(url: str, *arguments: str) -> list[list[str]]:
    listed = subprocess.run(
        ["rabbitmqctl", "-q", "--no-table-headers", *arguments, "-p", _vhost(url)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout
    return [line.split("\t") for line in listed.splitlines() if line.strip()]


def test_setup_declares_quorum_queues_with_single_active_consumer_bound_to_the_hash_exchange(url):
    declared = declare_topology(url, 3)
    assert declared.queues == ["clearline.events.p0", "clearline.events.p1", "clearline.events.p2"]
    queues = {row[0]: row for row in _rabbitmqctl_rows(url, "list_queues", "name", "type", "arguments")}
    assert set(queues) == set(declared.queues)
    for _name, queue_type, arguments in queues.values():
        assert queue_type == "quorum" and '{"x-single-active-consumer",true}' in arguments
    listed = _rabbitmqctl_rows(url, "list_exchanges", "name", "type", "arguments")
    exchanges = {row[0]: row[1:] for row in listed}
    assert exchanges[topology.EXCHANGE] == ["x-consistent-hash", '[{"hash-header","sender_id"}]']
    bindings = _rabbitmqctl_rows(url, "list_bindings", "source_name", "destination_name", "routing_key")
    assert sorted(row for row in bindings if row[0] == topology.EXCHANGE) == [
        [topology.EXCHANGE, queue, "1"] for queue in declared.queues
    ]


def _message_counts(url: str, queues: list[str]) -> list[int]:
    connection = pika.BlockingConnection(pika.URLParameters(url))
    try:
        channel = connection.channel()
        return [channel.queue_declare(queue, passive=True).method.message_count for queue in queues]
    finally:
        connection.close()


def test_setup_twice_changes_nothing_and_keeps_the_messages(url):
    queues = declare_topology(url, 2).queues
    connection = pika.BlockingConnection(pika.URLParameters(url))
    channel = connection.channel()
    channel.confirm_delivery()  # with mandatory: an unroutable message raises instead of vanishing
    channel.basic_publish(
        topology.EXCHANGE,
        "",
        b"{}",
        pika.BasicProperties(headers={"sender_id": "c1"}, delivery_mode=2),
        mandatory=True,
    )
    connection.close()
    assert sorted(_message_counts(url, queues)) == [0, 1]
    declare_topology(url, 2)
    assert sorted(_message_counts(url, queues)) == [0, 1]
    bindings = _rabbitmqctl_rows(url, "list_bindings", "source_name", "destination_name")
    assert len([row for row in bindings if row[0] == topology.EXCHANGE]) == 2


def test_a_queue_with_other_arguments_is_a_clear_error_naming_it(url):
    connection = pika.BlockingConnection(pika.URLParameters(url))
    connection.channel().queue_declare("clearline.events.p1", durable=True)  # a classic queue
    connection.close()
    with pytest.raises(TopologyError) as raised:
        declare_topology(url, 2)
    message = str(raised.value)
    assert "queue clearline.events.p1 with other settings" in message
    assert "x-queue-type" in message and "rabbitmqctl delete_queue clearline.events.p1" in message


def test_an_exchange_of_another_type_is_a_clear_error(url):
    connection = pika.BlockingConnection(pika.URLParameters(url))
    connection.channel().exchange_declare(topology.EXCHANGE, exchange_type="fanout", durable=True)
    connection.close()
    with pytest.raises(TopologyError, match=r"exchange clearline\.events with other settings"):
        declare_topology(url, 2)


def test_an_unknown_exchange_type_asks_to_enable_the_plugin(url):
    # The plugin cannot be disabled on a server other tests share; the server answers an exchange type it
    # does not know the same way (503 COMMAND_INVALID "unknown exchange type") as x-consistent-hash
    # without the plugin.
    with pytest.raises(TopologyError) as raised:
        declare_topology(url, 2, exchange_type="x-clearline-no-such-type")
    assert "rabbitmq-plugins enable rabbitmq_consistent_hash_exchange" in str(raised.value)
    assert "unknown exchange type" in str(raised.value)


def test_fewer_partitions_than_the_server_has_are_refused(url):
    declare_topology(url, 3)
    with pytest.raises(TopologyError, match=r"already has clearline\.events\.p2, more partitions than"):
        declare_topology(url, 2)
    assert declare_topology(url, 4).queues[-1] == "clearline.events.p3"  # more is allowed


def test_an_unreachable_server_is_a_clear_error_without_the_password():
    with pytest.raises(TopologyError) as raised:
        declare_topology(vhost_url("x", server="127.0.0.1:9"), 2)
    assert "cannot connect to RabbitMQ at amqp://127.0.0.1:9/x" in str(raised.value)
    assert "guest:guest" not in str(raised.value)


def test_the_command_reads_the_settings_and_reports_errors_in_one_line(url, monkeypatch):
    runner = CliRunner()
    monkeypatch.setenv("CLEARLINE_RABBITMQ_URL", url)
    monkeypatch.setenv("CLEARLINE_RABBITMQ_PARTITIONS", "2")
    from triage.settings import get_settings

    get_settings.cache_clear()
    try:
        done = runner.invoke(app, ["broker", "setup"])
        assert done.exit_code == 0, done.output
        assert "exchange clearline.events bound to 2 partition queues" in done.output
        assert "guest:guest" not in done.output
        refused = runner.invoke(app, ["broker", "setup", "--url", url, "--partitions", "1"])
        assert refused.exit_code == 1
        assert refused.output.startswith("error: RabbitMQ at") and "Traceback" not in refused.output
    finally:
        get_settings.cache_clear()
