"""Several remote-mode replicas behind one URL, as a load balancer would serve them, and a Redis to share.

- `RoundRobin`: an httpx2 transport that sends each HTTP request to the next replica's port on
  127.0.0.1 and keeps the Host header of the public URL (what a load balancer does); it notes
  which replica got which JSON-RPC method.
- `redis_server`: a throw-away `redis-server` (Debian's package; .ci/run installs it) on a free
  loopback port, no persistence. In CI a missing redis-server fails the test instead of skipping it.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest

from tests.integration.test_remote import free_port


class RoundRobin(httpx2.AsyncBaseTransport):
    """Request n goes to ports[n % len(ports)]; `served` lists (port, JSON-RPC method) in order."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.served: list[tuple[int, str]] = []
        self._next = 0
        self._inner = httpx2.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = self.ports[self._next % len(self.ports)]
        self._next += 1
        try:
            method = str(json.loads(request.content).get("method", "?"))
        except (ValueError, AttributeError, httpx2.RequestNotRead):
            method = request.method
        self.served.append((port, method))
        request.url = request.url.copy_with(host="127.0.0.1", port=port)  # Host header stays the public one
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()

    def ports_of(self, method: str) -> list[int]:
        return [port for port, m in self.served if m == method]


def redis_binary() -> str:
    found = shutil.which("redis-server")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("CI must install redis-server (see .ci/run)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    return found


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[str]:
    """redis://127.0.0.1:<port>/0 of a fresh redis-server, stopped after the test."""
    import redis

    binary, port = redis_binary(), free_port()
    log = open(tmp_path / "redis.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp_path)],
        stdout=log, stderr=log,
    )
    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError((tmp_path / "redis.log").read_text(errors="replace")) from None
                time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        client.close()
        process.terminate()
        process.wait(10)
        log.close()
