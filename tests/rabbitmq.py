"""A throw-away RabbitMQ vhost on the local server (127.0.0.1:5672, guest/guest) for one test.

Clearline's exchange and queue names are fixed (triage/rabbitmq_topology.py), and other tests use the same
server: each test gets a vhost of its own, deleted afterwards with everything in it. The helpers are
triage/rabbitmq_admin.py's (standard library only, so both virtual environments use them).
"""

from triage.rabbitmq_admin import SERVER, close_connections, temporary_vhost, vhost_url

__all__ = ["SERVER", "close_connections", "temporary_vhost", "vhost_url"]
