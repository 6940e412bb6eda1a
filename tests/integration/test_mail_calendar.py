"""Mail and calendar tools: the real `local-mcp` process over stdio, the real MSAL, the emulator."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.integration.conftest import USER, ServerSetup

pytestmark = pytest.mark.integration

WRITES = {"send_message", "reply_to_message", "create_event", "respond_to_event"}


def text_of(result) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


async def call(client, name: str, arguments: dict) -> dict:
    result = await client.call_tool(name, arguments)
    assert not result.is_error, f"{name}: {text_of(result)}"
    return result.structured_content


def day(offset: int) -> datetime:
    return datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=offset)


async def test_mail_pages_reads_searches_and_saves_an_attachment(setup: ServerSetup):
    emu = setup.emulator
    downloads = setup.root / "downloads"
    async with setup.client(LOCAL_MCP_DOWNLOAD_DIR=str(downloads)) as client:
        seen, cursor, pages = [], None, 0
        while True:
            data = await call(client, "list_messages", {"limit": 10, **({"cursor": cursor} if cursor else {})})
            seen += data["messages"]
            pages += 1
            if not data["page"]["has_more"]:
                break
            cursor = data["page"]["cursor"]
        assert pages == 3 and len(seen) == len(emu.graph.messages) == 25
        assert [m["id"] for m in seen] == [m["id"] for m in emu.graph.messages]  # newest first, none twice
        assert all(m["received"].endswith("+00:00") for m in seen)

        agenda = next(m for m in seen if m["subject"] == "Q3 planning: agenda for Thursday")
        message = await call(client, "get_message", {"message_id": agenda["id"]})
        assert message["body"].startswith("Hi all, attaching the draft agenda") and "<" not in message["body"]
        assert message["sender"]["email"] == "megan@contoso.example" and message["truncated"] is False
        [attachment] = message["attachments"]
        assert attachment["name"] == "Q3 planning agenda.txt"

        saved = await call(client, "download_attachment", {"message_id": agenda["id"], "attachment_id": attachment["id"]})
        assert saved["path"] == str(downloads / "Q3 planning agenda.txt")
        assert (downloads / "Q3 planning agenda.txt").read_bytes() == emu.graph.mail.attachment_bytes(
            agenda["id"], attachment["id"])

        found = await call(client, "search_messages", {"query": "Fabrikam"})
        assert {m["subject"] for m in found["messages"]} == {
            "Customer escalation: Fabrikam order #48213", "Re: Customer escalation: Fabrikam order #48213"}

        folders = {f["id"]: f for f in (await call(client, "list_mail_folders", {}))["folders"]}
        inbox = next(f for f in emu.graph.folders if f["id"] == "inbox")
        assert folders["inbox"]["unread_count"] == inbox["unreadItemCount"] > 0
        assert folders["inbox"]["total_count"] == inbox["totalItemCount"]
    assert emu.counts["authorize"] == 1  # one sign-in for everything (User.Read was never needed)
    assert emu.counts["graph GET /me/messages"] == 4  # three pages and one search


async def test_a_403_for_a_withheld_scope_becomes_one_consent_sign_in(setup: ServerSetup):
    emu = setup.emulator
    async with setup.client() as client:
        await call(client, "whoami", {})
        emu.withhold_scopes({"Mail.Read"})  # the next refresh yields a token without Mail.Read in scp
        emu.reset_counts()
        data = await call(client, "list_messages", {"limit": 5})
    assert 0 < len(data["messages"]) <= 5  # a Teams chat among the 5 items is left out
    assert emu.counts["token.refresh_token"] == 1  # Mail.Read "granted" silently, but not in the token
    assert emu.counts["graph GET /me/messages"] == 2  # 403, then 200
    assert emu.counts["authorize"] == 1  # exactly one extra sign-in: the consent
    assert emu.counts["token.authorization_code"] == 1


async def test_read_only_hides_writes_and_a_confirmed_send_reaches_graph(setup: ServerSetup):
    emu = setup.emulator
    async with setup.client() as client:
        read_only = {t.name for t in (await client.list_tools()).tools}
    assert {"list_messages", "get_message", "list_events", "find_free_time"} <= read_only
    assert not WRITES & read_only
    assert emu.counts["authorize"] == 0  # listing tools never signs in

    async with setup.client(LOCAL_MCP_ALLOW_WRITES="1", LOCAL_MCP_CONFIRM_WRITES="model") as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert WRITES <= set(tools) and tools["send_message"].annotations.destructive_hint is True
        sent = await call(client, "send_message", {
            "to": ["megan@contoso.example"], "subject": "Thursday", "body": "Agenda attached.", "confirm": True})
        first = emu.graph.messages[0]
        reply = await call(client, "reply_to_message", {"message_id": first["id"], "comment": "Thanks!", "confirm": True})
    assert sent["sent"] is True
    [mail] = emu.sent_mail
    assert mail["message"]["toRecipients"] == [{"emailAddress": {"address": "megan@contoso.example"}}]
    assert mail["message"]["subject"] == "Thursday"
    assert reply["recipients"] == ["megan@contoso.example"]
    assert emu.graph.mail.replies[0]["comment"] == "Thanks!"


async def test_calendar_window_details_free_time_and_writes(setup: ServerSetup):
    emu = setup.emulator
    async with setup.client(LOCAL_MCP_ALLOW_WRITES="1", LOCAL_MCP_CONFIRM_WRITES="model") as client:
        today = await call(client, "list_events", {"start": day(0).isoformat(), "end": day(1).isoformat()})
        assert [e["subject"] for e in today["events"]] == ["Daily standup", "Design review: Project Falcon", "1:1 with Isaiah"]
        assert today["events"][1]["start"] == (day(0) + timedelta(hours=14)).isoformat()
        assert today["time_zone"] == "UTC" and today["time_zone_note"] is None  # read from the emulator's mailboxSettings

        details = await call(client, "get_event", {"event_id": today["events"][1]["id"]})
        assert [(a["email"], a["response"]) for a in details["attendees"]] == [
            ("megan@contoso.example", "accepted"), ("alex@contoso.example", "accepted")]
        assert details["online_meeting_url"].startswith("https://teams.microsoft.com/")
        assert details["body"] == "Design review: Project Falcon. Agenda to follow."

        free = await call(client, "find_free_time", {
            "attendees": ["pradeep@contoso.example", "ghost@nowhere.example"], "duration_minutes": 60,
            "start": day(1).isoformat(), "end": day(2).isoformat(), "include_weekends": True})
        tomorrow = day(1)
        assert [(s["start"], s["end"]) for s in free["slots"]] == [
            ((tomorrow + timedelta(hours=9, minutes=15)).isoformat(), (tomorrow + timedelta(hours=11)).isoformat()),
            ((tomorrow + timedelta(hours=12)).isoformat(), (tomorrow + timedelta(hours=13)).isoformat()),
            ((tomorrow + timedelta(hours=13, minutes=45)).isoformat(), (tomorrow + timedelta(hours=17)).isoformat()),
        ]
        assert free["checked"] == [USER.email, "pradeep@contoso.example"]
        assert [p["email"] for p in free["unavailable"]] == ["ghost@nowhere.example"]

        start = day(20) + timedelta(hours=10)
        created = await call(client, "create_event", {
            "subject": "Pricing sync", "start": start.isoformat(), "end": (start + timedelta(hours=1)).isoformat(),
            "attendees": ["alex@contoso.example"], "online_meeting": True, "confirm": True})
        assert created["invited"] == ["alex@contoso.example"] and created["online_meeting_url"]
        later = await call(client, "list_events", {"start": day(20).isoformat(), "end": day(21).isoformat()})
        assert [e["id"] for e in later["events"]] == [created["id"]]

        invitation = next(e for e in emu.graph.events if e["subject"] == "Customer call: Fabrikam")
        answer = await call(client, "respond_to_event", {
            "event_id": invitation["id"], "response": "accept", "comment": "See you there", "confirm": True})
    assert answer["organizer_notified"] is True
    assert emu.graph.calendar.created[0]["attendees"][0]["emailAddress"]["address"] == "alex@contoso.example"
    assert emu.graph.calendar.responses == [
        {"eventId": invitation["id"], "action": "accept", "comment": "See you there", "sendResponse": True}]
    assert emu.counts["authorize"] == 1  # Calendars.ReadWrite came silently, by refresh token


async def test_a_send_is_never_repeated_after_a_gateway_error_but_is_after_throttling(setup: ServerSetup):
    emu = setup.emulator
    message = {"to": ["megan@contoso.example"], "subject": "Once", "body": "Only once.", "confirm": True}
    async with setup.client(LOCAL_MCP_ALLOW_WRITES="1", LOCAL_MCP_CONFIRM_WRITES="model") as client:
        await call(client, "whoami", {})
        # 504: Graph may have sent it already, so the tool must not send again by itself.
        emu.inject("graph POST /me/sendMail", status=504)
        emu.reset_counts()
        failed = await client.call_tool("send_message", message)
        assert failed.is_error and "504" in text_of(failed)
        assert emu.counts["graph POST /me/sendMail"] == 1
        # 429: Graph did nothing yet; one retry after Retry-After sends it exactly once.
        emu.inject("graph POST /me/sendMail", status=429, retry_after=1)
        emu.reset_counts()
        await call(client, "send_message", message)
    assert emu.counts["graph POST /me/sendMail"] == 2
    assert [m["message"]["subject"] for m in emu.sent_mail] == ["Once"]
