"""Teams chats and channels through the real process against the emulator (sends confirmed by the person)."""

from __future__ import annotations

import pytest

from tests.graph_fake import accept
from tests.integration.conftest import ServerSetup

pytestmark = pytest.mark.integration


async def test_chats_teams_channels_and_confirmed_sends(setup: ServerSetup):
    teams = setup.emulator.graph.teams
    seen: list = []
    env = {"LOCAL_MCP_ALLOW_WRITES": "1", "LOCAL_MCP_TOOLSETS": "teams"}
    async with setup.client(elicitation_callback=accept(seen), **env) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        assert {"list_chats", "send_chat_message", "list_channel_messages", "send_channel_message"} <= names
        assert "list_messages" not in names

        chats = await client.call_tool("list_chats", {})
        assert not chats.is_error, chats.content
        listed = chats.structured_content["chats"]
        assert [c["name"] for c in listed] == ["Megan Bowen", "Launch crew", "Weekly product sync"]  # most recent first
        assert listed[0]["last_message"] == "Megan Bowen: Can you send me the Q3 deck before the review?"
        group = listed[1]
        assert set(group["members"]) == {"Alex Wilber", "Lee Gu", "Megan Bowen"}  # the signed-in user left out

        read = await client.call_tool("list_chat_messages", {"chat_id": group["id"], "limit": 2})
        assert not read.is_error, read.content
        first = read.structured_content["messages"]
        assert first[0]["text"] == "@Lee Gu the budget sheet is in the Launch folder" and first[0]["mentions"] == ["Lee Gu"]
        older = await client.call_tool("list_chat_messages", {"chat_id": group["id"], "limit": 2,
                                                              "cursor": read.structured_content["page"]["cursor"]})
        assert [m["kind"] for m in older.structured_content["messages"]] == ["message", "event"]

        sent = await client.call_tool("send_chat_message", {"chat_id": group["id"], "text": "I'll book the venue."})
        assert not sent.is_error, sent.content
        assert sent.structured_content["to"] == "Launch crew"

        joined = await client.call_tool("list_teams", {})
        team = joined.structured_content["teams"][0]
        assert team["name"] == "Mark 8 Project Team"
        channels = await client.call_tool("list_channels", {"team_id": team["id"]})
        general = next(c for c in channels.structured_content["channels"] if c["name"] == "General")
        posts = await client.call_tool("list_channel_messages", {"team_id": team["id"], "channel_id": general["id"]})
        assert not posts.is_error, posts.content
        assert posts.structured_content["messages"][0]["text"] == "We ship on the 14th. @Alex Wilber owns the checklist."
        posted = await client.call_tool("send_channel_message", {"team_id": team["id"], "channel_id": general["id"],
                                                                 "text": "Checklist is done.", "subject": "Launch"})
        assert not posted.is_error, posted.content
    assert [(s["where"], s["payload"]) for s in teams.sent] == [
        ("chat", {"body": {"contentType": "text", "content": "I'll book the venue."}}),
        ("channel", {"body": {"contentType": "text", "content": "Checklist is done."}, "subject": "Launch"}),
    ]
    assert len(seen) == 2 and "Launch crew" in seen[0].message and "Mark 8 Project Team > General" in seen[1].message
    assert "alex@" in seen[0].message  # the person sees who reads the chat message
