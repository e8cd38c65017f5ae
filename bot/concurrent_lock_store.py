"""A Redis lock store that several Rasa servers can share (`lock_store.type` in endpoints.yml).

Rasa 3.6's `RedisLockStore` keeps a conversation's whole ticket queue in one JSON value and changes it by
read-modify-write: two servers that take a message of the same conversation at the same moment both read
"no lock", both issue ticket 0 and both write it, so both run the turn at once on the same tracker. The
SQL tracker store then keeps the first save and drops the second server's user message and answer (it
writes only events past the number already stored). Rasa Pro ships a `ConcurrentRedisLockStore` for
exactly this; Rasa Open Source does not, hence this one.

Each conversation has two keys: a counter that `INCR` turns into unique, ordered ticket numbers, and a
sorted set of the live tickets (member: number, score: expiry time). Issuing a ticket (counter and set
together) and dropping the keys of an idle conversation are Lua scripts, so Redis runs each as one step;
reading the queue and finishing a ticket are single commands. Nothing writes a whole queue back, so no
server can overwrite another's ticket. The waiting itself is Rasa's (`LockStore.lock`): poll until the
lowest live ticket is ours.
"""

from __future__ import annotations

import time
from collections import deque
from typing import Any

import redis
from rasa.core.lock import Ticket, TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

DEFAULT_KEY_PREFIX = "clearline"

# KEYS: counter, tickets. ARGV: expiry (epoch seconds), lifetime (ms). The keys live as long as the newest
# ticket, so an abandoned conversation's keys go away by themselves.
ISSUE_TICKET = """
local number = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], ARGV[1], number)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
return number
"""

# KEYS: counter, tickets. Redis removes an empty sorted set by itself; the counter goes only with it, and
# in the same step, so a ticket issued meanwhile keeps its number's order.
DROP_IF_IDLE = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class ConcurrentRedisLockStore(LockStore):
    """Rasa's ticket lock with atomic ticket issue in Redis (see the module's docstring)."""

    def __init__(
        self,
        endpoint_config: EndpointConfig | None = None,
        *,
        client: redis.Redis | None = None,
        key_prefix: str = DEFAULT_KEY_PREFIX,
    ) -> None:
        if client is None:
            if endpoint_config is None:
                raise ValueError("ConcurrentRedisLockStore needs an endpoint configuration or a Redis client")
            client, key_prefix = _client_from_endpoint(endpoint_config)
        self.red = client
        self.key_prefix = key_prefix
        self._issue = self.red.register_script(ISSUE_TICKET)
        self._drop_if_idle = self.red.register_script(DROP_IF_IDLE)
        super().__init__()

    def _keys(self, conversation_id: str) -> tuple[str, str]:
        base = f"{self.key_prefix}:lock:{conversation_id}"
        return f"{base}:last_issued", f"{base}:tickets"

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        lifetime_ms = max(1, int(lock_lifetime * 1000))
        expires = time.time() + lock_lifetime
        try:
            return int(self._issue(keys=list(self._keys(conversation_id)), args=[expires, lifetime_ms]))
        except redis.RedisError as exc:
            # what Rasa's stores raise, so its server answers as it does for any lock failure
            raise LockError(f"Error while acquiring lock. Error:\n{exc}") from exc

    def get_lock(self, conversation_id: str) -> TicketLock | None:
        _, tickets_key = self._keys(conversation_id)
        pipe = self.red.pipeline(transaction=True)
        pipe.zremrangebyscore(tickets_key, "-inf", time.time())
        pipe.zrange(tickets_key, 0, -1, withscores=True)
        _, live = pipe.execute()
        if not live:
            return None
        tickets = sorted((Ticket(int(member), float(expires)) for member, expires in live), key=_number)
        return TicketLock(conversation_id, deque(tickets))

    def update_lock(self, conversation_id: str) -> None:
        # expired tickets are dropped on every read (get_lock); nothing to write back
        self.get_lock(conversation_id)

    def finish_serving(self, conversation_id: str, ticket_number: int) -> None:
        self.red.zrem(self._keys(conversation_id)[1], ticket_number)

    def delete_lock(self, conversation_id: str) -> None:
        self._drop_if_idle(keys=list(self._keys(conversation_id)))

    def save_lock(self, lock: TicketLock) -> None:
        # Writing a whole queue back is the race this store exists to avoid; Rasa 3.6 calls save_lock only
        # from the LockStore methods overridden above.
        raise NotImplementedError("ConcurrentRedisLockStore never writes a whole ticket queue")


def _number(ticket: Ticket) -> int:
    return ticket.number


def _client_from_endpoint(endpoint_config: EndpointConfig) -> tuple[redis.Redis, str]:
    options: dict[str, Any] = dict(endpoint_config.kwargs)
    client = redis.StrictRedis(
        host=endpoint_config.url or "127.0.0.1",
        port=int(options.get("port", 6379)),
        db=int(options.get("db", 1)),
        password=options.get("password"),
        ssl=bool(options.get("use_ssl", False)),
        socket_timeout=float(options.get("socket_timeout", 10)),
    )
    return client, str(options.get("key_prefix") or DEFAULT_KEY_PREFIX)
