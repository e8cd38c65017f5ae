"""Which local addresses a port is listening on, from /proc/net (Linux): the tests check that every
process of the stack is reachable on loopback only."""

from __future__ import annotations

from pathlib import Path

LISTEN = "0A"  # the state column's value for a listening socket


def listening_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on ``port`` (IPv4 dotted, IPv6 as /proc writes it)."""
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            address, port_hex = fields[1].split(":")
            if fields[3] == LISTEN and int(port_hex, 16) == port:
                ipv4 = len(address) == 8
                found.add(".".join(str(b) for b in bytes.fromhex(address)[::-1]) if ipv4 else address)
    return found
