"""Mail tools through the SDK's in-memory client, with a fake MSAL app and a scripted Graph."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp_types import ElicitResult

from local_mcp.tools.mail import models as mail
from local_mcp.tools._common import DECLARED
from tests.fakes import FakeApp
from tests.graph_fake import GRAPH, accept, body_of, page, person, query, text_of, tool_server

MSG_ID = "AAMk/abc+def="
MSG_PATH = "/me/messages/AAMk%2Fabc%2Bdef%3D"  # one path segment, whatever the id holds
ATT_ID = "AAMkATT/1="
ATT_PATH = MSG_PATH + "/attachments/AAMkATT%2F1%3D"


MEGAN = person("Megan Bowen", "megan@contoso.example")
ADELE = person("Adele Vance", "adele@contoso.example")
ALEX = person("Alex Wilber", "alex@contoso.example")

SUMMARY = {
    "id": "m1", "subject": "Falcon launch", "from": MEGAN, "receivedDateTime": "2026-03-02T09:15:00Z",
    "isRead": False, "hasAttachments": False, "bodyPreview": "Launch is on", "webLink": "https://outlook.example/m1",
}
MESSAGE = {
    "id": MSG_ID,
    "subject": "Q3 planning",
    "from": MEGAN,
    "toRecipients": [ADELE],
    "ccRecipients": [ALEX],
    "bccRecipients": [],
    "receivedDateTime": "2026-03-02T09:15:00Z",
    "sentDateTime": "2026-03-02T09:14:20.1234567Z",
    "body": {
        "contentType": "html",
        "content": "<html><head><style>p {color: red}</style></head><body><p>Hi&nbsp;all,</p>"
        "<ul><li>hiring plan</li><li>pricing</li></ul><p>See <a href='https://contoso.example/doc'>the doc</a>.</p>"
        "</body></html>",
    },
    "hasAttachments": True,
    "importance": "high",
    "isRead": False,
    "conversationId": "conv-1",
    "webLink": "https://outlook.example/q3",
}
ATTACHMENT = {
    "@odata.type": "#microsoft.graph.fileAttachment", "id": ATT_ID, "name": "agenda.txt",
    "size": 1200, "contentType": "text/plain", "isInline": False,
}


@pytest.fixture
def app() -> FakeApp:
    return FakeApp()


@pytest.fixture
def writes(settings, tmp_path):
    return settings.with_changes(allow_writes=True, download_dir=tmp_path / "downloads")


@pytest.fixture
def client_for(make_provider, graph, settings, app):
    def make(s=None, **client_args):
        return Client(tool_server(make_provider, s or settings, graph, app), **client_args)

    return make


# ----- reading ---------------------------------------------------------------------------------


async def test_search_messages_sends_a_quoted_search_and_pages_with_the_cursor(client_for, graph):
    graph.answer("GET", "/me/messages", page([SUMMARY], "/me/messages?$search=%22falcon%22&$skiptoken=abc"))
    async with client_for() as client:
        first = await client.call_tool("search_messages", {"query": ' falcon  "launch" ', "limit": 1})
        assert not first.is_error, text_of(first)
        data = first.structured_content
        assert data["messages"][0]["subject"] == "Falcon launch"
        assert data["messages"][0]["sender"] == {"name": "Megan Bowen", "email": "megan@contoso.example"}
        assert data["messages"][0]["received"] == "2026-03-02T09:15:00+00:00"
        assert data["page"]["has_more"] is True
        cursor = data["page"]["cursor"]
        assert "graph.example" not in cursor
        foreign = await client.call_tool("search_messages", {"query": "falcon", "cursor": cursor})
        assert foreign.is_error and "another folder or query" in text_of(foreign)  # signed for its query
        second = await client.call_tool("search_messages", {"query": ' falcon  "launch" ', "cursor": cursor})
    assert not second.is_error
    sent = graph.sent("GET", "/me/messages")
    params = query(sent[0])
    assert params["$search"] == '"falcon \\"launch\\""'
    assert params["$select"] == mail._LIST_FIELDS and params["$top"] == "1"
    assert "$orderby" not in params and "$filter" not in params  # Graph refuses them with $search
    assert query(sent[1]) == {"$search": '"falcon"', "$skiptoken": "abc"}  # the nextLink, as Graph gave it


async def test_search_in_a_folder_and_a_bad_cursor(client_for, graph):
    graph.answer("GET", "/me/mailFolders/archive/messages", page([]))
    async with client_for() as client:
        ok = await client.call_tool("search_messages", {"query": "brand", "folder": "archive"})
        bad = await client.call_tool("search_messages", {"query": "brand", "cursor": "Ly9ldmlsLmV4YW1wbGUv"})
    assert not ok.is_error and ok.structured_content["page"] == {"has_more": False, "cursor": None}
    assert bad.is_error and "cursor is not valid" in text_of(bad)
    assert len(graph.requests) == 1


async def test_list_messages_filters_and_keeps_a_folder_id_in_one_path_segment(client_for, graph):
    # Outlook ids hold '/', '+' and '=' (never '.': "AAMk/../x=" is refused, see test_security_ids.py)
    graph.answer("GET", "/me/mailFolders/AAMk%2Fab%2Bx%3D/messages", page([SUMMARY]))
    arguments = {"folder": "AAMk/ab+x=", "unread_only": True, "sender": "o'neil@contoso.example",
                 "since": "2026-03-02T10:00:00+01:00"}
    async with client_for() as client:
        result = await client.call_tool("list_messages", arguments)
    assert not result.is_error, text_of(result)
    params = query(graph.requests[0])
    assert params["$filter"] == (  # receivedDateTime first, as $orderby (Exchange's InefficientFilter rule)
        "receivedDateTime ge 2026-03-02T09:00:00Z and isRead eq false "
        "and from/emailAddress/address eq 'o''neil@contoso.example'"
    )
    assert params["$orderby"] == "receivedDateTime desc" and params["$select"] == mail._LIST_FIELDS


async def test_get_message_reads_html_as_text_and_lists_attachments(client_for, graph):
    graph.answer("GET", MSG_PATH, MESSAGE)
    graph.answer("GET", MSG_PATH + "/attachments", page([ATTACHMENT]))
    async with client_for() as client:
        result = await client.call_tool("get_message", {"message_id": MSG_ID})
    assert not result.is_error, text_of(result)
    data = result.structured_content
    body = data["body"]
    assert body.startswith("Hi all,\n") and "\n- hiring plan\n" in body and "\n- pricing\n" in body
    assert body.endswith("See the doc (https://contoso.example/doc).")
    assert "<" not in body and "color" not in body and "&nbsp;" not in body
    assert data["truncated"] is False
    assert data["to"] == [{"name": "Adele Vance", "email": "adele@contoso.example"}]
    assert data["cc"][0]["email"] == "alex@contoso.example" and data["bcc"] == []
    assert data["sent"] == "2026-03-02T09:14:20.123456+00:00"
    assert data["attachments"] == [
        {"id": ATT_ID, "name": "agenda.txt", "size": 1200, "content_type": "text/plain", "is_inline": False}
    ]
    assert query(graph.only("GET", MSG_PATH))["$select"] == mail._DETAIL_FIELDS
    assert query(graph.only("GET", MSG_PATH + "/attachments")) == {"$select": "id,name,size,contentType,isInline"}


async def test_get_message_truncates_a_long_body_and_skips_attachments_when_there_are_none(client_for, graph):
    long_text = "word " * 5000
    graph.answer("GET", MSG_PATH, {**MESSAGE, "hasAttachments": False, "body": {"contentType": "text", "content": long_text}})
    async with client_for() as client:
        result = await client.call_tool("get_message", {"message_id": MSG_ID})
    data = result.structured_content
    assert data["truncated"] is True
    assert len(data["body"]) <= 8002 and data["body"].endswith(" …")
    assert data["attachments"] == []
    assert [r.url.path for r in graph.requests] == ["/v1.0/me/messages/AAMk/abc+def="]  # one call only


async def test_get_message_error_names_status_code_request_id_and_next_step(client_for, graph):
    graph.fail("GET", MSG_PATH, 404, "ErrorItemNotFound", "The specified object was not found in the store.")
    async with client_for() as client:
        result = await client.call_tool("get_message", {"message_id": MSG_ID})
    assert result.is_error
    text = text_of(result)
    assert "404 Not Found (ErrorItemNotFound)" in text and "req-42" in text and "Check the id" in text


async def test_a_403_for_a_missing_scope_signs_in_for_consent_once_then_succeeds(client_for, graph, app):
    graph.fail("GET", "/me/mailFolders", 403, "ErrorAccessDenied", "Access is denied.")
    graph.answer("GET", "/me/mailFolders", page([]))
    async with client_for() as client:
        result = await client.call_tool("list_mail_folders", {})
    assert not result.is_error, text_of(result)
    assert app.count("interactive") == 2  # the first sign-in, then the consent
    assert len(graph.sent("GET", "/me/mailFolders")) == 2


async def test_list_mail_folders_gives_counts_and_subfolders(client_for, graph):
    folder = {"id": "inbox-id", "displayName": "Inbox", "unreadItemCount": 4, "totalItemCount": 21, "childFolderCount": 1}
    graph.answer("GET", "/me/mailFolders", page([folder]))
    graph.answer("GET", "/me/mailFolders/inbox-id/childFolders", page([{**folder, "id": "sub", "displayName": "Projects"}]))
    async with client_for() as client:
        top = await client.call_tool("list_mail_folders", {"limit": 500})
        sub = await client.call_tool("list_mail_folders", {"parent_folder": "inbox-id"})
    assert top.structured_content["folders"] == [
        {"id": "inbox-id", "name": "Inbox", "unread_count": 4, "total_count": 21, "child_folder_count": 1}
    ]
    assert sub.structured_content["folders"][0]["name"] == "Projects"
    first = query(graph.sent("GET", "/me/mailFolders")[0])
    assert first["$select"] == mail._FOLDER_FIELDS and first["$top"] == "50"  # the hard cap


# ----- downloads ---------------------------------------------------------------------------------


async def test_download_attachment_saves_the_file_and_returns_only_its_path(client_for, graph, writes):
    graph.answer("GET", ATT_PATH, ATTACHMENT)
    graph.answer("GET", ATT_PATH + "/$value", content=b"agenda\n" * 100, headers={"content-type": "text/plain"})
    async with client_for(writes) as client:
        first = await client.call_tool("download_attachment", {"message_id": MSG_ID, "attachment_id": ATT_ID})
        again = await client.call_tool("download_attachment", {"message_id": MSG_ID, "attachment_id": ATT_ID})
    assert not first.is_error, text_of(first)
    data = first.structured_content
    saved = writes.download_dir / "agenda.txt"
    assert data == {"path": str(saved), "name": "agenda.txt", "size": 700, "content_type": "text/plain"}
    assert saved.read_bytes() == b"agenda\n" * 100
    assert "agenda\nagenda" not in text_of(first)  # the content never goes through the model
    assert again.structured_content["path"] == str(writes.download_dir / "agenda (2).txt")  # never overwritten
    assert query(graph.sent("GET", ATT_PATH)[0]) == {"$select": "id,name,size,contentType,isInline"}


async def test_download_attachment_refuses_big_files_before_fetching_them(client_for, graph, writes):
    graph.answer("GET", ATT_PATH, {**ATTACHMENT, "name": "video.mp4", "size": mail.MAX_ATTACHMENT_BYTES + 1})
    async with client_for(writes) as client:
        result = await client.call_tool("download_attachment", {"message_id": MSG_ID, "attachment_id": ATT_ID})
    assert result.is_error and "over the 25 MB" in text_of(result)
    assert not graph.sent("GET", ATT_PATH + "/$value")
    assert not (writes.download_dir).exists() or not any(writes.download_dir.iterdir())


async def test_download_attachment_refuses_cloud_links_and_names_attached_mail_eml(client_for, graph, writes):
    other = "/me/messages/m2/attachments/a2"
    graph.answer("GET", ATT_PATH, {**ATTACHMENT, "@odata.type": "#microsoft.graph.referenceAttachment", "name": "Spec"})
    graph.answer("GET", other, {**ATTACHMENT, "@odata.type": "#microsoft.graph.itemAttachment", "name": "Fwd: hello"})
    graph.answer("GET", other + "/$value", content=b"Subject: hello\r\n\r\nbody")
    async with client_for(writes) as client:
        link = await client.call_tool("download_attachment", {"message_id": MSG_ID, "attachment_id": ATT_ID})
        item = await client.call_tool("download_attachment", {"message_id": "m2", "attachment_id": "a2"})
    assert link.is_error and "link to a file in the cloud" in text_of(link)
    assert item.structured_content["name"] == "Fwd_ hello.eml"


# ----- writes: listing and annotations -----------------------------------------------------------


MAIL_WRITES = {"send_message", "reply_to_message"}
MAIL_READS = {"list_messages", "search_messages", "get_message", "list_mail_folders", "download_attachment"}


async def test_mail_write_tools_are_hidden_unless_writes_are_allowed(client_for, writes):
    async with client_for() as client:
        read_only = {t.name for t in (await client.list_tools()).tools}
    async with client_for(writes) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert MAIL_READS <= read_only and not MAIL_WRITES & read_only
    assert MAIL_WRITES <= {name for name, info in DECLARED.items() if info.write}
    for name in MAIL_WRITES:
        hints = tools[name].annotations
        assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint, hints.open_world_hint) == (
            False, True, False, True), name
    assert tools["download_attachment"].annotations.read_only_hint is False  # it writes a local file
    assert tools["download_attachment"].annotations.destructive_hint is False
    assert tools["get_message"].annotations.read_only_hint is True
    for name in MAIL_READS | MAIL_WRITES:
        assert tools[name].description and tools[name].output_schema, name
        assert tools[name].description.count(". ") == 0, name  # one sentence
    assert DECLARED["reply_to_message"].scopes == ("Mail.Read", "Mail.Send")
    assert DECLARED["send_message"].scopes == ("Mail.Send",)


# ----- send_message ---------------------------------------------------------------------------------

SEND = {"to": ["megan@contoso.example"], "cc": ["alex@contoso.example"], "subject": "Agenda", "body": "See you Thursday."}


async def test_send_message_with_confirm_true_still_asks_a_client_that_can_ask(client_for, graph, writes):
    graph.answer("POST", "/me/sendMail", status=202)
    seen = []
    async with client_for(writes, elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("send_message", {**SEND, "confirm": True})
    assert not result.is_error, text_of(result)
    assert len(seen) == 1  # the model's confirm=true is not the user's yes
    assert result.structured_content["sent"] is True and result.structured_content["cc"] == ["alex@contoso.example"]
    assert body_of(graph.only("POST", "/me/sendMail")) == {
        "message": {
            "subject": "Agenda",
            "body": {"contentType": "Text", "content": "See you Thursday."},
            "toRecipients": [{"emailAddress": {"address": "megan@contoso.example"}}],
            "ccRecipients": [{"emailAddress": {"address": "alex@contoso.example"}}],
            "bccRecipients": [],
        },
        "saveToSentItems": True,
    }


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_send_message_asks_the_user_by_elicitation_then_sends(client_for, graph, writes, mode):
    graph.answer("POST", "/me/sendMail", status=202)
    seen = []
    async with client_for(writes, mode=mode, elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("send_message", SEND)
    assert not result.is_error, text_of(result)
    assert len(seen) == 1
    message = seen[0].message
    assert "megan@contoso.example" in message and "alex@contoso.example" in message and '"Agenda"' in message
    assert "See you Thursday." in message
    assert len(graph.sent("POST", "/me/sendMail")) == 1


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_send_message_declined_sends_nothing(client_for, graph, writes, mode):
    async def decline(context, params):
        return ElicitResult(action="decline")

    async with client_for(writes, mode=mode, elicitation_callback=decline) as client:
        result = await client.call_tool("send_message", SEND)
    assert result.is_error and "did not confirm" in text_of(result)
    assert graph.requests == []


async def test_send_message_without_elicitation_signs_in_first_then_asks_for_confirm_true(client_for, graph, writes, app):
    async with client_for(writes) as client:
        result = await client.call_tool("send_message", SEND)
    assert result.is_error
    text = text_of(result)
    assert "confirm=true" in text and "megan@contoso.example" in text and '"Agenda"' in text
    assert app.count("interactive") == 1  # the sign-in happened before the question
    assert graph.requests == []


async def test_send_message_is_confirmed_once_even_when_consent_runs_it_again(client_for, graph, writes, app):
    graph.fail("POST", "/me/sendMail", 403, "ErrorAccessDenied")
    graph.answer("POST", "/me/sendMail", status=202)
    seen = []
    async with client_for(writes, mode="legacy", elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("send_message", SEND)
    assert not result.is_error, text_of(result)
    assert len(seen) == 1 and app.count("interactive") == 2
    assert len(graph.sent("POST", "/me/sendMail")) == 2


async def test_send_message_refuses_a_malformed_address(client_for, graph, writes):
    async with client_for(writes) as client:
        result = await client.call_tool("send_message", {**SEND, "to": ["Megan <megan@contoso.example>"], "confirm": True})
    assert result.is_error and "plain email addresses" in text_of(result)
    assert graph.requests == []


# ----- reply_to_message --------------------------------------------------------------------------------


async def test_reply_all_names_everyone_in_the_question_and_posts_the_comment(client_for, graph, writes):
    graph.answer("GET", MSG_PATH, {**MESSAGE, "replyTo": []})
    graph.answer("POST", MSG_PATH + "/replyAll", status=202)
    seen = []
    async with client_for(writes, elicitation_callback=accept(seen)) as client:
        result = await client.call_tool(
            "reply_to_message", {"message_id": MSG_ID, "comment": "Count me in.", "reply_all": True}
        )
    assert not result.is_error, text_of(result)
    assert result.structured_content["recipients"] == [
        "megan@contoso.example", "adele@contoso.example", "alex@contoso.example"
    ]
    assert "Reply to all" in seen[0].message and '"Q3 planning"' in seen[0].message and "alex@contoso.example" in seen[0].message
    assert body_of(graph.only("POST", MSG_PATH + "/replyAll")) == {"comment": "Count me in."}
    # 2026-07-28: the answer comes with a second call of the tool, which reads the original again
    reads = graph.sent("GET", MSG_PATH)
    assert len(reads) == 2 and all(query(r)["$select"] == mail._REPLY_FIELDS for r in reads)


async def test_reply_goes_to_the_reply_to_address_and_confirm_true_skips_the_question(client_for, graph, writes):
    graph.answer("GET", MSG_PATH, {**MESSAGE, "replyTo": [person("Team", "team@contoso.example")]})
    graph.answer("POST", MSG_PATH + "/reply", status=202)
    async with client_for(writes.with_changes(confirm_writes="model")) as client:  # opted in: confirm=true counts
        result = await client.call_tool("reply_to_message", {"message_id": MSG_ID, "comment": "Yes.", "confirm": True})
    assert not result.is_error, text_of(result)
    assert result.structured_content["recipients"] == ["team@contoso.example"]
    assert not graph.sent("POST", MSG_PATH + "/replyAll")


async def test_unread_only_still_leads_the_filter_with_received_date_time(client_for, graph):
    graph.answer("GET", "/me/messages", page([SUMMARY, {**SUMMARY, "id": "chat-1", "subject": "IM"}]))
    async with client_for() as client:
        result = await client.call_tool("list_messages", {"unread_only": True})
    params = query(graph.requests[0])
    assert params["$filter"] == "receivedDateTime ge 1900-01-01T00:00:00Z and isRead eq false"
    assert [m["id"] for m in result.structured_content["messages"]] == [SUMMARY["id"]]  # the Teams chat is left out
