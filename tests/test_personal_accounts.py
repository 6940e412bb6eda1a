"""Personal Microsoft accounts (issue 9, bug 14): tools Graph does not support for them say so."""

from __future__ import annotations

import base64
import json

import pytest

from local_mcp.tools.personal import MSA_TENANT
from tests.fakes import token_result
from tests.graph_fake import call, text_of, tool_server

CASES = [
    ("find_free_time", {"attendees": ["megan@outlook.com"]}, "Calendars.Read"),
    ("search", {"query": "falcon", "entity_type": "message"}, "Mail.Read"),
    ("get_manager", {}, "User.Read.All"),
]


def jwt(claims: dict) -> str:
    part = lambda data: base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")  # noqa: E731
    return f"{part({'alg': 'none'})}.{part(claims)}.sig"


@pytest.mark.parametrize(("tool", "args", "scope"), CASES)
async def test_unsupported_tools_say_so_for_a_personal_account(make_provider, settings, graph, fake_app, tool, args, scope):
    fake_app.interactive_results = [token_result([scope], token=jwt({"tid": MSA_TENANT, "scp": scope}))]
    server = tool_server(make_provider, settings, graph)
    result = await call(server, tool, args)
    assert result.is_error
    assert "personal Microsoft accounts" in text_of(result)
    assert not [r for r in graph.requests if "getSchedule" in str(r.url) or "/manager" in str(r.url)
                or "/search/query" in str(r.url)]


@pytest.mark.parametrize(("tool", "args", "scope"), CASES)
async def test_a_consumers_authority_with_an_opaque_token_counts_as_personal(make_provider, settings, graph, tool, args, scope):
    consumers = settings.with_changes(authority="https://login.example/consumers")
    server = tool_server(make_provider, consumers, graph)
    result = await call(server, tool, args)
    assert result.is_error and "personal Microsoft accounts" in text_of(result)


async def test_work_accounts_are_not_refused(make_provider, settings, graph):
    graph.answer("GET", "/me/manager", {"id": "u-1", "displayName": "Megan Bowen", "mail": "megan@contoso.example"})
    result = await call(tool_server(make_provider, settings, graph), "get_manager", {})
    assert not result.is_error, text_of(result)
