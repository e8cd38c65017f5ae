"""The login rate limit across api processes: shared through Redis, and still enforced when Redis is down."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
import redis

from tests.browser.server import free_port, running_api

REDIS_DB = 15  # a database of the local Redis that these tests may empty
ATTEMPT = {"username": "alice", "password": "not the password"}


def failed_logins(url: str, count: int) -> list[int]:
    return [
        httpx.post(f"{url}/api/v1/auth/login", json=ATTEMPT, timeout=10).status_code for _ in range(count)
    ]


def test_two_api_processes_share_one_login_budget(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = redis.Redis(host="127.0.0.1", port=6379, db=REDIS_DB)
    store.flushdb()
    monkeypatch.setenv("CLEARLINE_RATE_LIMIT_STORAGE", f"redis://127.0.0.1:6379/{REDIS_DB}")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with running_api(tmp_path / "a") as first, running_api(tmp_path / "b") as second:
        assert failed_logins(first.url, 6) == [401] * 6
        assert failed_logins(second.url, 4) == [401] * 4  # 10 in all: the budget is spent
        assert failed_logins(second.url, 1) == [429]
        assert failed_logins(first.url, 1) == [429]
    assert any(b"clearline" in key for key in store.scan_iter("*"))
    store.flushdb()


def test_the_limit_holds_in_memory_while_its_storage_is_down(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLEARLINE_RATE_LIMIT_STORAGE", f"redis://127.0.0.1:{free_port()}/0")  # nothing there
    with running_api(tmp_path) as api:
        statuses = failed_logins(api.url, 11)
    assert statuses[:10] == [401] * 10 and statuses[10] == 429
