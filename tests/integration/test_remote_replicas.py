"""Two remote-mode processes on different ports behind one URL, sharing one Redis (a real redis-server).

One client's requests alternate between the replicas (tests/integration/replicas.py); the second
replica finds the OBO token the first one put in Redis, so Entra ID is asked once per user. The
Redis entries are encrypted with LOCAL_MCP_CACHE_KEY and expire no later than the token inside.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
import redis
from cryptography.fernet import Fernet
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from local_mcp.remote.cache_store import REDIS_PREFIX, fernet_key
from tests.emulator import Emulator, EmulatorUser
from tests.emulator.obo import ApiRegistration
from tests.integration.replicas import RoundRobin, redis_server  # noqa: F401 - the fixture
from tests.integration.test_remote import API_CLIENT_ID, SECRET, free_port, start_server

pytestmark = pytest.mark.integration


class Replicas:
    def __init__(self, emu: Emulator, api: ApiRegistration, url: str, ports: list[int], root: Path, key: str) -> None:
        self.emu, self.api, self.url, self.ports, self.root, self.cache_key = emu, api, url, ports, root, key

    def log(self, port: int) -> str:
        return (self.root / f"server-{port}.log").read_text(errors="replace")

    async def call(self, token: str, balancer: RoundRobin, tool: str, arguments: dict | None = None) -> tuple[bool, str]:
        http = httpx2.AsyncClient(transport=balancer, headers={"Authorization": f"Bearer {token}"}, timeout=60)
        async with http, Client(streamable_http_client(self.url, http_client=http)) as client:
            result = await client.call_tool(tool, arguments or {})
            return bool(result.is_error), " ".join(getattr(block, "text", "") for block in result.content)


@pytest.fixture
def replicas(tmp_path: Path, redis_server: str) -> Iterator[Replicas]:  # noqa: F811 - the fixture
    cache_key = secrets.token_urlsafe(32)
    with Emulator() as emu:
        ports = [free_port(), free_port()]
        url = f"http://127.0.0.1:{ports[0]}/mcp"  # the public URL; both replicas serve it
        api = emu.identity.obo.register_api(API_CLIENT_ID, url, secret=SECRET)
        shared = {"LOCAL_MCP_SERVER_URL": url, "LOCAL_MCP_REDIS_URL": redis_server, "LOCAL_MCP_CACHE_KEY": cache_key}
        processes = []
        try:
            for port in ports:
                processes.append(start_server(emu, tmp_path, port, **shared))
            yield Replicas(emu, api, url, ports, tmp_path, cache_key)
        finally:
            for process in processes:
                process.terminate()
                process.wait(10)


async def test_alternating_replicas_share_one_obo_token_through_redis(replicas: Replicas, redis_server: str) -> None:  # noqa: F811
    emu, api = replicas.emu, replicas.api
    token = api.user_token()
    balancer = RoundRobin(replicas.ports)
    for _ in range(4):
        failed, text = await replicas.call(token, balancer, "whoami")
        assert not failed and "adele@contoso.example" in text, text
    assert set(balancer.ports_of("tools/call")) == set(replicas.ports)  # both replicas served this user
    assert emu.counts["token.obo"] == 1  # the second replica asked Entra ID for nothing
    for port in replicas.ports:
        assert f"user={emu.user.oid} tool=whoami status=ok" in replicas.log(port)

    grace = EmulatorUser(name="Grace Hopper", email="grace@contoso.example", oid=str(uuid.uuid4()), tid=emu.user.tid)
    for _ in range(2):
        failed, text = await replicas.call(api.user_token(grace), balancer, "whoami")
        assert not failed and "grace@contoso.example" in text, text
    assert emu.counts["token.obo"] == 2  # one per user

    store = redis.Redis.from_url(redis_server)
    try:
        keys = sorted(k.decode() for k in store.keys(f"{REDIS_PREFIX}*"))
        assert [k.split(":")[2] for k in keys] == sorted(f"{u.tid}.{u.oid}" for u in (emu.user, grace))
        graph_tokens = set(emu.identity.obo.graph_tokens_seen)
        fernet = Fernet(fernet_key(replicas.cache_key))
        for key in keys:
            raw = store.get(key)
            assert raw is not None and b"eyJ" not in raw and b"access" not in raw  # no JWT, no JSON in clear
            entry = json.loads(fernet.decrypt(raw))
            assert hashlib.sha256(entry["token"].encode()).hexdigest() in graph_tokens  # the token Graph received
            ttl = store.ttl(key)
            assert 0 < ttl <= emu.token_lifetime
            assert ttl <= entry["expires_on"] - (store.time()[0]) + 1  # never outlives the token inside
    finally:
        store.close()


async def test_redis_entries_written_under_another_key_are_not_used(replicas: Replicas, redis_server: str) -> None:  # noqa: F811
    """A replica with another LOCAL_MCP_CACHE_KEY cannot read the entries: it asks Entra ID again."""
    emu, api = replicas.emu, replicas.api
    token = api.user_token()
    balancer = RoundRobin(replicas.ports[:1])
    assert not (await replicas.call(token, balancer, "whoami"))[0]
    assert emu.counts["token.obo"] == 1
    other = free_port()
    process = start_server(emu, replicas.root, other, LOCAL_MCP_SERVER_URL=replicas.url,
                           LOCAL_MCP_REDIS_URL=redis_server, LOCAL_MCP_CACHE_KEY=secrets.token_urlsafe(32))
    try:
        failed, text = await replicas.call(token, RoundRobin([other]), "whoami")
        assert not failed and "adele@contoso.example" in text, text
        assert emu.counts["token.obo"] == 2
        assert "could not be decrypted" in replicas.log(other)
    finally:
        process.terminate()
        process.wait(10)


async def test_uvicorn_workers_from_the_app_factory_share_redis(tmp_path: Path, redis_server: str) -> None:  # noqa: F811
    """README's recipe: `uvicorn --factory local_mcp.remote.http_app:create_app --workers 2`, settings from env."""
    import subprocess
    import sys
    import time

    import httpx

    from tests.integration.conftest import base_env

    with Emulator() as emu:
        port = free_port()
        url = f"http://127.0.0.1:{port}/mcp"
        api = emu.identity.obo.register_api(API_CLIENT_ID, url, secret=SECRET)
        env = {**base_env(emu, tmp_path), "LOCAL_MCP_CLIENT_ID": API_CLIENT_ID, "LOCAL_MCP_TENANT_ID": emu.user.tid,
               "LOCAL_MCP_SERVER_URL": url, "LOCAL_MCP_CLIENT_SECRET": SECRET, "LOCAL_MCP_REDIS_URL": redis_server,
               "LOCAL_MCP_CACHE_KEY": secrets.token_urlsafe(32)}  # LOCAL_MCP_TRANSPORT unset: the factory means http
        log_path = tmp_path / "uvicorn.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "uvicorn", "--factory", "local_mcp.remote.http_app:create_app",
                 "--host", "127.0.0.1", "--port", str(port), "--workers", "2"], env=env, stdout=log, stderr=log)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                assert process.poll() is None and time.monotonic() < deadline, log_path.read_text(errors="replace")
                time.sleep(0.2)
            replicas = Replicas(emu, api, url, [port], tmp_path, "")
            for _ in range(3):
                failed, text = await replicas.call(api.user_token(), RoundRobin([port]), "whoami")
                assert not failed and "adele@contoso.example" in text, text
            assert emu.counts["token.obo"] == 1
        finally:
            process.terminate()
            process.wait(20)
