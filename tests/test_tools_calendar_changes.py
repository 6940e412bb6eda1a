"""update_event, cancel_event, calendar_id and shared calendars (mailbox) on the fake Graph."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp_types import ElicitResult

from local_mcp.tools._common import DECLARED
from tests.fakes import FakeApp
from tests.graph_fake import accept, body_of, page, person, query, scopes_asked, text_of, tool_server

EVENT_ID = "EV/2="
EVENT_PATH = "/me/events/EV%2F2%3D"
ME = person("Adele Vance", "adele@contoso.example")
MEGAN = person("Megan Bowen", "megan@contoso.example")
ALEX = person("Alex Wilber", "alex@contoso.example")


def when(moment: str) -> dict[str, str]:
    return {"dateTime": moment, "timeZone": "UTC"}


MINE = {
    "id": EVENT_ID, "subject": "Pricing", "start": when("2026-03-04T10:00:00.0000000"),
    "end": when("2026-03-04T11:00:00.0000000"), "location": {"displayName": "Baker"}, "organizer": ME,
    "isOrganizer": True, "isCancelled": False,
    "attendees": [{"type": "required", "status": {"response": "accepted", "time": "2026-03-01T08:00:00Z"}, **ALEX}],
}
INVITATION = {**MINE, "organizer": MEGAN, "isOrganizer": False}
ALONE = {**MINE, "attendees": []}


@pytest.fixture
def writes(settings):
    return settings.with_changes(allow_writes=True)


@pytest.fixture
def client_for(make_provider, graph, writes):
    app = FakeApp()

    def make(s=None, **client_args):
        return Client(tool_server(make_provider, s or writes, graph, app), **client_args)

    make.app = app  # type: ignore[attr-defined]
    return make


def decline(seen: list[Any]) -> Any:
    async def callback(context: Any, params: Any) -> ElicitResult:
        seen.append(params)
        return ElicitResult(action="decline")

    return callback


# ----- update_event ---------------------------------------------------------------------------


async def test_update_event_moves_the_meeting_after_the_user_agrees(client_for, graph):
    graph.answer("GET", EVENT_PATH, MINE)
    graph.answer("PATCH", EVENT_PATH, {**MINE, "start": when("2026-03-05T14:00:00.0000000"),
                                       "end": when("2026-03-05T15:00:00.0000000")})
    seen: list[Any] = []
    async with client_for(mode="legacy", elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("update_event", {
            "event_id": EVENT_ID, "start": "2026-03-05T14:00:00Z", "end": "2026-03-05T15:00:00Z"})
    assert not result.is_error, text_of(result)
    assert len(seen) == 1 and "alex@contoso.example" in seen[0].message and "2026-03-05T14:00:00" in seen[0].message
    assert body_of(graph.only("PATCH", EVENT_PATH)) == {
        "start": when("2026-03-05T14:00:00"), "end": when("2026-03-05T15:00:00")}
    assert graph.only("PATCH", EVENT_PATH).headers["Prefer"] == 'outlook.timezone="UTC"'
    out = result.structured_content
    assert out["changed"] == ["start", "end"] and out["notified"] == ["alex@contoso.example"]
    assert out["start"].startswith("2026-03-05T14:00:00")


async def test_update_event_declined_by_the_user_changes_nothing(client_for, graph):
    graph.answer("GET", EVENT_PATH, MINE)
    seen: list[Any] = []
    async with client_for(mode="legacy", elicitation_callback=decline(seen)) as client:
        result = await client.call_tool("update_event", {"event_id": EVENT_ID, "subject": "Pricing v2"})
    assert result.is_error and "did not confirm" in text_of(result)
    assert len(seen) == 1 and not graph.sent("PATCH")


async def test_update_event_adds_and_removes_attendees_in_one_patch(client_for, graph):
    graph.answer("GET", EVENT_PATH, MINE)
    graph.answer("PATCH", EVENT_PATH, lambda request: __import__("httpx").Response(200, json={**MINE, **body_of(request)}))
    seen: list[Any] = []
    async with client_for(mode="legacy", elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("update_event", {
            "event_id": EVENT_ID, "add_attendees": ["lee@contoso.example"], "remove_attendees": ["alex@contoso.example"]})
    assert not result.is_error, text_of(result)
    assert body_of(graph.only("PATCH", EVENT_PATH))["attendees"] == [
        {"emailAddress": {"address": "lee@contoso.example"}, "type": "required"}]
    # the removed person gets a cancellation, the added one an invitation: both are named in the question
    assert "alex@contoso.example" in seen[0].message and "lee@contoso.example" in seen[0].message
    assert result.structured_content["attendees"] == ["lee@contoso.example"]


async def test_update_event_on_an_appointment_of_your_own_needs_no_question(client_for, graph):
    graph.answer("GET", EVENT_PATH, ALONE)
    graph.answer("PATCH", EVENT_PATH, {**ALONE, "location": {"displayName": "Rainier"}})
    async with client_for() as client:  # no elicitation: would be refused if a question were needed
        result = await client.call_tool("update_event", {"event_id": EVENT_ID, "location": "Rainier"})
    assert not result.is_error, text_of(result)
    assert body_of(graph.only("PATCH", EVENT_PATH)) == {"location": {"displayName": "Rainier"}}
    assert result.structured_content["notified"] == []


async def test_update_event_refuses_invitations_bad_input_and_no_change(client_for, graph):
    graph.answer("GET", EVENT_PATH, INVITATION)
    async with client_for() as client:
        invited = await client.call_tool("update_event", {"event_id": EVENT_ID, "subject": "Mine now", "confirm": True})
        nothing = await client.call_tool("update_event", {"event_id": EVENT_ID})
        backwards = await client.call_tool("update_event", {"event_id": EVENT_ID, "start": "tomorrow"})
    assert invited.is_error and "do not organize" in text_of(invited) and "megan@contoso.example" in text_of(invited)
    assert nothing.is_error and "Nothing to change" in text_of(nothing)
    assert backwards.is_error and "start" in text_of(backwards)
    assert not graph.sent("PATCH")


async def test_update_event_refuses_an_end_before_the_start(client_for, graph):
    graph.answer("GET", EVENT_PATH, MINE)
    async with client_for(mode="legacy", elicitation_callback=accept([])) as client:
        result = await client.call_tool("update_event", {"event_id": EVENT_ID, "start": "2026-03-04T12:00:00Z"})
    assert result.is_error and "end before it starts" in text_of(result)
    assert not graph.sent("PATCH")


# ----- cancel_event -----------------------------------------------------------------------------


async def test_cancel_event_as_organizer_sends_the_cancellation_with_the_message(client_for, graph):
    graph.answer("GET", EVENT_PATH, MINE)
    graph.answer("POST", EVENT_PATH + "/cancel", status=202)
    seen: list[Any] = []
    async with client_for(mode="legacy", elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("cancel_event", {"event_id": EVENT_ID, "comment": "Moved to next quarter."})
    assert not result.is_error, text_of(result)
    assert seen[0].message.startswith('Cancel "Pricing"') and "Moved to next quarter." in seen[0].message
    assert body_of(graph.only("POST", EVENT_PATH + "/cancel")) == {"comment": "Moved to next quarter."}
    assert result.structured_content["action"] == "cancelled"
    assert result.structured_content["notified"] == ["alex@contoso.example"]


async def test_cancel_event_on_an_invitation_declines_and_tells_the_organizer(client_for, graph):
    graph.answer("GET", EVENT_PATH, INVITATION)
    graph.answer("POST", EVENT_PATH + "/decline", status=202)
    seen: list[Any] = []
    async with client_for(mode="legacy", elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("cancel_event", {"event_id": EVENT_ID, "comment": "Out that week."})
    assert not result.is_error, text_of(result)
    assert "megan@contoso.example" in seen[0].message
    assert body_of(graph.only("POST", EVENT_PATH + "/decline")) == {"sendResponse": True, "comment": "Out that week."}
    assert not graph.sent("POST", EVENT_PATH + "/cancel") and not graph.sent("DELETE")
    assert result.structured_content["action"] == "declined"


async def test_cancel_event_deletes_an_invitation_only_when_asked(client_for, graph):
    graph.answer("GET", EVENT_PATH, INVITATION)
    graph.answer("DELETE", EVENT_PATH, status=204)
    seen: list[Any] = []
    async with client_for(mode="legacy", elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("cancel_event", {"event_id": EVENT_ID, "if_invited": "delete"})
    assert not result.is_error, text_of(result)
    assert "without telling megan@contoso.example" in seen[0].message
    assert graph.only("DELETE", EVENT_PATH).content == b""
    assert result.structured_content["action"] == "deleted" and result.structured_content["notified"] == []


async def test_cancel_event_declined_by_the_user_sends_nothing(client_for, graph):
    graph.answer("GET", EVENT_PATH, MINE)
    async with client_for(mode="legacy", elicitation_callback=decline([])) as client:
        result = await client.call_tool("cancel_event", {"event_id": EVENT_ID})
    assert result.is_error and "did not confirm" in text_of(result)
    assert not graph.sent("POST") and not graph.sent("DELETE")


async def test_cancel_event_without_attendees_deletes_the_appointment(client_for, graph):
    graph.answer("GET", EVENT_PATH, ALONE)
    graph.answer("DELETE", EVENT_PATH, status=204)
    async with client_for(mode="legacy", elicitation_callback=accept([])) as client:
        result = await client.call_tool("cancel_event", {"event_id": EVENT_ID})
    assert not result.is_error, text_of(result)
    assert result.structured_content["action"] == "deleted" and not graph.sent("POST")


async def test_update_and_cancel_are_writes_with_calendars_readwrite(settings):
    tool_server_settings = settings.with_changes(allow_writes=True)
    from local_mcp.server import create_server

    create_server(tool_server_settings)
    for name in ("update_event", "cancel_event"):
        assert DECLARED[name].write and DECLARED[name].scopes == ("Calendars.ReadWrite",)


# ----- calendar_id and mailbox ------------------------------------------------------------------------


async def test_list_events_in_one_calendar_and_create_an_event_there(client_for, graph):
    graph.answer("GET", "/me/calendars/CAL%2F1/calendarView", page([]))
    graph.answer("POST", "/me/calendars/CAL%2F1/events", {**ALONE, "id": "new"}, status=201)
    async with client_for(elicitation_callback=accept([])) as client:
        listed = await client.call_tool("list_events", {"calendar_id": "CAL/1"})
        created = await client.call_tool("create_event", {
            "calendar_id": "CAL/1", "subject": "Focus", "start": "2026-03-02T09:00:00Z", "end": "2026-03-02T10:00:00Z"})
    assert not listed.is_error and not created.is_error, (text_of(listed), text_of(created))
    assert query(graph.only("GET", "/me/calendars/CAL%2F1/calendarView"))["startDateTime"]
    assert body_of(graph.only("POST", "/me/calendars/CAL%2F1/events"))["subject"] == "Focus"


async def test_a_shared_calendar_is_read_with_calendars_read_shared(client_for, graph):
    graph.answer("GET", "/users/megan@contoso.example/calendarView", page([INVITATION]))
    graph.answer("GET", "/users/megan@contoso.example/calendars/C1/calendarView", page([]))
    graph.answer("GET", "/users/megan@contoso.example/events/EV%2F2%3D", INVITATION)
    async with client_for() as client:
        listed = await client.call_tool("list_events", {"mailbox": "megan@contoso.example"})
        in_one = await client.call_tool("list_events", {"mailbox": "megan@contoso.example", "calendar_id": "C1"})
        one = await client.call_tool("get_event", {"mailbox": "megan@contoso.example", "event_id": EVENT_ID})
    assert not listed.is_error and not in_one.is_error and not one.is_error, text_of(listed)
    assert listed.structured_content["events"][0]["subject"] == "Pricing"
    asked = scopes_asked(client_for.app)
    assert "Calendars.Read.Shared" in asked and "Calendars.Read" not in asked


@pytest.mark.parametrize("bad", ["../me", "a/b@contoso.com", "x@contoso.com?$top=1", "x@contoso.com#", "..", "me%2f"])
async def test_a_mailbox_that_is_not_a_upn_or_id_is_refused_before_any_call(client_for, graph, bad):
    async with client_for() as client:
        result = await client.call_tool("list_events", {"mailbox": bad})
    assert result.is_error and "is not a mailbox" in text_of(result)
    assert graph.requests == []


# ----- issue 13 leftovers: attendees already invited, online meeting descriptions, list_calendars(mailbox) -----


async def test_update_event_with_only_already_invited_attendees_sends_no_attendee_update(client_for, graph):
    graph.answer("GET", EVENT_PATH, MINE)
    graph.answer("PATCH", EVENT_PATH, {**MINE, "subject": "Pricing v2"})
    seen: list = []
    async with client_for(elicitation_callback=accept(seen)) as client:
        same = await client.call_tool("update_event", {"event_id": EVENT_ID, "add_attendees": ["ALEX@contoso.example"]})
        assert same.is_error and "Nothing would change" in text_of(same)
        assert graph.sent("PATCH") == []
        renamed = await client.call_tool("update_event", {"event_id": EVENT_ID, "subject": "Pricing v2",
                                                          "add_attendees": ["alex@contoso.example"]})
    assert not renamed.is_error, text_of(renamed)
    assert body_of(graph.only("PATCH", EVENT_PATH)) == {"subject": "Pricing v2"}  # no attendees collection
    assert renamed.structured_content["changed"] == ["subject"]


async def test_update_event_adding_one_attendee_notifies_only_that_attendee(client_for, graph):
    graph.answer("GET", EVENT_PATH, MINE)
    graph.answer("PATCH", EVENT_PATH, {**MINE, "attendees": MINE["attendees"] + [{"type": "required", **MEGAN}]})
    seen: list = []
    async with client_for(elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("update_event", {"event_id": EVENT_ID, "add_attendees": ["megan@contoso.example"]})
    assert not result.is_error, text_of(result)
    # event-update.md: an update of only the attendees goes to the attendees that changed
    assert result.structured_content["notified"] == ["megan@contoso.example"]
    assert "alex@" not in seen[0].message.split("Update goes to")[1]


ONLINE_BODY = ('<html><body><div>Agenda: prices</div><div style="width:100%"><span>' + "_" * 60 + '</span></div>'
               '<div><a href="https://teams.example/join/9">Join the meeting now</a></div></body></html>')
ONLINE = {**ALONE, "isOnlineMeeting": True, "onlineMeeting": {"joinUrl": "https://teams.example/join/9"},
          "body": {"contentType": "html", "content": ONLINE_BODY}}


async def test_a_new_description_of_an_online_meeting_keeps_the_join_information(client_for, graph):
    graph.answer("GET", EVENT_PATH, ONLINE)
    graph.answer("PATCH", EVENT_PATH, ONLINE)
    async with client_for() as client:
        result = await client.call_tool("update_event", {"event_id": EVENT_ID, "body": "New agenda:\n1. <costs>"})
    assert not result.is_error, text_of(result)
    assert "body" in query(graph.only("GET", EVENT_PATH))["$select"].split(",")
    sent = body_of(graph.only("PATCH", EVENT_PATH))["body"]
    assert sent["contentType"] == "html" and sent["content"].startswith("<div>New agenda:<br>1. &lt;costs&gt;</div>")
    assert "https://teams.example/join/9" in sent["content"] and "Agenda: prices" not in sent["content"]


async def test_an_online_meeting_whose_join_information_is_not_found_keeps_its_description(client_for, graph):
    graph.answer("GET", EVENT_PATH, {**ONLINE, "body": {"contentType": "html", "content": "<p>edited by hand</p>"}})
    async with client_for() as client:
        result = await client.call_tool("update_event", {"event_id": EVENT_ID, "body": "New agenda"})
    assert result.is_error and "Teams link" in text_of(result) and graph.sent("PATCH") == []


async def test_list_calendars_of_a_shared_mailbox(client_for, graph):
    desk = "servicedesk@contoso.example"
    graph.answer("GET", f"/users/{desk}/calendars", page([{"id": "dc", "name": "Calendar", "isDefaultCalendar": True,
                                                           "canEdit": True, "owner": {"name": "IT Service Desk", "address": desk}}]))
    async with client_for() as client:
        result = await client.call_tool("list_calendars", {"mailbox": desk})
    assert not result.is_error, text_of(result)
    assert result.structured_content["calendars"][0]["owner"] == desk
    assert "Calendars.Read.Shared" in scopes_asked(client_for.app) and DECLARED["list_calendars"].alternative_scopes == ("Calendars.Read.Shared",)
