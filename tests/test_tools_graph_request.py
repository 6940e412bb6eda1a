"""graph_request through the SDK's in-memory client: what it sends, and everything it refuses."""

from __future__ import annotations

import re

import httpx
import pytest
from mcp import Client

from local_mcp.tools import graph_request
from tests.graph_fake import GRAPH, body_of, call, query, scopes_asked, text_of, tool_server



@pytest.fixture
def server(make_provider, settings, graph):
    def make(**changes):
        return tool_server(make_provider, settings.with_changes(**changes) if changes else settings, graph)

    return make


async def test_always_listed_read_only_by_default_and_destructive_with_writes(server):
    async with Client(server()) as client:
        tool = {t.name: t for t in (await client.list_tools()).tools}["graph_request"]
    assert tool.annotations.read_only_hint is True and not tool.annotations.destructive_hint  # not applicable to a read-only tool
    assert "GET only" in tool.description
    async with Client(server(allow_writes=True)) as client:
        tool = {t.name: t for t in (await client.list_tools()).tools}["graph_request"]
    assert tool.annotations.read_only_hint is False and tool.annotations.destructive_hint is True
    from local_mcp.tools._common import DECLARED

    assert DECLARED["graph_request"].write is False  # listed in read-only mode too


async def test_get_sends_the_path_query_and_only_the_scopes_given(server, graph, fake_app):
    graph.answer("GET", "/me/messages", {"value": [{"subject": "Hi"}],
                                         "@odata.nextLink": f"{GRAPH}/me/messages?$top=2&$skip=2"})
    result = await call(server(), "graph_request", {
        "path": "me/messages?$top=2", "query": {"$select": "subject"}, "scopes": ["Mail.Read"],
        "headers": {"consistencylevel": "eventual"},
    })
    assert not result.is_error, text_of(result)
    sent = graph.requests[0]
    assert query(sent) == {"$top": "2", "$select": "subject"}
    assert sent.headers["ConsistencyLevel"] == "eventual"
    assert scopes_asked(fake_app) == {"Mail.Read"}
    data = result.structured_content
    assert data["status"] == 200 and data["url"] == "/v1.0/me/messages" and data["method"] == "GET"
    assert data["body"]["value"] == [{"subject": "Hi"}] and data["truncated"] is False
    assert data["next_path"] == "/me/messages?$top=2&$skip=2"


async def test_a_url_inside_a_query_value_is_fine(server, graph):
    graph.answer("GET", "/me/drive/items", {"value": []})
    result = await call(server(), "graph_request", {"path": "/me/drive/items?$filter=webUrl eq 'https://contoso.example/a'", "scopes": ["Files.Read"]})
    assert not result.is_error, text_of(result)
    assert query(graph.requests[0]) == {"$filter": "webUrl eq 'https://contoso.example/a'"}
    assert graph.requests[0].url.host == "graph.example"


async def test_beta_switches_only_the_version_segment(server, graph):
    graph.answer("GET", re.compile(r"^https://graph\.example/beta/me$"), {"id": "oid-1"})
    result = await call(server(), "graph_request", {"path": "/me", "scopes": ["User.Read"], "api_version": "beta"})
    assert not result.is_error, text_of(result)
    assert str(graph.requests[0].url).startswith("https://graph.example/beta/me")


@pytest.mark.parametrize("path", [
    "https://evil.example/v1.0/me",
    "https://graph.example/v1.0/me",
    "//evil.example/v1.0/me",
    "http:evil",
    "/me/../../beta/me",
    "/me/%2e%2e/%2E%2E/x",
    "/me/%252e%252e/x",
    "/me//drive",
    "/me/%2F%2Fevil.example",
    "/v1.0/me",
    "/beta/me",
    "/me\\drive",
    "/me#fragment",
])
async def test_paths_that_could_leave_graph_are_refused_before_any_call(server, graph, fake_app, path):
    result = await call(server(), "graph_request", {"path": path, "scopes": ["User.Read"]})
    assert result.is_error, path
    assert graph.requests == [] and fake_app.calls == []


@pytest.mark.parametrize("scopes", [["openid"], ["https://graph.example/Mail.Read"], ["Mail Read"], ["Mail"], []])
async def test_scopes_must_be_graph_permission_names(server, graph, scopes):
    result = await call(server(), "graph_request", {"path": "/me", "scopes": scopes})
    assert result.is_error
    assert graph.requests == []


async def test_writes_are_refused_in_read_only_mode(server, graph, fake_app):
    for method in ("POST", "PATCH", "PUT", "DELETE"):
        result = await call(server(), "graph_request", {"path": "/me/messages/1", "method": method, "scopes": ["Mail.ReadWrite"]})
        assert result.is_error and "LOCAL_MCP_ALLOW_WRITES=1" in text_of(result)
    assert graph.requests == [] and fake_app.calls == []


async def test_writes_send_json_when_allowed(server, graph):
    graph.answer("PATCH", "/me/messages/m1", {"id": "m1", "isRead": True})
    graph.answer("DELETE", "/me/messages/m1", httpx.Response(204))
    srv = server(allow_writes=True, confirm_writes="model")  # no elicitation here: the user opted in to confirm=true
    patched = await call(srv, "graph_request", {"path": "/me/messages/m1", "method": "PATCH", "body": {"isRead": True}, "confirm": True,
                               "scopes": ["Mail.ReadWrite"], "headers": {"If-Match": 'W/"1"'}})
    assert not patched.is_error, text_of(patched)
    assert body_of(graph.requests[0]) == {"isRead": True}
    assert graph.requests[0].headers["Content-Type"] == "application/json" and graph.requests[0].headers["If-Match"] == 'W/"1"'
    deleted = await call(srv, "graph_request", {"path": "/me/messages/m1", "method": "DELETE", "scopes": ["Mail.ReadWrite"], "confirm": True})
    assert deleted.structured_content["status"] == 204 and deleted.structured_content["body"] is None


async def test_bodies_and_headers_are_checked(server, graph):
    srv = server(allow_writes=True)
    with_body = await call(srv, "graph_request", {"path": "/me", "body": {"x": 1}, "scopes": ["User.Read"]})
    assert with_body.is_error and "no body" in text_of(with_body)
    auth = await call(srv, "graph_request", {"path": "/me", "scopes": ["User.Read"], "headers": {"Authorization": "Bearer stolen"}})
    assert auth.is_error and "not allowed" in text_of(auth)
    assert graph.requests == []


async def test_big_answers_are_cut_and_flagged(server, graph):
    big = {"value": [{"id": str(n), "subject": "x" * 200} for n in range(1000)]}
    graph.answer("GET", "/me/messages", big)
    result = await call(server(), "graph_request", {"path": "/me/messages", "scopes": ["Mail.Read"]})
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data["truncated"] is True and data["body"] is None
    assert len(data["body_text"]) == graph_request.MAX_RESULT_CHARS and data["body_text"].startswith('{"value":[')


async def test_a_literal_plus_in_the_path_query_reaches_graph_as_plus(server, graph):
    # issue 9, bug 11: a time-zone offset must not turn into a space.
    graph.answer("GET", "/me/calendarView", {"value": []})
    result = await call(server(), "graph_request", {
        "path": "/me/calendarView?startDateTime=2026-03-02T09:00:00+01:00&endDateTime=2026-03-03T09:00:00%2B01:00",
        "query": {"$filter": "start/dateTime ge '2026-03-02T09:00:00+01:00'"}, "scopes": ["Calendars.Read"],
    })
    assert not result.is_error, text_of(result)
    sent = graph.requests[0]
    assert query(sent) == {"startDateTime": "2026-03-02T09:00:00+01:00", "endDateTime": "2026-03-03T09:00:00+01:00",
                           "$filter": "start/dateTime ge '2026-03-02T09:00:00+01:00'"}
    assert "%2B01:00" in sent.url.query.decode() and " " not in sent.url.query.decode()
