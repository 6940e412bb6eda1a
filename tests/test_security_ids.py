"""Issue 10, "Paths, ids and cursors": every id argument of every tool, found from tools/list.

Each argument named *_id (and `user`, `mailbox`) of every listed tool is given '.', '..' and
their encodings; the call must fail with a reason, and no request with a '.' or '..' path
segment may reach Graph (checked at the HTTP seam, so a new tool is covered without a line here).
"""

from __future__ import annotations

import re
from urllib.parse import unquote

import httpx
import pytest
from mcp import Client

from tests.graph_fake import text_of, tool_server
from tests.test_security_confirm import ANYTHING, write_calls

BAD_IDS = ["..", "%2e%2e", "%252E%252e", "..%2Fmessages", " . "]
ID_NAMES = re.compile(r"(_id|^user|^mailbox)$")


@pytest.fixture
def writes(settings, tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "report.txt").write_text("numbers")
    return settings.with_changes(allow_writes=True, confirm_writes="model", download_dir=tmp_path / "downloads",
                                 upload_dirs=(uploads,))


def filler(schema: dict) -> object:
    kind = schema.get("type") or next((s.get("type") for s in schema.get("anyOf", []) if s.get("type") != "null"), "string")
    if "enum" in schema:
        return schema["enum"][0]
    return {"string": "x1", "array": ["megan@contoso.example"], "integer": 5, "number": 5, "boolean": False,
            "object": {}}.get(kind, "x1")


def dotted(request) -> bool:
    return any(part.strip() in (".", "..") for segment in request.url.raw_path.decode().split("?")[0].split("/")
               for part in re.split(r"[/\\]", unquote(unquote(unquote(segment)))))


async def test_dot_ids_are_refused_in_every_id_argument_of_every_tool(make_provider, graph, writes):
    graph.answer("GET", re.compile(r".*"), ANYTHING)
    for method in ("POST", "PATCH", "PUT", "DELETE"):
        graph.answer(method, re.compile(r".*"), ANYTHING)
    known = write_calls(str(writes.upload_dirs[0] / "report.txt"))
    checked: list[str] = []
    async with Client(tool_server(make_provider, writes, graph)) as client:
        for tool in (await client.list_tools()).tools:
            properties = tool.input_schema.get("properties", {})
            base = {name: filler(properties[name]) for name in tool.input_schema.get("required", [])}
            base.update(known.get(tool.name, {}))
            if "confirm" in properties:
                base["confirm"] = True
            for name in (n for n in properties if ID_NAMES.search(n)):
                for bad in BAD_IDS:
                    arguments = {**base, name: bad}
                    if name == "drive_id":
                        arguments.setdefault("item_id", "x1")
                    result = await client.call_tool(tool.name, arguments)
                    assert result.is_error, (tool.name, name, bad, text_of(result))
                    assert "Error executing tool" not in text_of(result) or len(text_of(result)) < 600
                checked.append(f"{tool.name}.{name}")
    assert [f"{r.method} {r.url.raw_path.decode()}" for r in graph.requests if dotted(r)] == []
    # the sweep reached the id arguments of every area
    for expected in ("get_message.message_id", "get_file.item_id", "get_file.drive_id", "list_files.folder_id",
                     "get_event.event_id", "get_user.user", "list_messages.mailbox", "update_task.list_id",
                     "download_attachment.attachment_id", "move_message.message_id"):
        assert expected in checked, (expected, checked)


# ----- results are bounded ---------------------------------------------------------------------------


async def test_any_single_string_from_graph_is_cut_and_marked_truncated(make_provider, graph, writes):
    from local_mcp.tools.bounds import MAX_FIELD_CHARS
    from tests.graph_fake import page

    huge = "S" * 200_000
    message = {"id": "m1", "subject": huge, "categories": ["ok", huge],
               "from": {"emailAddress": {"address": "a@contoso.example", "name": huge}},
               "body": {"contentType": "text", "content": "short"}}
    graph.answer("GET", "/me/messages", page([message]))
    graph.answer("GET", "/me/messages/m1", message)
    graph.answer("GET", "/me/drive/root/children", page([{"id": "f1", "name": huge, "file": {}}]))
    async with Client(tool_server(make_provider, writes, graph)) as client:
        results = [await client.call_tool("list_messages", {}), await client.call_tool("get_message", {"message_id": "m1"}),
                   await client.call_tool("list_files", {})]
    for result in results:
        assert not result.is_error, text_of(result)
        assert len(text_of(result)) < 4 * MAX_FIELD_CHARS and "S" * (MAX_FIELD_CHARS + 1) not in str(result.structured_content)
    [listed] = results[0].structured_content["messages"]
    assert listed["truncated"] is True and listed["subject"].endswith(" …")
    got = results[1].structured_content
    assert got["truncated"] is True and len(got["subject"]) == MAX_FIELD_CHARS + 2
    assert got["sender"]["truncated"] is True and got["sender"]["name"].endswith(" …")
    assert results[2].structured_content["files"][0]["truncated"] is True


async def test_an_id_echoed_in_an_error_is_shortened(make_provider, graph, writes):
    long_id = "AAMk" + "Q" * 900
    graph.answer("GET", re.compile(r"/me/messages/AAMk"), httpx.Response(404, json={"error": {
        "code": "ErrorItemNotFound", "message": f"The item {long_id} was not found in the store."}}))
    async with Client(tool_server(make_provider, writes, graph)) as client:
        result = await client.call_tool("get_message", {"message_id": long_id})
        raw = await client.call_tool("graph_request", {"path": "/me/" + "x" * 3000, "scopes": ["User.Read"]})
    text = text_of(result)
    assert result.is_error and "404" in text and "ErrorItemNotFound" in text, text
    assert "Q" * 41 not in text and len(text) < 800, text
    assert raw.is_error and "x" * 100 not in text_of(raw), text_of(raw)


async def test_limit_holds_on_a_cursor_page_whose_link_has_no_top(make_provider, graph, writes):
    from tests.graph_fake import page, query

    item = {"id": "f1", "name": "a.txt", "file": {}}
    graph.answer("GET", "/me/drive/root/children", page([item], "/me/drive/root/children?$skiptoken=abc"))
    async with Client(tool_server(make_provider, writes, graph)) as client:
        first = await client.call_tool("list_files", {"limit": 1})
        cursor = first.structured_content["page"]["cursor"]
        second = await client.call_tool("list_files", {"cursor": cursor, "limit": 3})
    assert not second.is_error, text_of(second)
    sent = query(graph.sent("GET", "/me/drive/root/children")[-1])
    assert sent["$skiptoken"] == "abc" and sent["$top"] == "3"


async def test_a_content_download_follows_a_redirect_to_another_host_without_the_token(make_provider, graph, writes):
    graph.answer("GET", "/me/drive/items/f1", {"id": "f1", "name": "a.bin", "size": 5, "file": {}})
    graph.answer("GET", "/me/drive/items/f1/content",
                 httpx.Response(302, headers={"Location": "https://files.other.example/dl/1?sig=x"}))
    graph.answer("GET", re.compile(r"^https://files\.other\.example/dl/1$"), content=b"hello")
    async with Client(tool_server(make_provider, writes, graph)) as client:
        result = await client.call_tool("download_file", {"item_id": "f1"})
    assert not result.is_error, text_of(result)
    assert (writes.download_dir / "a.bin").read_bytes() == b"hello"
    content = graph.last("GET", "/me/drive/items/f1/content")
    followed = graph.last("GET", re.compile(r"files\.other\.example"))
    assert content.headers["Authorization"].startswith("Bearer ") and "Authorization" not in followed.headers
