"""The text content is a compact rendering of the structured content, at most half its bytes on a page."""

from __future__ import annotations

import json

import pytest
from mcp import Client

from local_mcp.tools.render import render
from tests.graph_fake import page, person, text_of, tool_server
from tests.test_tools_calendar import EVENT
from tests.test_tools_files import item
from tests.test_tools_mail import SUMMARY


def _page_of(items, n=10):
    out = []
    for i in range(n):
        copy = json.loads(json.dumps(items))
        copy["id"] = f"AAMkAGEmu{i:032x}AAA="  # the emulator's id shape
        out.append(copy)
    return page(out, "/me/next?$skiptoken=abc")


CASES = [
    ("list_messages", {}, "GET", "/me/messages", SUMMARY),
    ("search_messages", {"query": "falcon"}, "GET", "/me/messages", SUMMARY),
    ("list_files", {}, "GET", "/me/drive/root/children", item("report.docx")),
    ("list_events", {"start": "2026-03-01T00:00:00Z", "end": "2026-03-08T00:00:00Z"}, "GET", "/me/calendarView", EVENT),
]


@pytest.mark.parametrize(("tool", "args", "verb", "path", "sample"), CASES, ids=[c[0] for c in CASES])
async def test_a_page_renders_in_at_most_half_the_bytes(make_provider, settings, graph, tool, args, verb, path, sample):
    graph.answer(verb, path, _page_of(sample))
    async with Client(tool_server(make_provider, settings, graph)) as client:
        result = await client.call_tool(tool, args)
    assert not result.is_error, text_of(result)
    structured = json.dumps(result.structured_content, separators=(",", ":"))
    text = text_of(result)
    assert len(text.encode()) <= len(structured.encode()) / 2, text
    assert text.count(result.structured_content["page"]["cursor"]) == 1  # the cursor, once
    items = next(v for v in result.structured_content.values() if isinstance(v, list))
    for entry in items:  # one line per item, with its id
        assert sum(entry["id"] in line for line in text.splitlines()) == 1


def test_render_shapes():
    text = render({
        "messages": [
            {"id": "m1", "subject": "Hi | there", "sender": {"name": "Megan", "email": "m@x.example"}, "received": "2026-03-02T09:15:00+00:00", "is_read": False, "note": None},
            {"id": "m2", "subject": "Again", "sender": {"name": "", "email": "a@x.example"}, "received": "2026-03-03T09:15:00+00:00", "is_read": True, "note": None},
        ],
        "page": {"has_more": False, "cursor": None},
    })
    assert text.splitlines() == [
        "messages (2), tab-separated: id\tsubject\tsender\treceived\tis_read",
        "m1\tHi | there\tMegan <m@x.example>\t2026-03-02 09:15+00:00\t",
        "m2\tAgain\ta@x.example\t2026-03-03 09:15+00:00\tyes",
    ]
    assert render({"subject": "Q3", "body": "line 1\nline 2", "to": [{"name": "A", "email": "a@x.example"}], "cc": []}) == (
        "subject: Q3\nbody:\nline 1\nline 2\nto: A <a@x.example>"
    )
    assert render({"page": {"has_more": True, "cursor": "abc"}, "files": []}) == "more: pass cursor=abc"


async def test_limit_publishes_its_bounds_and_zero_gets_our_message(make_provider, settings, graph):
    async with Client(tool_server(make_provider, settings, graph)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        for name in ("list_messages", "list_files", "list_events", "search_people", "search", "find_free_time"):
            schema = tools[name].input_schema["properties"]["limit"]
            assert (schema.get("minimum"), schema.get("maximum")) == (1, 50), name
        result = await client.call_tool("list_messages", {"limit": 0})
    assert result.is_error
    assert "`limit` must be at least 1 (got 0)" in text_of(result)


async def test_graph_request_schemas_have_no_empty_schema(make_provider, settings, graph):
    async with Client(tool_server(make_provider, settings, graph)) as client:
        tool = {t.name: t for t in (await client.list_tools()).tools}["graph_request"]

    def empties(node, path=""):
        if isinstance(node, dict):
            if path.rsplit("/", 1)[-1] != "properties" and (node == {} or set(node) <= {"description", "title", "default"}):
                yield path
            for key, value in node.items():
                yield from empties(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from empties(value, f"{path}[{i}]")

    assert list(empties(tool.input_schema)) == [] and list(empties(tool.output_schema)) == []


async def test_a_404_names_the_tool_that_finds_the_right_id(make_provider, settings, graph):
    graph.fail("GET", "/me/messages/nope", 404, "ErrorItemNotFound", "The specified object was not found in the store.")
    async with Client(tool_server(make_provider, settings, graph)) as client:
        result = await client.call_tool("get_message", {"message_id": "nope"})
    assert result.is_error and "To find the right id, call list_mail_folders" in text_of(result)
