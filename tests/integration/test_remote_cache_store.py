"""The OBO token store against a real redis-server: partitions, encryption, TTL, Redis going away."""

from __future__ import annotations

import time

import pytest
import redis

from local_mcp.remote.cache_store import REDIS_PREFIX, CachedToken, MemoryTokenStore, RedisTokenStore
from tests.integration.replicas import redis_server  # noqa: F401 - the fixture
from tests.integration.test_remote import free_port

pytestmark = pytest.mark.integration

KEY = "k" * 40
ADELE, GRACE = "tid-1.oid-adele", "tid-1.oid-grace"
ENTRY = "https://graph.microsoft.com User.Read"


async def test_an_entry_copied_into_another_users_key_is_not_served(redis_server: str) -> None:  # noqa: F811
    store = RedisTokenStore(redis_server, KEY)
    raw = redis.Redis.from_url(redis_server)
    try:
        await store.put(ADELE, ENTRY, CachedToken("adele-graph-token", time.time() + 3600))
        assert (await store.get(ADELE, ENTRY)) == CachedToken("adele-graph-token", pytest.approx(time.time() + 3600, abs=5))
        assert await store.get(GRACE, ENTRY) is None
        (adele_key,) = raw.keys(f"{REDIS_PREFIX}{ADELE}:*")
        value = raw.get(adele_key)
        assert value is not None and b"adele-graph-token" not in value
        raw.set(adele_key.replace(ADELE.encode(), GRACE.encode()), value)  # someone with Redis access moves it
        assert await store.get(GRACE, ENTRY) is None  # the partition inside the ciphertext says Adele
        assert await store.get(ADELE, "https://graph.microsoft.com Mail.Send") is None
    finally:
        raw.close()
        await store.close()


async def test_ttl_never_outlives_the_token_and_expired_ones_are_not_written(redis_server: str) -> None:  # noqa: F811
    store = RedisTokenStore(redis_server, KEY)
    raw = redis.Redis.from_url(redis_server)
    try:
        await store.put(ADELE, ENTRY, CachedToken("short", time.time() + 90))
        (key,) = raw.keys(f"{REDIS_PREFIX}*")
        assert 0 < raw.ttl(key) <= 90
        await store.put(GRACE, ENTRY, CachedToken("stale", time.time() - 1))
        assert raw.keys(f"{REDIS_PREFIX}{GRACE}:*") == []
    finally:
        raw.close()
        await store.close()


async def test_redis_unreachable_is_a_miss_not_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    store = RedisTokenStore(f"redis://127.0.0.1:{free_port()}/0", KEY)  # nothing listens there
    try:
        await store.put(ADELE, ENTRY, CachedToken("t", time.time() + 3600))
        assert await store.get(ADELE, ENTRY) is None
    finally:
        await store.close()
    assert "Redis token cache unavailable" in caplog.text


async def test_memory_store_keeps_users_apart_and_drops_expired_entries() -> None:
    store = MemoryTokenStore()
    await store.put(ADELE, ENTRY, CachedToken("adele", time.time() + 3600))
    await store.put(GRACE, ENTRY, CachedToken("old", time.time() - 1))
    assert (await store.get(ADELE, ENTRY)).token == "adele"  # type: ignore[union-attr]
    assert await store.get(GRACE, ENTRY) is None
