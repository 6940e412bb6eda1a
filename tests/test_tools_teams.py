"""Teams tools (chats, teams, channels, their messages, sends) on the fake Graph."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp_types import ElicitResult

from local_mcp.server import create_server
from local_mcp.tools._common import DECLARED
from local_mcp.tools.teams.models import message_of
from tests.fakes import FakeApp
from tests.graph_fake import accept, body_of, page, query, text_of, tool_server

CHAT_ID = "19:abc@thread.v2"
CHAT_PATH = "/chats/19%3Aabc%40thread.v2"
TEAM = "fbe2bf47-16c8-47cf-b4a5-4b9b187c508b"
CHANNEL_ID = "19:gen@thread.tacv2"
CHANNEL_PATH = f"/teams/{TEAM}/channels/19%3Agen%40thread.tacv2"


def who(name: str) -> dict:
    return {"application": None, "device": None, "user": {"id": "u-" + name, "displayName": name, "userIdentityType": "aadUser"}}


def member(name: str, email: str) -> dict:
    return {"@odata.type": "#microsoft.graph.aadUserConversationMember", "displayName": name, "email": email, "userId": "u-" + name}


MENTION = {
    "id": "1616965872395", "createdDateTime": "2021-03-28T21:11:12.395Z", "from": who("Robin Kline"),
    "body": {"contentType": "html", "content": '<p>Hello World <at id="0">Jane</at>, see <b>the deck</b> &amp; notes</p>'},
    "mentions": [{"id": 0, "mentionText": "Jane", "mentioned": who("Jane Smith")}], "attachments": [],
}
CHAT = {"id": CHAT_ID, "topic": None, "chatType": "oneOnOne", "webUrl": "https://teams.example/l/chat/1",
        "members": [member("Adele Vance", "user@contoso.example"), member("Megan Bowen", "megan@contoso.example")],
        "lastMessagePreview": {"id": "1", "createdDateTime": "2026-12-01T10:00:00Z", "from": who("Megan Bowen"),
                               "body": {"contentType": "text", "content": "Lunch?"}}}


@pytest.fixture
def app() -> FakeApp:
    return FakeApp()


@pytest.fixture
def client_for(make_provider, graph, app):
    return lambda s, **kw: Client(tool_server(make_provider, s, graph, app), **kw)


def test_scopes_annotations_and_area(settings):
    create_server(settings)
    scopes = {n: DECLARED[n].scopes for n in ("list_chats", "list_chat_messages", "list_teams", "list_channels",
                                              "list_channel_messages", "send_chat_message", "send_channel_message")}
    assert scopes["list_chats"] == scopes["list_chat_messages"] == ("Chat.Read",)
    assert scopes["list_teams"] == ("Team.ReadBasic.All",) and scopes["list_channels"] == ("Channel.ReadBasic.All",)
    assert scopes["list_channel_messages"] == ("ChannelMessage.Read.All",)
    assert scopes["send_chat_message"][0] == "ChatMessage.Send" and scopes["send_channel_message"][0] == "ChannelMessage.Send"
    assert all(DECLARED[n].area == "teams" for n in scopes)
    assert DECLARED["send_chat_message"].write and DECLARED["send_channel_message"].write and not DECLARED["list_chats"].write


async def test_reads_are_listed_read_only_and_sends_only_with_writes(client_for, settings):
    async with client_for(settings) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert {"list_chats", "list_chat_messages", "list_teams", "list_channels", "list_channel_messages"} <= set(tools)
    assert not {"send_chat_message", "send_channel_message"} & set(tools)
    assert tools["list_chats"].annotations.read_only_hint is True
    async with client_for(settings.with_changes(allow_writes=True)) as client:
        send = {t.name: t for t in (await client.list_tools()).tools}["send_chat_message"]
    assert send.annotations.read_only_hint is False and send.annotations.destructive_hint is True
    assert send.annotations.idempotent_hint is False


def test_message_text_names_mentions_and_strips_html():
    shown = message_of(MENTION)
    assert shown.text == "Hello World @Jane Smith, see the deck & notes"
    assert shown.mentions == ["Jane Smith"] and shown.sender == "Robin Kline" and shown.kind == "message"
    event = message_of({"id": "2", "body": {"contentType": "html", "content": "<systemEventMessage/>"},
                        "eventDetail": {"@odata.type": "#microsoft.graph.membersAddedEventMessageDetail", "initiator": who("Alex")}})
    assert (event.kind, event.text) == ("event", "(event: members added by Alex)")
    attached = message_of({"id": "3", "body": {"contentType": "html", "content": '<attachment id="a1"></attachment>'},
                           "attachments": [{"id": "a1", "name": "plan.docx"}]})
    assert attached.text == "[attachment: plan.docx]" and attached.attachments == ["plan.docx"]


async def test_list_chats_asks_for_members_and_the_latest_message(client_for, graph, settings):
    graph.answer("GET", "/me/chats", page([CHAT], "/me/chats?$top=5&$skiptoken=abc"))
    async with client_for(settings) as client:
        result = await client.call_tool("list_chats", {"limit": 5, "kind": "oneOnOne"})
    assert not result.is_error, text_of(result)
    sent = query(graph.only("GET", "/me/chats"))
    assert sent["$expand"] == "members,lastMessagePreview" and sent["$top"] == "5"
    assert sent["$orderby"] == "lastMessagePreview/createdDateTime desc" and sent["$filter"] == "chatType eq 'oneOnOne'"
    chat = result.structured_content["chats"][0]
    assert chat["last_message"] == "Megan Bowen: Lunch?" and "Megan Bowen" in chat["name"]
    assert result.structured_content["page"]["has_more"] is True


async def test_list_chat_messages_pages_within_the_documented_limit(client_for, graph, settings):
    graph.answer("GET", CHAT_PATH + "/messages", page([MENTION]))
    async with client_for(settings) as client:
        result = await client.call_tool("list_chat_messages", {"chat_id": CHAT_ID, "limit": 500})
    assert not result.is_error, text_of(result)
    assert query(graph.only("GET", CHAT_PATH + "/messages"))["$top"] == "50"  # chat-list-messages.md: at most 50
    assert result.structured_content["messages"][0]["text"].startswith("Hello World @Jane Smith")


async def test_send_chat_message_shows_who_reads_it_then_posts_text(client_for, graph, settings):
    graph.answer("GET", CHAT_PATH, CHAT)
    graph.answer("POST", CHAT_PATH + "/messages", {"id": "99", "body": {"contentType": "text", "content": "On my way"}}, status=201)
    seen: list = []
    async with client_for(settings.with_changes(allow_writes=True), elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("send_chat_message", {"chat_id": CHAT_ID, "text": "On my way"})
    assert not result.is_error, text_of(result)
    assert len(seen) == 1 and "megan@contoso.example" in seen[0].message and "On my way" in seen[0].message
    assert query(graph.last("GET", CHAT_PATH))["$expand"] == "members"  # read again on the retry that carries the answer
    assert body_of(graph.only("POST", CHAT_PATH + "/messages")) == {"body": {"contentType": "text", "content": "On my way"}}
    assert result.structured_content["sent"] is True and result.structured_content["id"] == "99"


async def test_a_declined_send_posts_nothing(client_for, graph, settings):
    graph.answer("GET", CHAT_PATH, CHAT)

    async def decline(context, params):
        return ElicitResult(action="decline")

    async with client_for(settings.with_changes(allow_writes=True), elicitation_callback=decline) as client:
        result = await client.call_tool("send_chat_message", {"chat_id": CHAT_ID, "text": "hi"})
    assert result.is_error and "did not confirm" in text_of(result) and graph.sent("POST") == []


async def test_teams_and_channels_come_whole_and_are_paged_here(client_for, graph, settings):
    graph.answer("GET", "/me/joinedTeams", page([{"id": f"t{n}", "displayName": f"Team {n}", "description": None} for n in range(3)]))
    async with client_for(settings) as client:
        first = await client.call_tool("list_teams", {"limit": 2})
        assert [t["name"] for t in first.structured_content["teams"]] == ["Team 0", "Team 1"]
        rest = await client.call_tool("list_teams", {"limit": 2, "cursor": first.structured_content["page"]["cursor"]})
        assert [t["name"] for t in rest.structured_content["teams"]] == ["Team 2"] and rest.structured_content["page"]["has_more"] is False
        foreign = await client.call_tool("list_channels", {"team_id": TEAM, "cursor": first.structured_content["page"]["cursor"]})
        assert foreign.is_error and "list_teams" in text_of(foreign)
    assert all("$top" not in query(r) for r in graph.sent("GET", "/me/joinedTeams"))  # joinedTeams takes no query options


async def test_channel_messages_without_admin_consent_say_so(client_for, graph, settings):
    graph.fail("GET", CHANNEL_PATH + "/messages", 403, "Forbidden", "Missing role permissions on the request.")
    async with client_for(settings) as client:
        result = await client.call_tool("list_channel_messages", {"team_id": TEAM, "channel_id": CHANNEL_ID})
    assert result.is_error
    text = text_of(result)
    assert "ChannelMessage.Read.All" in text and "admin consent" in text and "/v2.0/adminconsent?client_id=" in text


async def test_send_channel_message_names_team_and_channel(client_for, graph, settings):
    graph.answer("GET", f"/teams/{TEAM}", {"id": TEAM, "displayName": "Mark 8 Project Team"})
    graph.answer("GET", CHANNEL_PATH, {"id": CHANNEL_ID, "displayName": "General", "membershipType": "standard"})
    graph.answer("POST", CHANNEL_PATH + "/messages", {"id": "7", "webUrl": "https://teams.example/l/message/7"}, status=201)
    seen: list = []
    async with client_for(settings.with_changes(allow_writes=True), elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("send_channel_message", {"team_id": TEAM, "channel_id": CHANNEL_ID, "text": "Ship it", "subject": "Launch"})
    assert not result.is_error, text_of(result)
    assert "Mark 8 Project Team > General" in seen[0].message and "Launch" in seen[0].message
    assert body_of(graph.only("POST", CHANNEL_PATH + "/messages")) == {"body": {"contentType": "text", "content": "Ship it"}, "subject": "Launch"}
    assert result.structured_content["to"] == "Mark 8 Project Team > General"


async def test_a_refused_sign_in_for_channel_messages_names_admin_consent(make_provider, graph, settings):
    refused = {"error": "invalid_grant", "error_codes": [65001],
               "error_description": "AADSTS65001: The user or administrator has not consented to use the application."}
    app = FakeApp(interactive_results=[refused, refused])
    async with Client(tool_server(make_provider, settings, graph, app)) as client:
        result = await client.call_tool("list_channel_messages", {"team_id": TEAM, "channel_id": CHANNEL_ID})
    assert result.is_error and graph.requests == []
    text = text_of(result)
    assert "ChannelMessage.Read.All, which needs admin consent" in text and text.count("adminconsent?client_id=") == 1
