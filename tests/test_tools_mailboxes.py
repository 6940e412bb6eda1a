"""The `mailbox` argument of the mail read tools: /users/{mailbox}/..., Mail.Read.Shared asked only then."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp.server.mcpserver.exceptions import ToolError

from local_mcp.tools.mailboxes import mailbox_root
from tests.fakes import FakeApp
from tests.graph_fake import page, person, query, scopes_asked, text_of, tool_server

DESK = "servicedesk@contoso.example"
MESSAGE = {"id": "M/1", "subject": "Laptop will not boot", "from": person("Alex Wilber", "alex@contoso.example"),
           "receivedDateTime": "2026-03-01T08:00:00Z", "isRead": False, "hasAttachments": False,
           "bodyPreview": "Blue screen", "body": {"contentType": "text", "content": "Blue screen since 8."}}


@pytest.fixture
def client_for(make_provider, graph, settings):
    app = FakeApp()

    def make():
        return Client(tool_server(make_provider, settings, graph, app))

    make.app = app  # type: ignore[attr-defined]
    return make


async def test_mail_tools_read_a_shared_mailbox_with_mail_read_shared_only(client_for, graph):
    graph.answer("GET", f"/users/{DESK}/messages", page([MESSAGE, {**MESSAGE, "id": "chat", "subject": "IM"}]))
    graph.answer("GET", f"/users/{DESK}/mailFolders/inbox/messages", page([MESSAGE]))
    graph.answer("GET", f"/users/{DESK}/messages/M%2F1", MESSAGE)
    graph.answer("GET", f"/users/{DESK}/mailFolders", page([{"id": "inbox", "displayName": "Inbox"}]))
    async with client_for() as client:
        listed = await client.call_tool("list_messages", {"mailbox": DESK})
        in_folder = await client.call_tool("search_messages", {"mailbox": DESK, "query": "laptop", "folder": "inbox"})
        one = await client.call_tool("get_message", {"mailbox": DESK, "message_id": "M/1"})
        folders = await client.call_tool("list_mail_folders", {"mailbox": " " + DESK + " "})
    for result in (listed, in_folder, one, folders):
        assert not result.is_error, text_of(result)
    assert [m["id"] for m in listed.structured_content["messages"]] == ["M/1"]  # the Teams chat is left out
    assert query(graph.only("GET", f"/users/{DESK}/mailFolders/inbox/messages"))["$search"] == '"laptop"'
    assert one.structured_content["body"] == "Blue screen since 8."
    assert folders.structured_content["folders"][0]["name"] == "Inbox"
    asked = scopes_asked(client_for.app)
    assert "Mail.Read.Shared" in asked and "Mail.Read" not in asked


async def test_own_mail_still_asks_for_mail_read_only(client_for, graph):
    graph.answer("GET", "/me/messages", page([MESSAGE]))
    async with client_for() as client:
        result = await client.call_tool("list_messages", {})
    assert not result.is_error, text_of(result)
    assert "Mail.Read.Shared" not in scopes_asked(client_for.app)


@pytest.mark.parametrize("good, path", [
    (None, "/me"), ("  ", "/me"), (DESK, f"/users/{DESK}"), ("o'brien@contoso.example", "/users/o%27brien@contoso.example"),
    ("5a1e5000-0000-4000-8000-000000000001", "/users/5a1e5000-0000-4000-8000-000000000001"),
])
def test_mailbox_root_accepts_upns_and_ids(good, path):
    assert mailbox_root(good) == path


@pytest.mark.parametrize("bad", [
    "me", "..", ".", "a/b@contoso.example", "x@contoso.example/../../me", "x@contoso.example?$top=1",
    "x@contoso.example#frag", "x%2f@contoso.example", ".x@contoso.example", "x@contoso", "x @contoso.example",
    "x@contoso.example\nx", "a\\b@contoso.example", "x" * 400 + "@contoso.example",
])
def test_mailbox_root_refuses_anything_that_could_change_the_path(bad):
    with pytest.raises(ToolError, match="is not a mailbox"):
        mailbox_root(bad)


async def test_list_mail_folders_advertises_the_mailbox_argument(client_for):
    async with client_for() as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    for name in ("list_messages", "search_messages", "get_message", "list_mail_folders", "list_events", "get_event"):
        assert "mailbox" in tools[name].input_schema["properties"], name


async def test_an_attachment_of_a_shared_mailbox_is_saved_with_mail_read_shared(make_provider, graph, settings, tmp_path):
    app = FakeApp()
    saving = settings.with_changes(download_dir=tmp_path / "downloads")  # never the real Downloads folder
    base = f"/users/{DESK}/messages/M%2F1/attachments/A1"
    graph.answer("GET", base, {"@odata.type": "#microsoft.graph.fileAttachment", "name": "log.txt", "size": 5,
                               "contentType": "text/plain"})
    graph.answer("GET", base + "/$value", content=b"hello", headers={"content-type": "text/plain"})
    async with Client(tool_server(make_provider, saving, graph, app)) as client:
        result = await client.call_tool("download_attachment", {"mailbox": DESK, "message_id": "M/1", "attachment_id": "A1"})
    assert not result.is_error, text_of(result)
    assert result.structured_content["path"] == str(tmp_path / "downloads" / "log.txt")
    assert (tmp_path / "downloads" / "log.txt").read_bytes() == b"hello"
    asked = scopes_asked(app)
    assert "Mail.Read.Shared" in asked and "Mail.Read" not in asked


async def test_a_shared_mailbox_without_access_says_who_can_grant_it(client_for, graph):
    graph.fail("GET", f"/users/{DESK}/messages", 403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
    async with client_for() as client:
        result = await client.call_tool("list_messages", {"mailbox": DESK})
    assert result.is_error
    text = text_of(result)
    assert DESK in text and "no access to that mailbox" in text and "Full Access" in text
    assert "run the sign_in tool" not in text  # the scope is there (consent was asked once); the rights are not
