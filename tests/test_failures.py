"""Issue 10: every failure reaches the model with a reason and a next step.

Each case below ended, before, in the SDK's bare "Error executing tool X" (an exception no
tool body planned for): date overflow, a file name too long for the disk, a full disk, a
folder that may not be written, and Graph answers in shapes its documentation does not give.
"""

from __future__ import annotations

import errno
import re

import httpx
import pytest
from mcp import Client

from local_mcp.errors import DateRangeError, LocalFileError, UnexpectedAnswerError
from local_mcp.tools import _download
from local_mcp.tools._common import MAX_NAME_BYTES, safe_file_name
from local_mcp.tools.failures import explain
from tests.graph_fake import page, text_of, tool_server

BARE = re.compile(r"Error executing tool [a-z_]+(?![a-z_]|: )")


@pytest.fixture
def writes(settings, tmp_path):
    return settings.with_changes(allow_writes=True, download_dir=tmp_path / "downloads", confirm_writes="model")


@pytest.fixture
def client_for(make_provider, graph):
    def make(s):
        return Client(tool_server(make_provider, s, graph))

    return make


def reasoned(result, *words: str) -> str:
    text = text_of(result)
    assert result.is_error and not BARE.search(text), text
    for word in words:
        assert word in text, text
    return text


def drive_file(name: str, size: int = 5) -> dict:
    return {"id": "f1", "name": name, "size": size, "file": {"mimeType": "application/pdf"}}


# ----- dates -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("tool,args", [
    ("list_events", {"start": "9999-12-31T23:59:59"}),  # + the default 7-day window
    ("list_events", {"start": "9999-12-31T23:59:59-12:00"}),  # past 9999 once in UTC
    ("create_event", {"subject": "x", "start": "9999-12-31T22:00:00-05:00", "end": "9999-12-31T23:00:00-05:00", "confirm": True}),
    ("create_event", {"subject": "x", "start": "0001-01-01T00:00:00+14:00", "end": "0001-01-01T01:00:00", "confirm": True}),
    ("find_free_time", {"start": "9999-12-31T20:00:00"}),
])
async def test_a_date_past_year_9999_is_a_clear_error(client_for, graph, writes, tool, args):
    graph.answer("GET", "/me/mailboxSettings", {"timeZone": "UTC"})
    graph.answer("GET", "/me/calendar", {"owner": {"address": "adele@contoso.example"}})
    async with client_for(writes) as client:
        result = await client.call_tool(tool, args)
    text = text_of(result)
    assert result.is_error and not BARE.search(text), text
    assert "9999" in text and "year" in text, text
    assert graph.sent("POST") == []


def test_explain_names_the_date_range_for_overflow():
    assert isinstance(explain(OverflowError("date value out of range"), "list_events"), DateRangeError)
    assert isinstance(explain(ValueError("year 10000 is out of range"), "list_events"), DateRangeError)


# ----- files on this computer ------------------------------------------------------------------------


def test_file_names_are_cut_to_bytes_not_characters_keeping_the_extension():
    name = safe_file_name("é" * 300 + ".pdf")
    assert len(name.encode("utf-8")) <= MAX_NAME_BYTES and name.endswith(".pdf")
    assert safe_file_name("😀" * 100).encode("utf-8").decode("utf-8")  # never cut inside a character


async def test_a_very_long_multibyte_name_is_saved_under_a_shorter_one(client_for, graph, writes):
    long_name = "報告" * 120 + ".pdf"  # 240 characters, 724 bytes: over every file system's 255
    graph.answer("GET", "/me/drive/items/f1", drive_file(long_name))
    graph.answer("GET", "/me/drive/items/f1/content", content=b"%PDF-")
    async with client_for(writes) as client:
        result = await client.call_tool("download_file", {"item_id": "f1"})
    assert not result.is_error, text_of(result)
    saved = writes.download_dir / result.structured_content["path"].rsplit("/", 1)[-1]
    assert saved.read_bytes() == b"%PDF-" and saved.name.endswith(".pdf")


async def test_a_download_folder_path_too_long_is_a_clear_error(client_for, graph, writes, tmp_path):
    deep = tmp_path / ("d" * 250) / ("e" * 250) / ("f" * 300)  # one component over 255 bytes
    graph.answer("GET", "/me/drive/items/f1", drive_file("a.pdf"))
    graph.answer("GET", "/me/drive/items/f1/content", content=b"%PDF-")
    async with client_for(writes.with_changes(download_dir=deep)) as client:
        result = await client.call_tool("download_file", {"item_id": "f1"})
    reasoned(result, "too long", "LOCAL_MCP_DOWNLOAD_DIR")


@pytest.mark.parametrize("failure,words", [
    (OSError(errno.ENOSPC, "No space left on device"), ("disk is full", "nothing was saved")),
    (PermissionError(errno.EACCES, "Permission denied"), ("permission denied", "LOCAL_MCP_DOWNLOAD_DIR")),
    (OSError(errno.EIO, "Input/output error"), ("Input/output error", "try again")),
])
async def test_a_failing_disk_is_a_clear_error_and_leaves_no_partial_file(client_for, graph, writes, monkeypatch, failure, words):
    def broken(self, data):
        raise failure

    monkeypatch.setattr(_download.PendingFile, "write", broken)
    graph.answer("GET", "/me/drive/items/f1", drive_file("a.pdf"))
    graph.answer("GET", "/me/drive/items/f1/content", content=b"%PDF-")
    graph.answer("GET", "/me/messages/m1/attachments/a1", {"id": "a1", "name": "b.pdf", "size": 5,
                                                          "@odata.type": "#microsoft.graph.fileAttachment"})
    graph.answer("GET", "/me/messages/m1/attachments/a1/$value", content=b"%PDF-")
    async with client_for(writes) as client:
        download = await client.call_tool("download_file", {"item_id": "f1"})
        attachment = await client.call_tool("download_attachment", {"message_id": "m1", "attachment_id": "a1"})
    for result in (download, attachment):
        reasoned(result, *words)
    assert list(writes.download_dir.iterdir()) == []  # the temporary file is gone too


def test_explain_turns_os_errors_into_local_file_errors():
    error = explain(PermissionError(errno.EACCES, "Permission denied", "/x/y"), "download_file")
    assert isinstance(error, LocalFileError) and error.path == "/x/y" and "/x/y" in str(error)


# ----- Graph answers in shapes it does not document --------------------------------------------------


@pytest.mark.parametrize("reply", [
    httpx.Response(200, text="<html>not json</html>", headers={"content-type": "text/html"}),
    httpx.Response(200, json=[{"id": "m1"}]),
    httpx.Response(200, json={"items": []}),
    httpx.Response(200, json={"value": "not a list"}),
    httpx.Response(200),
])
async def test_a_list_answer_that_is_not_a_graph_collection_is_a_clear_error(client_for, graph, writes, reply):
    graph.answer("GET", "/me/messages", reply)
    async with client_for(writes) as client:
        result = await client.call_tool("list_messages", {})
    reasoned(result, "GET /me/messages", "Try again")


@pytest.mark.parametrize("reply", [
    httpx.Response(200, text="plain text"),
    httpx.Response(200, json=["a", "list"]),
    httpx.Response(200, json={"id": "m1", "subject": {"not": "a string"}, "from": "x", "toRecipients": "y", "body": 5}),
])
async def test_an_object_answer_of_the_wrong_shape_is_a_clear_error_or_read_leniently(client_for, graph, writes, reply):
    graph.answer("GET", "/me/messages/m1", reply)
    async with client_for(writes) as client:
        result = await client.call_tool("get_message", {"message_id": "m1"})
    if result.is_error:
        reasoned(result, "Graph")


async def test_a_search_answer_with_wrong_types_inside_is_a_clear_error(client_for, graph, writes):
    graph.answer("POST", "/search/query", {"value": ["a string where an object goes"]})
    async with client_for(writes) as client:
        result = await client.call_tool("search", {"query": "budget"})
    text = reasoned(result, "could not read Microsoft Graph's answer", "try again")
    assert "search.py:" in text  # where, for the bug report; never the values


def test_explain_calls_anything_else_an_unexpected_answer():
    error = explain(AttributeError("'str' object has no attribute 'get'"), "search")
    assert isinstance(error, UnexpectedAnswerError) and "search could not read" in str(error)


async def test_a_graph_page_with_a_good_shape_still_reads(client_for, graph, writes):
    graph.answer("GET", "/me/messages", page([{"id": "m1", "subject": "Hi"}]))
    async with client_for(writes) as client:
        result = await client.call_tool("list_messages", {})
    assert not result.is_error and result.structured_content["messages"][0]["id"] == "m1"
