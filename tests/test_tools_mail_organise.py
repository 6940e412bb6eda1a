"""Mail organising tools (drafts, send, forward, move, update, delete) on the fake Graph."""

from __future__ import annotations

import base64
import re

import httpx
import pytest
from mcp import Client
from mcp_types import ElicitResult

from local_mcp.server import create_server
from local_mcp.tools._common import DECLARED
from tests.fakes import FakeApp
from tests.graph_fake import accept, body_of, person, text_of, tool_server

MSG_ID = "AAMk/abc+def="
MSG_PATH = "/me/messages/AAMk%2Fabc%2Bdef%3D"
MEGAN = person("Megan Bowen", "megan@contoso.example")
DRAFT = {"id": "d1", "subject": "Deck", "toRecipients": [MEGAN], "ccRecipients": [], "bccRecipients": [],
         "isDraft": True, "hasAttachments": False, "webLink": "https://outlook.example/d1"}


@pytest.fixture
def app() -> FakeApp:
    return FakeApp()


@pytest.fixture
def writes(settings, tmp_path):
    (tmp_path / "up").mkdir()
    return settings.with_changes(allow_writes=True, upload_dirs=(tmp_path / "up",))


@pytest.fixture
def client_for(make_provider, graph, app):
    return lambda s, **kw: Client(tool_server(make_provider, s, graph, app), **kw)


def test_every_tool_declares_its_scopes(settings):
    create_server(settings)
    assert DECLARED["create_draft"].scopes == ("Mail.ReadWrite",)
    assert DECLARED["send_draft"].scopes == ("Mail.ReadWrite", "Mail.Send")
    assert DECLARED["forward_message"].scopes == ("Mail.Read", "Mail.Send")
    assert all(DECLARED[n].write for n in ("create_draft", "move_message", "update_message", "delete_message"))


async def test_a_new_draft_is_posted_once_the_user_agrees(client_for, graph, writes):
    graph.answer("POST", "/me/messages", DRAFT, status=201)
    seen: list = []
    async with client_for(writes, elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("create_draft", {"to": ["megan@contoso.example"], "subject": "Deck", "body": "Hi"})
    assert not result.is_error, text_of(result)
    [question] = seen
    assert question.message.startswith("Save a draft in your mailbox (nothing is sent)")
    assert "Recipients (not sent yet): megan@contoso.example" in question.message and "Subject: Deck" in question.message
    assert result.structured_content["id"] == "d1" and "nothing was sent" in result.structured_content["message"]
    assert body_of(graph.only("POST", "/me/messages")) == {
        "subject": "Deck", "body": {"contentType": "Text", "content": "Hi"},
        "toRecipients": [{"emailAddress": {"address": "megan@contoso.example"}}]}


async def test_a_reply_all_draft_uses_create_reply_all_with_the_comment(client_for, graph, writes):
    graph.answer("POST", MSG_PATH + "/createReplyAll", DRAFT, status=201)
    async with client_for(writes, elicitation_callback=accept([])) as client:
        result = await client.call_tool("create_draft", {"reply_to_message_id": MSG_ID, "reply_all": True, "body": "Yes"})
    assert not result.is_error, text_of(result)
    assert body_of(graph.only("POST", MSG_PATH + "/createReplyAll")) == {"comment": "Yes"}


async def test_attachments_small_by_post_large_by_upload_session(client_for, graph, writes, tmp_path):
    small, big = tmp_path / "up" / "a.txt", tmp_path / "up" / "b.bin"
    small.write_bytes(b"hello")
    big.write_bytes(b"x" * (4 * 1024 * 1024))
    graph.answer("POST", "/me/messages", DRAFT, status=201)
    graph.answer("POST", "/me/messages/d1/attachments", {"id": "a1"}, status=201)
    graph.answer("POST", "/me/messages/d1/attachments/createUploadSession",
                 {"uploadUrl": "https://outlook.example/upload/s1?authtoken=t", "nextExpectedRanges": ["0-"]}, status=201)
    graph.answer("PUT", re.compile(r"outlook\.example/upload/s1$"), lambda r: httpx.Response(200, json={}))
    seen: list = []
    async with client_for(writes, elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("create_draft", {"to": ["megan@contoso.example"], "body": "Files",
                                                          "attachments": [str(small), str(big)]})
    assert not result.is_error, text_of(result)
    assert len(seen) == 1 and "a.txt" in seen[0].message and "b.bin" in seen[0].message
    posted = body_of(graph.only("POST", "/me/messages/d1/attachments"))
    assert posted["@odata.type"] == "#microsoft.graph.fileAttachment" and base64.b64decode(posted["contentBytes"]) == b"hello"
    session = body_of(graph.only("POST", "/me/messages/d1/attachments/createUploadSession"))
    assert session == {"AttachmentItem": {"attachmentType": "file", "name": "b.bin", "size": big.stat().st_size,
                                          "contentType": "application/octet-stream"}}
    puts = graph.sent("PUT")
    assert [p.headers["Content-Range"] for p in puts] == [
        f"bytes 0-{10 * 320 * 1024 - 1}/{big.stat().st_size}", f"bytes {10 * 320 * 1024}-{big.stat().st_size - 1}/{big.stat().st_size}"]
    assert all("Authorization" not in p.headers for p in puts)  # the upload URL carries its own credential


async def test_a_file_outside_the_upload_folders_is_refused_before_anything_is_sent(client_for, graph, writes, tmp_path):
    secret = tmp_path / "elsewhere.txt"
    secret.write_text("x")
    async with client_for(writes) as client:
        result = await client.call_tool("create_draft", {"to": ["megan@contoso.example"], "body": "x", "attachments": [str(secret)]})
    assert result.is_error and "outside the folders" in text_of(result)
    assert graph.requests == []


async def test_send_draft_names_the_recipients_and_a_decline_sends_nothing(client_for, graph, writes):
    graph.answer("GET", "/me/messages/d1", DRAFT)

    async def decline(context, params):
        return ElicitResult(action="decline")

    async with client_for(writes, elicitation_callback=decline) as client:
        result = await client.call_tool("send_draft", {"message_id": "d1"})
    assert result.is_error and "did not confirm" in text_of(result)
    assert graph.sent("POST") == []
    graph.answer("POST", "/me/messages/d1/send", status=202)
    seen: list = []
    async with client_for(writes, elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("send_draft", {"message_id": "d1"})
    assert not result.is_error and 'Send the draft "Deck" to megan@contoso.example' in seen[0].message
    graph.only("POST", "/me/messages/d1/send")


async def test_send_draft_refuses_a_sent_message(client_for, graph, writes):
    graph.answer("GET", "/me/messages/d1", {**DRAFT, "isDraft": False})
    async with client_for(writes, elicitation_callback=accept([])) as client:
        result = await client.call_tool("send_draft", {"message_id": "d1"})
    assert result.is_error and "not a draft" in text_of(result)


async def test_forward_posts_comment_and_recipients(client_for, graph, writes):
    graph.answer("GET", MSG_PATH, {"id": MSG_ID, "subject": "Policy"})
    graph.answer("POST", MSG_PATH + "/forward", status=202)
    async with client_for(writes, elicitation_callback=accept([])) as client:
        result = await client.call_tool("forward_message", {"message_id": MSG_ID, "to": ["alex@contoso.example"], "comment": "FYI"})
    assert not result.is_error, text_of(result)
    assert body_of(graph.only("POST", MSG_PATH + "/forward")) == {
        "comment": "FYI", "toRecipients": [{"emailAddress": {"address": "alex@contoso.example"}}]}


async def test_update_message_patches_only_what_is_given(client_for, graph, writes):
    graph.answer("PATCH", MSG_PATH, {"id": MSG_ID, "subject": "Policy", "flag": {"flagStatus": "complete"}, "isRead": True})
    graph.answer("GET", MSG_PATH, {"id": MSG_ID, "subject": "Policy", "from": MEGAN})
    seen: list = []
    async with client_for(writes, elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("update_message", {"message_id": MSG_ID, "flag": "complete", "is_read": True})
        empty = await client.call_tool("update_message", {"message_id": MSG_ID})
    assert not result.is_error and result.structured_content["flag"] == "complete"
    assert [q.message.split("\n")[0] for q in seen] == [
        f'Change the email "Policy" from {MEGAN["emailAddress"]["address"]}: mark it read, mark its flag complete']
    assert body_of(graph.only("PATCH", MSG_PATH)) == {"isRead": True, "flag": {"flagStatus": "complete"}}
    assert empty.is_error and "Nothing to change" in text_of(empty)


async def test_move_by_well_known_name_and_delete_goes_to_deleted_items(client_for, graph, writes):
    graph.answer("POST", MSG_PATH + "/move", {"id": "new1", "subject": "Policy", "parentFolderId": "archive"}, status=201)
    graph.answer("POST", MSG_PATH + "/move", {"id": "new2", "subject": "Policy", "parentFolderId": "deleteditems"}, status=201)
    graph.answer("GET", MSG_PATH, {"id": MSG_ID, "subject": "Policy", "from": MEGAN})
    seen: list = []
    async with client_for(writes, elicitation_callback=accept(seen)) as client:
        moved = await client.call_tool("move_message", {"message_id": MSG_ID, "destination": "Archive"})
        deleted = await client.call_tool("delete_message", {"message_id": MSG_ID})
    assert moved.structured_content["id"] == "new1"
    assert deleted.structured_content["folder_id"] == "deleteditems"
    assert [body_of(r) for r in graph.sent("POST")] == [{"destinationId": "archive"}, {"destinationId": "deleteditems"}]
    assert graph.sent("DELETE") == []  # never a hard delete
    assert len(seen) == 2 and "to archive" in seen[0].message and "Deleted Items" in seen[1].message


async def test_send_message_with_a_file_goes_draft_attach_send(client_for, graph, writes, tmp_path):
    note = tmp_path / "up" / "note.txt"
    note.write_text("hi")
    graph.answer("POST", "/me/messages", DRAFT, status=201)
    graph.answer("POST", "/me/messages/d1/attachments", {"id": "a1"}, status=201)
    graph.answer("POST", "/me/messages/d1/send", status=202)
    seen: list = []
    async with client_for(writes, elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("send_message", {"to": ["megan@contoso.example"], "subject": "S", "body": "B",
                                                          "attachments": [str(note)]})
    assert not result.is_error, text_of(result)
    assert [r.url.path for r in graph.sent("POST")] == ["/v1.0/me/messages", "/v1.0/me/messages/d1/attachments",
                                                        "/v1.0/me/messages/d1/send"]
    assert graph.sent("POST", "/me/sendMail") == []
    assert "note.txt" in seen[0].message


async def test_reply_with_a_file_uses_create_reply(client_for, graph, writes, tmp_path):
    note = tmp_path / "up" / "note.txt"
    note.write_text("hi")
    graph.answer("GET", MSG_PATH, {"id": MSG_ID, "subject": "Q", "from": MEGAN})
    graph.answer("POST", MSG_PATH + "/createReply", DRAFT, status=201)
    graph.answer("POST", "/me/messages/d1/attachments", {"id": "a1"}, status=201)
    graph.answer("POST", "/me/messages/d1/send", status=202)
    async with client_for(writes, elicitation_callback=accept([])) as client:
        result = await client.call_tool("reply_to_message", {"message_id": MSG_ID, "comment": "See file", "attachments": [str(note)]})
    assert not result.is_error, text_of(result)
    assert body_of(graph.only("POST", MSG_PATH + "/createReply")) == {"comment": "See file"}
    graph.only("POST", "/me/messages/d1/send")
