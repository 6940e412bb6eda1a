"""A scripted Microsoft Graph at the HTTP seam for tool tests, and a server built around it.

    graph = FakeGraph()
    graph.on("GET", r"/v1\\.0/me/drive/root/children$", {"value": [...]})
    server = tool_server(make_provider, settings, graph)

Answers are matched in the order they were added, by method and a regular expression
searched in the request's decoded path (or in the whole URL when `whole_url=True`).
An answer is JSON (200), an httpx.Response, or a function of the request returning one.
Every request is recorded with its body, so tests can assert paths, queries, headers
and payloads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from mcp import Client

from local_mcp.server import create_server

Answer = Any  # dict | list | httpx.Response | Callable[[httpx.Request], httpx.Response]


@dataclass
class _Route:
    method: str
    pattern: re.Pattern[str]
    whole_url: bool
    answer: Answer


class FakeGraph:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._routes: list[_Route] = []

    def on(self, method: str, pattern: str, answer: Answer, *, whole_url: bool = False) -> None:
        self._routes.append(_Route(method.upper(), re.compile(pattern), whole_url, answer))

    def handler(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        for route in self._routes:
            target = str(request.url) if route.whole_url else request.url.path
            if route.method == request.method and route.pattern.search(target):
                answer = route.answer
                if callable(answer):
                    return answer(request)  # type: ignore[no-any-return]
                if isinstance(answer, httpx.Response):
                    return answer
                return httpx.Response(200, json=answer)
        return error(404, "itemNotFound", f"no fake for {request.method} {request.url.path}")

    def sent(self, method: str | None = None, contains: str = "") -> list[httpx.Request]:
        """Requests so far, optionally only one method and URLs containing `contains` (decoded)."""
        return [
            r for r in self.requests
            if (method is None or r.method == method.upper()) and contains in r.url.path + "?" + _query(r)
        ]

    def last(self, method: str | None = None, contains: str = "") -> httpx.Request:
        found = self.sent(method, contains)
        assert found, f"no {method or ''} request containing {contains!r}; sent: {[str(r.url) for r in self.requests]}"
        return found[-1]


def _query(request: httpx.Request) -> str:
    return "&".join(f"{k}={v}" for k, v in request.url.params.multi_items())


def error(status: int, code: str, message: str = "nope") -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}}, headers={"request-id": "req-1"})


def params(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


def body_json(request: httpx.Request) -> Any:
    return json.loads(request.content)


def tool_server(make_provider: Callable[..., Any], settings: Any, graph: FakeGraph) -> Any:
    """The real server on a fake MSAL app (signs in on demand) and the fake Graph."""
    provider = make_provider(s=settings)
    client = httpx.AsyncClient(transport=httpx.MockTransport(graph.handler))
    return create_server(settings, tokens=provider, graph_http_client=client)


async def call(server: Any, tool: str, args: dict[str, Any]) -> Any:
    """One tool call through the SDK's in-memory client."""
    async with Client(server) as client:
        return await client.call_tool(tool, args)


def text_of(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def scopes_asked(app: Any) -> set[str]:
    """Short names of every scope the fake MSAL app handed out tokens for."""
    return {scope.rsplit("/", 1)[-1] for key in app.tokens for scope in key}
