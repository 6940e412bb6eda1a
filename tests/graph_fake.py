"""A scripted Microsoft Graph at the HTTP seam (httpx.MockTransport) for tool unit tests.

Answers are queued per (method, path as sent, percent-encoding included); the
last answer for a path repeats. Every request is recorded, so a test can check
the path, query, headers and JSON body the tool sent.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from mcp import Client
from mcp_types import ElicitResult

from local_mcp.server import create_server
from tests.fakes import FakeApp

GRAPH = "https://graph.example/v1.0"


class FakeGraph:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._answers: dict[tuple[str, str], list[httpx.Response]] = {}

    def answer(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        status: int = 200,
        content: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Queue an answer for `method` `path` (relative to /v1.0, as sent)."""
        if content is not None:
            response = httpx.Response(status, content=content, headers=headers)
        elif body is None:
            response = httpx.Response(status, headers=headers)
        else:
            response = httpx.Response(status, json=body, headers=headers)
        self._answers.setdefault((method.upper(), path), []).append(response)

    def fail(self, method: str, path: str, status: int, code: str, message: str = "Denied.") -> None:
        self.answer(method, path, {"error": {"code": code, "message": message}}, status=status,
                    headers={"request-id": "req-42"})

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.raw_path.decode("ascii").split("?", 1)[0].removeprefix("/v1.0")
        queue = self._answers.get((request.method, path))
        if not queue:
            return httpx.Response(404, json={"error": {"code": "ErrorItemNotFound", "message": f"no answer for {path}"}})
        return queue.pop(0) if len(queue) > 1 else queue[0]

    # ----- what the tool sent ------------------------------------------------------------

    def sent(self, method: str | None = None, path: str | None = None) -> list[httpx.Request]:
        return [
            r for r in self.requests
            if (method is None or r.method == method)
            and (path is None or r.url.raw_path.decode("ascii").split("?", 1)[0] == "/v1.0" + path)
        ]

    def only(self, method: str, path: str) -> httpx.Request:
        found = self.sent(method, path)
        assert len(found) == 1, [str(r.url) for r in self.requests]
        return found[0]


def query(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def page(items: list[Any], next_path: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"value": items}
    if next_path:
        body["@odata.nextLink"] = GRAPH + next_path
    return body


@asynccontextmanager
async def connect(make_provider, graph: FakeGraph, settings, app: FakeApp, **client_args: Any) -> AsyncIterator[Client]:
    """The server on a fake MSAL app and this fake Graph, through the SDK's in-memory client."""
    provider = make_provider(s=settings, app=app)
    http = httpx.AsyncClient(transport=httpx.MockTransport(graph.handler))
    async with Client(create_server(settings, tokens=provider, graph_http_client=http), **client_args) as client:
        yield client


def text_of(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def person(name: str, address: str) -> dict[str, Any]:
    return {"emailAddress": {"name": name, "address": address}}


def accept(seen: list[Any]) -> Any:
    """An elicitation callback: the user says yes (each request is kept in `seen`)."""

    async def callback(context: Any, params: Any) -> ElicitResult:
        seen.append(params)
        return ElicitResult(action="accept", content={"confirm": True})

    return callback
