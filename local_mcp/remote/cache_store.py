"""The OBO token cache, partitioned per user: in this process, or shared by replicas in Redis.

Every entry lives under its user's partition (`<tenant id>.<object id>`), so a lookup for one
user can never return another user's token. In Redis each value is encrypted (Fernet, key
derived from LOCAL_MCP_CACHE_KEY), names its partition inside the ciphertext (checked on read),
and expires with the token it holds (the TTL is never longer than the token's lifetime).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..config import Settings

logger = logging.getLogger(__name__)

REDIS_PREFIX = "local-mcp:obo:"
MAX_MEMORY_ENTRIES = 10_000


@dataclass(frozen=True)
class CachedToken:
    token: str = field(repr=False)
    expires_on: float


class TokenStore(Protocol):
    async def get(self, user: str, entry: str) -> CachedToken | None: ...

    async def put(self, user: str, entry: str, token: CachedToken) -> None: ...

    async def close(self) -> None: ...


class MemoryTokenStore:
    """One process: a dict keyed by (user partition, entry)."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], CachedToken] = {}

    async def get(self, user: str, entry: str) -> CachedToken | None:
        held = self._entries.get((user, entry))
        if held is not None and held.expires_on <= time.time():
            self._entries.pop((user, entry), None)
            return None
        return held

    async def put(self, user: str, entry: str, token: CachedToken) -> None:
        if len(self._entries) >= MAX_MEMORY_ENTRIES:
            now = time.time()
            self._entries = {k: v for k, v in self._entries.items() if v.expires_on > now}
        self._entries[(user, entry)] = token

    async def close(self) -> None:
        self._entries.clear()


class RedisTokenStore:
    """Replicas share one cache: redis-py, encrypted values, TTL = the token's remaining life."""

    def __init__(self, url: str, cache_key: str) -> None:
        import redis.asyncio
        from cryptography.fernet import Fernet

        self._redis = redis.asyncio.from_url(url, socket_timeout=5.0)
        self._fernet = Fernet(fernet_key(cache_key))

    def _key(self, user: str, entry: str) -> str:
        return f"{REDIS_PREFIX}{user}:{hashlib.sha256(entry.encode('utf-8')).hexdigest()}"

    async def get(self, user: str, entry: str) -> CachedToken | None:
        from cryptography.fernet import InvalidToken

        try:
            raw = await self._redis.get(self._key(user, entry))
        except Exception as exc:  # Redis down: behave like a miss (a new OBO request), say so
            logger.warning("Redis token cache unavailable (%s); asking Entra ID instead.", type(exc).__name__)
            return None
        if raw is None:
            return None
        try:
            data = json.loads(self._fernet.decrypt(raw))
        except (InvalidToken, ValueError):
            logger.warning("A Redis token cache entry could not be decrypted (another LOCAL_MCP_CACHE_KEY?); ignoring it.")
            return None
        if data.get("user") != user or data.get("entry") != entry or float(data["expires_on"]) <= time.time():
            return None
        return CachedToken(str(data["token"]), float(data["expires_on"]))

    async def put(self, user: str, entry: str, token: CachedToken) -> None:
        ttl = int(token.expires_on - time.time())
        if ttl <= 0:
            return
        value = self._fernet.encrypt(json.dumps(
            {"user": user, "entry": entry, "token": token.token, "expires_on": token.expires_on}).encode("utf-8"))
        try:
            await self._redis.set(self._key(user, entry), value, ex=ttl)
        except Exception as exc:
            logger.warning("Could not write to the Redis token cache (%s).", type(exc).__name__)

    async def close(self) -> None:
        await self._redis.aclose()


def fernet_key(cache_key: str) -> bytes:
    """A Fernet key (32 bytes, urlsafe base64) derived from LOCAL_MCP_CACHE_KEY with HKDF-SHA256."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    derived = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"local-mcp obo token cache").derive(
        cache_key.encode("utf-8"))
    return base64.urlsafe_b64encode(derived)


def open_store(settings: Settings) -> TokenStore:
    if settings.redis_url:
        return RedisTokenStore(settings.redis_url, settings.cache_key)
    return MemoryTokenStore()
