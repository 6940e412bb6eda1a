"""Minimal HTTPS plumbing: request/response value objects and a TLS server.

The emulator's endpoint code only ever sees a `Request` and returns a
`Response`, so it never touches sockets and stays easy to read and test.
The server is the stdlib `ThreadingHTTPServer` with TLS added per
connection; no web framework is needed for a dozen endpoints.
"""

from __future__ import annotations

import contextlib
import json
import socket
import ssl
import sys
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str  # still percent-encoded, without the query string
    query: dict[str, str]  # first value of each parameter, decoded
    headers: dict[str, str]  # keys lower-cased
    body: bytes = b""

    def form(self) -> dict[str, str]:
        """The body as application/x-www-form-urlencoded (first value of each)."""
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {key: values[0] for key, values in parsed.items()}

    def json(self) -> Any:
        """The body as JSON; raises ValueError when it is not."""
        return json.loads(self.body.decode("utf-8"))


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str | None = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    # A big body sent as it is produced (with its length known up front), never held whole.
    stream: Iterable[bytes] | None = None
    length: int | None = None

    @classmethod
    def of_json(
        cls,
        payload: Any,
        status: int = 200,
        headers: dict[str, str] | None = None,
        content_type: str = "application/json; charset=utf-8",
    ) -> Response:
        return cls(status, json.dumps(payload).encode("utf-8"), content_type, dict(headers or {}))

    @classmethod
    def of_html(cls, html: str, status: int = 200) -> Response:
        return cls(status, html.encode("utf-8"), "text/html; charset=utf-8")

    @classmethod
    def redirect(cls, location: str) -> Response:
        return cls(302, b"", None, {"Location": location})


App = Callable[[Request], Response]


def parse_request(method: str, raw_path: str, headers: dict[str, str], body: bytes) -> Request:
    parts = urlsplit(raw_path)
    query = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
    return Request(method, parts.path or "/", query, headers, body)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 so that requests/httpx can keep connections alive; a TLS
    # handshake per call would dominate benchmark timings.
    protocol_version = "HTTP/1.1"
    server_version = "local-mcp-emulator"
    # An idle keep-alive connection must not pin a worker thread forever.
    timeout = 30
    # Buffer the response so headers and body leave in one segment: written
    # separately, Nagle's algorithm and the client's delayed ACK add ~40 ms.
    wbufsize = 64 * 1024
    server: _TLSServer

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        headers = {k.lower(): v for k, v in self.headers.items()}
        request = parse_request(self.command, self.path, headers, body)
        try:
            response = self.server.app(request)
        except Exception as exc:  # a bug in the emulator must not kill the connection silently
            print(f"emulator: unhandled error for {self.command} {self.path}: {exc!r}", file=sys.stderr)
            response = Response.of_json({"error": "emulator_bug", "error_description": repr(exc)}, 500)
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        streamed = response.stream is not None and response.length is not None
        self.send_header("Content-Length", str(response.length if streamed else len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            if streamed:
                for chunk in response.stream or ():
                    self.wfile.write(chunk)
            else:
                self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the emulator is quiet; tests read emu.counts instead


class _TLSServer(ThreadingHTTPServer):
    daemon_threads = True
    # With keep-alive, worker threads may sit waiting on idle clients; do not
    # let server_close() join them (stop() closes their sockets instead).
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: App, ssl_context: ssl.SSLContext) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.ssl_context = ssl_context
        self._connections: set[ssl.SSLSocket] = set()
        self._connections_lock = threading.Lock()

    def finish_request(self, request: socket.socket, client_address: Any) -> None:  # type: ignore[override]
        # The TLS handshake happens here, in the per-connection worker thread,
        # rather than in accept(): a client stuck mid-handshake (or one that
        # rejects our certificate) then cannot stall the accept loop.
        request.settimeout(_Handler.timeout)
        request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            conn = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        with self._connections_lock:
            self._connections.add(conn)
        try:
            _Handler(conn, client_address, self)
        except (ssl.SSLError, OSError):
            pass  # client went away mid-request
        finally:
            with self._connections_lock:
                self._connections.discard(conn)
            conn.close()

    def close_connections(self) -> None:
        with self._connections_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):  # already closed by the client
                conn.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # broken client connections are normal in tests; do not spam stderr


class HTTPSServer:
    """Serves `app` over HTTPS on 127.0.0.1 from a background thread."""

    def __init__(self, app: App, ssl_context: ssl.SSLContext, port: int = 0) -> None:
        self._server = _TLSServer(("127.0.0.1", port), app, ssl_context)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
            name="emulator-https", daemon=True,
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.close_connections()
        self._server.server_close()
        self._thread.join(timeout=5)
