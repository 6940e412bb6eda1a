"""Calendar tools through the SDK's in-memory client, with a fake MSAL app and a scripted Graph."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
from mcp import Client

from local_mcp.tools.calendar import availability, models as calendar
from local_mcp.tools._common import DECLARED
from tests.fakes import FakeApp
from tests.graph_fake import accept, body_of, page, person, query, text_of, tool_server

EVENT_ID = "EV/1="
EVENT_PATH = "/me/events/EV%2F1%3D"
UTC_PREFER = 'outlook.timezone="UTC"'


def when(moment: str) -> dict:
    return {"dateTime": moment, "timeZone": "UTC"}


MEGAN = person("Megan Bowen", "megan@contoso.example")
ALEX = person("Alex Wilber", "alex@contoso.example")
LEE = person("Lee Gu", "lee@contoso.example")
ME = "adele@contoso.example"

EVENT = {
    "id": EVENT_ID,
    "subject": "Q3 planning session",
    "start": when("2026-03-04T10:00:00.0000000"),
    "end": when("2026-03-04T12:00:00.0000000"),
    "isAllDay": False,
    "location": {"displayName": "Conf Room Baker"},
    "organizer": MEGAN,
    "isOnlineMeeting": True,
    "onlineMeeting": {"joinUrl": "https://teams.example/join/1"},
    "showAs": "busy",
    "isCancelled": False,
    "responseStatus": {"response": "notResponded", "time": "0001-01-01T00:00:00Z"},
    "webLink": "https://outlook.example/ev1",
    "body": {"contentType": "html", "content": "<html><body><p>Agenda: <b>pricing</b></p><p>Bring numbers.</p></body></html>"},
    "attendees": [
        {"type": "required", "status": {"response": "accepted", "time": "2026-03-01T08:00:00Z"}, **ALEX},
        {"type": "optional", "status": {"response": "none", "time": "0001-01-01T00:00:00Z"}, **LEE},
    ],
    "isOrganizer": False,
    "importance": "normal",
    "sensitivity": "normal",
    "type": "singleInstance",
}


@pytest.fixture
def app() -> FakeApp:
    return FakeApp()


@pytest.fixture
def writes(settings):
    return settings.with_changes(allow_writes=True)


@pytest.fixture
def client_for(make_provider, graph, settings, app):
    def make(s=None, **client_args):
        return Client(tool_server(make_provider, s or settings, graph, app), **client_args)

    return make


# ----- list_events / get_event -----------------------------------------------------------------------


async def test_list_events_defaults_to_the_next_seven_days_in_utc(client_for, graph):
    graph.answer("GET", "/me/calendarView", page([EVENT]))
    async with client_for() as client:
        result = await client.call_tool("list_events", {})
    assert not result.is_error, text_of(result)
    event = result.structured_content["events"][0]
    assert event["start"] == "2026-03-04T10:00:00+00:00" and event["end"] == "2026-03-04T12:00:00+00:00"
    assert event["organizer"] == {"name": "Megan Bowen", "email": "megan@contoso.example"}
    assert event["online_meeting_url"] == "https://teams.example/join/1"
    assert event["location"] == "Conf Room Baker" and event["my_response"] == "notResponded"
    sent = graph.only("GET", "/me/calendarView")
    params = query(sent)
    start = datetime.fromisoformat(params["startDateTime"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(params["endDateTime"].replace("Z", "+00:00"))
    assert abs((datetime.now(timezone.utc) - start).total_seconds()) < 60 and end - start == timedelta(days=7)
    assert params["$select"] == calendar._LIST_FIELDS and params["$orderby"] == "start/dateTime"
    assert params["$top"] == "10"
    assert sent.headers["Prefer"] == UTC_PREFER


async def test_list_events_takes_a_window_with_offsets_and_pages(client_for, graph):
    graph.answer("GET", "/me/calendarView", page([EVENT], "/me/calendarView?startDateTime=x&$skip=1"))
    async with client_for() as client:
        first = await client.call_tool(
            "list_events", {"start": "2026-03-02T09:00:00+02:00", "end": "2026-03-03", "limit": 1}
        )
        data = first.structured_content
        assert data["window_start"] == "2026-03-02T07:00:00+00:00" and data["window_end"] == "2026-03-03T00:00:00+00:00"
        second = await client.call_tool("list_events", {"cursor": data["page"]["cursor"]})
    assert not second.is_error
    first_sent, next_sent = graph.sent("GET", "/me/calendarView")
    assert query(first_sent)["startDateTime"] == "2026-03-02T07:00:00Z"
    assert query(first_sent)["endDateTime"] == "2026-03-03T00:00:00Z"
    assert query(next_sent) == {"startDateTime": "x", "$skip": "1"}
    assert next_sent.headers["Prefer"] == UTC_PREFER  # the next page is in UTC too


async def test_list_events_refuses_an_end_before_the_start(client_for, graph):
    async with client_for() as client:
        result = await client.call_tool("list_events", {"start": "2026-03-03", "end": "2026-03-02"})
        bad_date = await client.call_tool("list_events", {"start": "next tuesday"})
    assert result.is_error and "`end` must be after `start`" in text_of(result)
    assert bad_date.is_error and "ISO 8601" in text_of(bad_date)
    assert graph.requests == []


async def test_get_event_gives_attendees_responses_body_text_and_join_link(client_for, graph):
    graph.answer("GET", EVENT_PATH, EVENT)
    async with client_for() as client:
        result = await client.call_tool("get_event", {"event_id": EVENT_ID})
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data["body"] == "Agenda: pricing\n\nBring numbers." and data["truncated"] is False
    assert data["attendees"] == [
        {"name": "Alex Wilber", "email": "alex@contoso.example", "type": "required", "response": "accepted",
         "responded_at": "2026-03-01T08:00:00+00:00"},
        {"name": "Lee Gu", "email": "lee@contoso.example", "type": "optional", "response": "none", "responded_at": None},
    ]
    assert data["online_meeting_url"] == "https://teams.example/join/1" and data["is_organizer"] is False
    sent = graph.only("GET", EVENT_PATH)
    assert query(sent) == {"$select": calendar._DETAIL_FIELDS} and sent.headers["Prefer"] == UTC_PREFER


# ----- find_free_time ----------------------------------------------------------------------------------


def schedule(address: str, *items: tuple[str, str, str]) -> dict:
    return {
        "scheduleId": address,
        "availabilityView": "",
        "scheduleItems": [{"status": status, "start": when(s), "end": when(e)} for status, s, e in items],
    }


async def test_find_free_time_merges_everyones_busy_times_within_working_days(client_for, graph):
    graph.answer("GET", "/me/calendar", {"owner": {"name": "Adele Vance", "address": ME}})
    graph.answer("POST", "/me/calendar/getSchedule", {"value": [
        schedule(ME,
                 ("busy", "2026-03-06T09:00:00.0000000", "2026-03-06T10:30:00.0000000"),
                 ("tentative", "2026-03-06T13:00:00.0000000", "2026-03-06T13:30:00.0000000"),
                 ("workingElsewhere", "2026-03-09T12:00:00.0000000", "2026-03-09T12:30:00.0000000")),
        schedule("alex@contoso.example",
                 ("Busy", "2026-03-06T10:00:00.0000000", "2026-03-06T11:00:00.0000000"),
                 ("oof", "2026-03-06T15:30:00.0000000", "2026-03-07T09:00:00.0000000")),
        {"scheduleId": "ghost@contoso.example",
         "error": {"message": "The mailbox could not be found.", "responseCode": "ErrorMailRecipientNotFound"}},
    ]})
    arguments = {
        "attendees": ["alex@contoso.example", "ghost@contoso.example"],
        "duration_minutes": 60,
        "start": "2026-03-06T00:00:00Z",  # a Friday
        "end": "2026-03-10T00:00:00Z",
        "limit": 2,
    }
    async with client_for() as client:
        result = await client.call_tool("find_free_time", arguments)
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data["slots"] == [
        {"start": "2026-03-06T11:00:00+00:00", "end": "2026-03-06T13:00:00+00:00", "minutes": 120},
        {"start": "2026-03-06T13:30:00+00:00", "end": "2026-03-06T15:30:00+00:00", "minutes": 120},
    ]
    assert data["more_slots"] is True  # Monday 09:00-17:00 is free too (Saturday and Sunday are skipped)
    assert data["checked"] == [ME, "alex@contoso.example"]
    assert data["unavailable"] == [{"email": "ghost@contoso.example", "reason": "The mailbox could not be found."}]
    assert data["working_hours"] == "09:00-17:00 UTC, Monday to Friday"
    assert query(graph.only("GET", "/me/calendar")) == {"$select": "owner"}
    sent = graph.only("POST", "/me/calendar/getSchedule")
    assert body_of(sent) == {
        "schedules": [ME, "alex@contoso.example", "ghost@contoso.example"],
        "startTime": {"dateTime": "2026-03-06T00:00:00", "timeZone": "UTC"},
        "endTime": {"dateTime": "2026-03-10T00:00:00", "timeZone": "UTC"},
        "availabilityViewInterval": 30,
    }
    assert sent.headers["Prefer"] == UTC_PREFER


async def test_find_free_time_checks_its_arguments_before_calling_graph(client_for, graph):
    async with client_for() as client:
        long = await client.call_tool("find_free_time", {"start": "2026-03-01", "end": "2026-04-15"})
        crowd = await client.call_tool("find_free_time", {"attendees": [f"p{n}@contoso.example" for n in range(20)]})
        hours = await client.call_tool("find_free_time", {"day_start": "17:00", "day_end": "09:00"})
        clock = await client.call_tool("find_free_time", {"day_start": "9am"})
    assert "at most 31 days" in text_of(long)
    assert "at most 19 people" in text_of(crowd)
    assert "`day_end` must be after `day_start`" in text_of(hours)
    assert "time of day" in text_of(clock)
    assert graph.requests == []


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def test_free_slots_rounds_the_start_and_can_include_weekends():
    slots = availability.free_slots(
        [(at("2026-03-07T10:30"), at("2026-03-07T11:00"))],
        at("2026-03-07T10:07"),  # a Saturday, mid-morning
        at("2026-03-08T23:00"),
        duration=timedelta(minutes=30),
        day_start=time(10),
        day_end=time(12),
        weekends=True,
    )
    assert slots == [
        (at("2026-03-07T11:00"), at("2026-03-07T12:00")),  # 10:15-10:30 is too short
        (at("2026-03-08T10:00"), at("2026-03-08T12:00")),
    ]


def test_busy_times_come_from_the_availability_view_when_items_are_missing():
    start = at("2026-03-02T09:00")
    busy = availability._busy_from({"availabilityView": "0214"}, start, 30)
    assert busy == [(at("2026-03-02T09:30"), at("2026-03-02T10:00")), (at("2026-03-02T10:00"), at("2026-03-02T10:30"))]


# ----- writes: listing ----------------------------------------------------------------------------------


async def test_calendar_write_tools_are_hidden_unless_writes_are_allowed(client_for, writes):
    async with client_for() as client:
        read_only = {t.name for t in (await client.list_tools()).tools}
    async with client_for(writes) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert {"list_events", "get_event", "find_free_time"} <= read_only
    assert not {"create_event", "respond_to_event"} & read_only
    assert {"send_message", "reply_to_message", "create_event", "respond_to_event"} <= {
        name for name, info in DECLARED.items() if info.write
    }
    create, respond = tools["create_event"].annotations, tools["respond_to_event"].annotations
    assert (create.read_only_hint, create.destructive_hint, create.idempotent_hint, create.open_world_hint) == (False, False, False, True)
    assert (respond.read_only_hint, respond.destructive_hint, respond.idempotent_hint) == (False, True, False)
    assert tools["find_free_time"].annotations.read_only_hint is True
    assert DECLARED["create_event"].scopes == ("Calendars.ReadWrite",)
    assert DECLARED["find_free_time"].scopes == ("Calendars.Read",)


# ----- create_event -----------------------------------------------------------------------------------


CREATED = {**EVENT, "id": "new-1", "subject": "Focus time", "isOrganizer": True, "attendees": [],
           "start": when("2026-03-02T13:00:00.0000000"), "end": when("2026-03-02T14:30:00.0000000")}


async def test_create_event_for_yourself_asks_and_invites_nobody(client_for, graph, writes):
    graph.answer("POST", "/me/events", CREATED, status=201)
    arguments = {"subject": "Focus time", "start": "2026-03-02T14:00:00+01:00", "end": "2026-03-02T15:30:00+01:00",
                 "body": "No meetings.", "location": "Desk", "online_meeting": True}
    seen: list = []
    async with client_for(writes, elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("create_event", arguments)
    assert not result.is_error, text_of(result)
    assert "in your calendar (nobody is invited)" in seen[0].message
    data = result.structured_content
    assert data["id"] == "new-1" and data["start"] == "2026-03-02T13:00:00+00:00" and data["invited"] == []
    sent = graph.only("POST", "/me/events")
    assert body_of(sent) == {
        "subject": "Focus time",
        "start": {"dateTime": "2026-03-02T13:00:00", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-02T14:30:00", "timeZone": "UTC"},
        "attendees": [],
        "body": {"contentType": "text", "content": "No meetings."},
        "location": {"displayName": "Desk"},
        "isOnlineMeeting": True,
        "onlineMeetingProvider": "teamsForBusiness",
    }
    assert sent.headers["Prefer"] == UTC_PREFER


MEETING = {"subject": "Pricing", "start": "2026-03-02T13:00:00Z", "end": "2026-03-02T13:30:00Z",
           "attendees": ["alex@contoso.example"], "optional_attendees": ["lee@contoso.example"]}


async def test_create_event_with_attendees_asks_first(client_for, graph, writes, app):
    async with client_for(writes) as client:
        result = await client.call_tool("create_event", MEETING)
    assert result.is_error and "confirm=true" in text_of(result) and "alex@contoso.example" in text_of(result)
    assert app.count("interactive") == 1 and graph.requests == []


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_create_event_with_attendees_sends_invitations_once_the_user_agrees(client_for, graph, writes, mode):
    graph.answer("POST", "/me/events", {**CREATED, "subject": "Pricing"}, status=201)
    seen = []
    async with client_for(writes, mode=mode, elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("create_event", MEETING)
    assert not result.is_error, text_of(result)
    assert len(seen) == 1 and "alex@contoso.example, lee@contoso.example" in seen[0].message
    assert result.structured_content["invited"] == ["alex@contoso.example", "lee@contoso.example"]
    assert body_of(graph.only("POST", "/me/events"))["attendees"] == [
        {"emailAddress": {"address": "alex@contoso.example"}, "type": "required"},
        {"emailAddress": {"address": "lee@contoso.example"}, "type": "optional"},
    ]


# ----- respond_to_event ----------------------------------------------------------------------------------


async def test_decline_with_a_comment_asks_then_tells_the_organizer(client_for, graph, writes):
    graph.answer("GET", EVENT_PATH, EVENT)
    graph.answer("POST", EVENT_PATH + "/decline", status=202)
    seen = []
    async with client_for(writes, mode="legacy", elicitation_callback=accept(seen)) as client:
        result = await client.call_tool(
            "respond_to_event", {"event_id": EVENT_ID, "response": "decline", "comment": "On leave."}
        )
    assert not result.is_error, text_of(result)
    message = seen[0].message
    assert message.startswith('Decline "Q3 planning session"') and "megan@contoso.example" in message and "On leave." in message
    assert body_of(graph.only("POST", EVENT_PATH + "/decline")) == {"sendResponse": True, "comment": "On leave."}
    assert query(graph.only("GET", EVENT_PATH)) == {"$select": calendar._RESPOND_FIELDS}
    assert result.structured_content["organizer_notified"] is True


async def test_an_answer_nobody_is_told_of_is_still_confirmed(client_for, graph, writes):
    graph.answer("GET", EVENT_PATH, EVENT)
    graph.answer("POST", EVENT_PATH + "/tentativelyAccept", status=202)
    seen: list = []
    async with client_for(writes, elicitation_callback=accept(seen)) as client:
        result = await client.call_tool(
            "respond_to_event", {"event_id": EVENT_ID, "response": "tentativelyAccept", "send_response": False}
        )
    assert not result.is_error, text_of(result)
    assert body_of(graph.only("POST", EVENT_PATH + "/tentativelyAccept")) == {"sendResponse": False}
    assert result.structured_content["message"].startswith('Tentatively accepted "Q3 planning session"')
    assert "without telling" in seen[0].message


async def test_respond_refuses_your_own_meeting_and_unknown_answers(client_for, graph, writes):
    graph.answer("GET", EVENT_PATH, {**EVENT, "isOrganizer": True})
    async with client_for(writes) as client:
        own = await client.call_tool("respond_to_event", {"event_id": EVENT_ID, "response": "accept", "confirm": True})
        odd = await client.call_tool("respond_to_event", {"event_id": EVENT_ID, "response": "maybe"})
    assert own.is_error and "You organize" in text_of(own)
    assert odd.is_error
    assert not graph.sent("POST")
