"""bot/concurrent_lock_store.py against the local Redis: the conversation lock that several Rasa servers
share. Each store instance below has its own Redis connection, as two servers would."""

import asyncio
import threading
import time
import uuid
from collections.abc import Iterator

import pytest
import redis
from concurrent_lock_store import ConcurrentRedisLockStore
from rasa.core.lock_store import LockError, LockStore
from rasa.utils.endpoints import EndpointConfig

DB = 1


@pytest.fixture
def prefix() -> Iterator[str]:
    """A key prefix of the test's own; its keys are removed afterwards."""
    name = f"locktest{uuid.uuid4().hex[:10]}"
    yield name
    client = redis.StrictRedis(db=DB)
    for key in client.scan_iter(f"{name}:*"):
        client.delete(key)


def server(prefix: str) -> ConcurrentRedisLockStore:
    return ConcurrentRedisLockStore(client=redis.StrictRedis(db=DB), key_prefix=prefix)


def test_rasa_loads_the_store_from_its_endpoint_configuration(prefix: str) -> None:
    config = EndpointConfig(
        url="127.0.0.1",
        type="concurrent_lock_store.ConcurrentRedisLockStore",
        port=6379,
        db=DB,
        key_prefix=prefix,
    )
    store = LockStore.create(config)
    assert isinstance(store, ConcurrentRedisLockStore)
    assert store.issue_ticket("c1") == 1
    assert redis.StrictRedis(db=DB).exists(f"{prefix}:lock:c1:tickets") == 1


def test_tickets_from_several_servers_are_unique_and_ordered(prefix: str) -> None:
    numbers: list[int] = []
    guard = threading.Lock()

    def issue(store: ConcurrentRedisLockStore) -> None:
        for _ in range(50):
            number = store.issue_ticket("shared")
            with guard:
                numbers.append(number)

    threads = [threading.Thread(target=issue, args=(server(prefix),)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers) == list(range(1, 201))
    lock = server(prefix).get_lock("shared")
    assert lock is not None and [t.number for t in lock.tickets] == list(range(1, 201))
    assert lock.now_serving == 1


def test_only_one_server_at_a_time_runs_a_conversation_turn(prefix: str) -> None:
    """Four servers (threads with their own connection and event loop) take 30 turns each at once."""
    inside = most = turns = 0
    failures: list[str] = []
    guard = threading.Lock()

    def serve_turns(store: ConcurrentRedisLockStore) -> None:
        async def turn() -> None:
            nonlocal inside, most, turns
            async with store.lock("busy", wait_time_in_seconds=0.002):
                with guard:
                    inside += 1
                    most = max(most, inside)
                await asyncio.sleep(0.001)
                with guard:
                    inside -= 1
                    turns += 1

        async def main() -> None:
            for _ in range(30):
                try:
                    await asyncio.wait_for(turn(), 20)
                except Exception as exc:  # noqa: BLE001 - counted and reported by the assertion
                    failures.append(repr(exc))

        asyncio.run(main())

    threads = [threading.Thread(target=serve_turns, args=(server(prefix),)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert (most, turns) == (1, 120)
    # nothing is left behind once every turn has finished
    assert list(redis.StrictRedis(db=DB).scan_iter(f"{prefix}:*")) == []


async def test_a_second_server_waits_for_the_first_to_finish(prefix: str) -> None:
    first, second = server(prefix), server(prefix)
    order: list[str] = []

    async def take(store: ConcurrentRedisLockStore, name: str, hold_s: float) -> None:
        async with store.lock("c", wait_time_in_seconds=0.01):
            order.append(f"{name} in")
            await asyncio.sleep(hold_s)
            order.append(f"{name} out")

    first_turn = asyncio.create_task(take(first, "A", 0.2))
    await asyncio.sleep(0.05)
    await take(second, "B", 0)
    await first_turn
    assert order == ["A in", "A out", "B in", "B out"]


async def test_an_expired_ticket_no_longer_blocks_the_conversation(prefix: str) -> None:
    crashed, alive = server(prefix), server(prefix)
    crashed.issue_ticket("c", lock_lifetime=0.3)  # a server that died holding the lock
    started = time.monotonic()
    async with alive.lock("c", wait_time_in_seconds=0.05):
        waited = time.monotonic() - started
    assert 0.2 < waited < 5
    assert list(redis.StrictRedis(db=DB).scan_iter(f"{prefix}:*")) == []


def test_an_abandoned_conversations_keys_expire_with_its_newest_ticket(prefix: str) -> None:
    server(prefix).issue_ticket("c", lock_lifetime=30)
    client = redis.StrictRedis(db=DB)
    for key in (f"{prefix}:lock:c:last_issued", f"{prefix}:lock:c:tickets"):
        assert 0 < client.pttl(key) <= 30_000


def test_cleaning_up_an_idle_conversation_never_removes_a_live_ticket(prefix: str) -> None:
    one, other = server(prefix), server(prefix)
    held = one.issue_ticket("c")
    other.delete_lock("c")  # what Rasa's cleanup does when it saw nobody waiting, just before `one` came
    lock = other.get_lock("c")
    assert lock is not None and lock.now_serving == held
    assert other.issue_ticket("c") == held + 1  # the numbering went on: order is kept
    one.finish_serving("c", held)
    one.finish_serving("c", held + 1)
    one.delete_lock("c")
    assert one.get_lock("c") is None
    assert one.issue_ticket("c") == 1  # an idle conversation starts afresh


def test_writing_a_whole_queue_back_is_refused(prefix: str) -> None:
    store = server(prefix)
    store.issue_ticket("c")
    lock = store.get_lock("c")
    assert lock is not None
    with pytest.raises(NotImplementedError):
        store.save_lock(lock)


def test_an_unreachable_redis_is_a_lock_error() -> None:
    store = ConcurrentRedisLockStore(client=redis.StrictRedis(port=1, socket_connect_timeout=1))
    with pytest.raises(LockError, match="Error while acquiring lock"):
        store.issue_ticket("c")


def test_the_store_needs_a_configuration() -> None:
    with pytest.raises(ValueError, match="endpoint configuration"):
        ConcurrentRedisLockStore()
