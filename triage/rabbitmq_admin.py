"""The local RabbitMQ's administration through `rabbitmqctl`, for the bench and the tests: a throw-away
vhost, and connections closed from the server's side (as when a node restarts or an operator kicks one).

Standard library only: Rasa's Python 3.10 environment loads it too (tests/rabbitmq.py).
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from urllib.parse import quote

SERVER = "127.0.0.1:5672"


def rabbitmqctl(*arguments: str) -> str:
    done = subprocess.run(
        ["rabbitmqctl", "-q", *arguments], check=True, capture_output=True, text=True, timeout=60
    )
    return done.stdout


def vhost_url(vhost: str, *, server: str = SERVER) -> str:
    return f"amqp://guest:guest@{server}/{quote(vhost, safe='')}"


@contextmanager
def temporary_vhost(prefix: str) -> Iterator[str]:
    """Yield the amqp:// URL of a new, empty vhost that guest may use; the vhost is deleted after."""
    vhost = f"{prefix}-{uuid.uuid4().hex[:12]}"
    rabbitmqctl("add_vhost", vhost)
    try:
        rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield vhost_url(vhost)
    finally:  # also when the run fails: no vhost (and no quorum queue) is left behind
        rabbitmqctl("delete_vhost", vhost)


def close_connections(peer_ports: Iterable[int | str], reason: str) -> int:
    """Have the server close the client connections coming from these local ports; how many it closed."""
    wanted = {str(port) for port in peer_ports}
    closed = 0
    for line in rabbitmqctl("list_connections", "pid", "peer_port").splitlines():
        connection, _, peer_port = line.partition("\t")
        if peer_port.strip() in wanted:
            rabbitmqctl("close_connection", connection, reason)
            closed += 1
    return closed
