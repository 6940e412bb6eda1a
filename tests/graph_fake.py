"""A scripted Microsoft Graph at the HTTP seam (httpx.MockTransport), for the tool unit tests.

    graph = FakeGraph()
    graph.answer("GET", "/me/messages", page([...]))                     # an exact path under /v1.0
    graph.answer("GET", re.compile(r"/children$"), lambda request: ...)   # or a pattern
    graph.fail("GET", "/me/manager", 403, "ErrorAccessDenied")
    server = tool_server(make_provider, settings, graph)                # the real server on it
    ...
    assert query(graph.only("GET", "/me/messages"))["$top"] == "10"

`where` (in answer, fail, sent, only, last) is either a string, the path exactly as sent
under the Graph root /v1.0 (percent-encoding included, no query), or a compiled pattern
searched in the decoded URL without its query ("https://graph.example/v1.0/me/drive/root:/a b:"),
which also reaches /beta and other hosts. Routes are tried in the order they were added;
the answers added for one route are given in turn, and the last one repeats. An answer is
JSON (sent with `status` and `headers`; or raw `content`; or nothing), an httpx.Response,
or a function of the request returning one. A request nothing answers gets a 404. Every
request is recorded, body read, so a test can check paths, queries, headers and payloads.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

import httpx
from mcp import Client
from mcp_types import ElicitResult

from local_mcp.server import create_server

GRAPH = "https://graph.example/v1.0"
Where = str | re.Pattern[str]


def _at(where: Where | None, request: httpx.Request) -> bool:
    url = request.url
    if where is None:
        return True
    if isinstance(where, str):
        return url.raw_path.decode("ascii").split("?", 1)[0] == "/v1.0" + where
    return where.search(f"{url.scheme}://{url.netloc.decode('ascii')}{url.path}") is not None


class FakeGraph:
    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []
        self._routes: list[tuple[str, Where, list[Any]]] = []

    def answer(self, method: str, where: Where, reply: Any = None, *, status: int = 200,
               content: bytes | None = None, headers: dict[str, str] | None = None) -> None:
        """Answer `method` `where` with `reply`, once the answers already queued there are given."""
        if not (callable(reply) or isinstance(reply, httpx.Response)):
            if content is not None or reply is None:
                reply = httpx.Response(status, content=content, headers=headers)
            else:
                reply = httpx.Response(status, json=reply, headers=headers)
        for route_method, route_where, replies in self._routes:
            if (route_method, route_where) == (method.upper(), where):
                replies.append(reply)
                return
        self._routes.append((method.upper(), where, [reply]))

    def fail(self, method: str, where: Where, status: int, code: str, message: str = "Denied.") -> None:
        self.answer(method, where, error(status, code, message))

    def handler(self, request: httpx.Request) -> httpx.Response:
        request.read()
        self.requests.append(request)
        for method, where, replies in self._routes:
            if method == request.method and _at(where, request):
                reply = replies.pop(0) if len(replies) > 1 else replies[0]
                return reply(request) if callable(reply) else reply
        return error(404, "itemNotFound", f"no answer for {request.method} {request.url}")

    # ----- what the tool sent ------------------------------------------------------------

    def sent(self, method: str | None = None, where: Where | None = None) -> list[httpx.Request]:
        return [r for r in self.requests if (method is None or r.method == method.upper()) and _at(where, r)]

    def only(self, method: str, where: Where) -> httpx.Request:
        found = self.sent(method, where)
        assert len(found) == 1, [str(r.url) for r in self.requests]
        return found[0]

    def last(self, method: str | None = None, where: Where | None = None) -> httpx.Request:
        found = self.sent(method, where)
        assert found, f"no {method or ''} request to {where!r}; sent: {[str(r.url) for r in self.requests]}"
        return found[-1]


def error(status: int, code: str, message: str = "Denied.") -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": message}}, headers={"request-id": "req-42"})


def query(request: httpx.Request) -> dict[str, str]:
    return dict(request.url.params)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


def page(items: list[Any], next_path: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"value": items}
    if next_path:
        body["@odata.nextLink"] = GRAPH + next_path
    return body


def person(name: str, address: str) -> dict[str, Any]:
    return {"emailAddress": {"name": name, "address": address}}


def tool_server(make_provider: Callable[..., Any], settings: Any, graph: FakeGraph, app: Any = None) -> Any:
    """The real server on a fake MSAL app (`app`, or the test's; signs in on demand) and this fake Graph."""
    provider = make_provider(s=settings, app=app)
    http = httpx.AsyncClient(transport=httpx.MockTransport(graph.handler))
    return create_server(provider.settings, tokens=provider, graph_http_client=http)


async def call(server: Any, tool: str, args: dict[str, Any]) -> Any:
    """One tool call through the SDK's in-memory client."""
    async with Client(server) as client:
        return await client.call_tool(tool, args)


def text_of(result: Any) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def scopes_asked(app: Any) -> set[str]:
    """Short names of every scope the fake MSAL app handed out tokens for."""
    return {scope.rsplit("/", 1)[-1] for key in app.tokens for scope in key}


def is_sign_in_link(params: Any) -> bool:
    """A URL elicitation: the sign-in address shown to the person, not a question about a write."""
    return getattr(params, "mode", None) == "url"


def accept(seen: list[Any]) -> Any:
    """An elicitation callback: the user says yes to each question (kept in `seen`); a sign-in link
    (a URL elicitation, sent while a browser sign-in runs) is acknowledged and not counted."""

    async def callback(context: Any, params: Any) -> ElicitResult:
        if is_sign_in_link(params):
            return ElicitResult(action="accept")
        seen.append(params)
        return ElicitResult(action="accept", content={"confirm": True})

    return callback
