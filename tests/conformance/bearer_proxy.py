"""A loopback reverse proxy that adds `Authorization: Bearer <token>` to every request.

Why: the official conformance suite (`@modelcontextprotocol/conformance server --url`) has no
option to send a header, and remote mode answers 401 without a bearer token. The proxy sits
between the two and changes nothing else: method, path, query, body and every other header go
through as sent (a Host or Origin naming the proxy itself is renamed to the server, so the
server's DNS-rebinding check still sees every *other* Host or Origin a scenario sends), and
the answer streams back unchanged (SSE included).
"""

from __future__ import annotations

import socket
import threading
from typing import Any

import httpx
import uvicorn

HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"upgrade", b"proxy-authorization",
              b"proxy-connection", b"content-length"}


class BearerProxy:
    """Serve on 127.0.0.1:<port> in a thread; forward to `upstream` (e.g. http://127.0.0.1:8000)."""

    def __init__(self, upstream: str, token: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.token = token
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = int(s.getsockname()[1])
        self.requests = 0
        self._server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                                     lifespan="off", interface="asgi3"))
        self._thread = threading.Thread(target=self._server.run, name="bearer-proxy", daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> BearerProxy:
        self._thread.start()
        for _ in range(200):
            if self._server.started:
                return self
            self._thread.join(0.05)
        raise RuntimeError("the bearer proxy did not start")

    def __exit__(self, *exc: object) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    def _rename(self, name: bytes, value: bytes) -> bytes:
        own_host = f"127.0.0.1:{self.port}".encode()
        upstream_host = self.upstream.split("://", 1)[1].encode()
        if name == b"host" and value == own_host:
            return upstream_host
        if name == b"origin" and value == b"http://" + own_host:
            return self.upstream.encode()
        return value

    async def app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        self.requests += 1
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = [(k, self._rename(k, v)) for k, v in scope["headers"] if k not in HOP_BY_HOP and k != b"authorization"]
        headers.append((b"authorization", f"Bearer {self.token}".encode()))
        url = self.upstream + scope["raw_path"].decode() + (f"?{scope['query_string'].decode()}" if scope["query_string"] else "")
        async with httpx.AsyncClient(timeout=httpx.Timeout(120, connect=10)) as client:
            request = client.build_request(scope["method"], url, headers=headers, content=body)
            response = await client.send(request, stream=True)
            try:
                out = [(k, v) for k, v in response.headers.raw if k.lower() not in HOP_BY_HOP]
                await send({"type": "http.response.start", "status": response.status_code, "headers": out})
                try:
                    async for chunk in response.aiter_raw():
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                except httpx.HTTPError:  # the server ended a stream early (e.g. at shutdown): end ours too
                    pass
                await send({"type": "http.response.body", "body": b"", "more_body": False})
            finally:  # also when the suite hangs up on a stream: close ours too
                await response.aclose()
