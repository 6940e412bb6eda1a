"""list_calendars through the real process against the emulator."""

from __future__ import annotations

import pytest

from tests.integration.conftest import USER, ServerSetup

pytestmark = pytest.mark.integration


async def test_list_calendars_shows_mine_and_the_shared_one(setup: ServerSetup):
    async with setup.client(LOCAL_MCP_TOOLSETS="calendar") as client:
        result = await client.call_tool("list_calendars", {})
    assert not result.is_error, result.content
    calendars = result.structured_content["calendars"]
    assert [(c["owner"], c["is_default"], c["shared_with_me"]) for c in calendars] == [
        (USER.email, True, False), ("megan@contoso.example", False, True)]


async def test_move_a_meeting_and_cancel_one_confirmed_and_declined(setup: ServerSetup):
    """update_event and cancel_event through the real process: the person says yes, then no."""
    from mcp_types import ElicitResult

    from tests.graph_fake import accept

    emu = setup.emulator
    meeting = next(e for e in emu.graph.events if e["isOrganizer"] and e["attendees"])
    invited = next(e for e in emu.graph.events if not e["isOrganizer"])
    title = meeting["subject"]  # the emulator changes `meeting` in place
    answers: list[str] = []
    seen: list = []
    yes = accept(seen)

    async def person(context, params):
        if answers and answers.pop(0) == "no":
            seen.append(params)
            return ElicitResult(action="decline")
        return await yes(context, params)

    env = {"LOCAL_MCP_ALLOW_WRITES": "1", "LOCAL_MCP_TOOLSETS": "calendar"}
    async with setup.client(elicitation_callback=person, **env) as client:
        moved = await client.call_tool("update_event", {
            "event_id": meeting["id"], "subject": "Moved: " + title, "location": "Conf Room Adams"})
        assert not moved.is_error, moved.content
        assert moved.structured_content["notified"] == sorted(a["emailAddress"]["address"] for a in meeting["attendees"])
        assert emu.graph.event_manage.updates[-1]["changes"] == {
            "subject": "Moved: " + title, "location": {"displayName": "Conf Room Adams"}}

        answers.append("no")
        kept = await client.call_tool("cancel_event", {"event_id": meeting["id"], "comment": "Sorry"})
        assert kept.is_error and "did not confirm" in kept.content[0].text
        assert emu.graph.event_manage.cancelled == [] and meeting in emu.graph.events

        cancelled = await client.call_tool("cancel_event", {"event_id": meeting["id"], "comment": "Sorry"})
        assert not cancelled.is_error and cancelled.structured_content["action"] == "cancelled"
        assert emu.graph.event_manage.cancelled == [{"eventId": meeting["id"], "comment": "Sorry"}]

        declined = await client.call_tool("cancel_event", {"event_id": invited["id"], "comment": "Away"})
        assert not declined.is_error and declined.structured_content["action"] == "declined"
        assert emu.graph.calendar.responses[-1] == {"eventId": invited["id"], "action": "decline",
                                                    "comment": "Away", "sendResponse": True}
    assert len(seen) == 4 and seen[1].message.startswith(f'Cancel "Moved: {title}"')


async def test_shared_calendar_and_mailbox_are_read_with_the_shared_scopes(setup: ServerSetup):
    emu = setup.emulator
    desk = emu.graph.shared.desk_address
    async with setup.client() as client:
        events = await client.call_tool("list_events", {"mailbox": desk, "start": "2000-01-01", "end": "2100-01-01"})
        assert not events.is_error, events.content
        assert [e["subject"] for e in events.structured_content["events"]] == [
            "Service desk shift handover", "Patch Tuesday rollout"]
        mail = await client.call_tool("list_messages", {"mailbox": desk, "folder": "inbox"})
        assert not mail.is_error, mail.content
        first = mail.structured_content["messages"][0]
        assert first["subject"] == "Laptop will not boot"
        read = await client.call_tool("get_message", {"mailbox": desk, "message_id": first["id"]})
        assert not read.is_error and "blue screen" in read.structured_content["body"]
        mine = await client.call_tool("list_calendars", {})
        shared_id = next(c["id"] for c in mine.structured_content["calendars"] if c["shared_with_me"])
        megan = await client.call_tool("list_events", {"calendar_id": shared_id, "start": "2000-01-01", "end": "2100-01-01"})
        assert not megan.is_error and megan.structured_content["events"]
        refused = await client.call_tool("list_messages", {"mailbox": "megan@contoso.example"})
        assert refused.is_error and "403" in refused.content[0].text
