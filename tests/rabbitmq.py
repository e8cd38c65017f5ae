"""A throw-away RabbitMQ vhost on the local server (127.0.0.1:5672, guest/guest) for one test.

Clearline's exchange and queue names are fixed (triage/rabbitmq_topology.py), and other tests use the same
server: each test gets a vhost of its own, deleted afterwards with everything in it. Standard library only,
so that both virtual environments (Rasa's 3.10 and Clearline's 3.11) use it.
"""

from __future__ import annotations

import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

SERVER = "127.0.0.1:5672"


def _rabbitmqctl(*arguments: str) -> None:
    subprocess.run(["rabbitmqctl", "-q", *arguments], check=True, capture_output=True, timeout=60)


def vhost_url(vhost: str, *, server: str = SERVER) -> str:
    return f"amqp://guest:guest@{server}/{quote(vhost, safe='')}"


@contextmanager
def temporary_vhost(prefix: str) -> Iterator[str]:
    """Yield the amqp:// URL of a new, empty vhost that guest may use; the vhost is deleted after."""
    vhost = f"{prefix}-{uuid.uuid4().hex[:12]}"
    _rabbitmqctl("add_vhost", vhost)
    try:
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
        yield vhost_url(vhost)
    finally:  # also when the test fails: no vhost (and no quorum queue) is left behind
        _rabbitmqctl("delete_vhost", vhost)
