"""The user's time zone (issue 9, section 3): mailboxSettings, Windows zone names, calendar tools in it."""

from __future__ import annotations

from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

import anyio
import pytest
from mcp import Client

from local_mcp.tools.timezones import WorkingHours, working_hours_from, zone_named
from tests.fakes import token_result
from tests.graph_fake import body_of, query, scopes_asked, text_of, tool_server

ME = "adele@contoso.example"
MAILBOX = "https://graph.example/MailboxSettings.Read"
# The shape of *Get user mailbox settings* (Graph docs, api-reference/v1.0/api/user-get-mailboxsettings.md).
NEW_YORK = {
    "timeZone": "Eastern Standard Time",
    "workingHours": {
        "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
        "startTime": "09:00:00.0000000", "endTime": "17:00:00.0000000",
        "timeZone": {"name": "Eastern Standard Time"},
    },
}


def test_windows_and_iana_names_map_through_cldr():
    assert zone_named("Pacific Standard Time") == ZoneInfo("America/Los_Angeles")
    assert zone_named("W. Europe Standard Time") == ZoneInfo("Europe/Berlin")
    assert zone_named("Asia/Kolkata") == ZoneInfo("Asia/Kolkata")
    assert zone_named("UTC") == ZoneInfo("UTC")
    assert zone_named("Customized Time Zone") is None and zone_named("") is None


def test_working_hours_follow_daylight_saving_time():
    hours = working_hours_from(NEW_YORK["workingHours"], ZoneInfo("UTC"))
    assert hours == WorkingHours(frozenset(range(5)), time(9), time(17), ZoneInfo("America/New_York"))
    winter = hours.intervals(datetime(2026, 3, 6, tzinfo=timezone.utc), datetime(2026, 3, 7, tzinfo=timezone.utc))
    summer = hours.intervals(datetime(2026, 3, 9, tzinfo=timezone.utc), datetime(2026, 3, 10, tzinfo=timezone.utc))
    assert [(s.hour, e.hour) for s, e in winter] == [(14, 22)]  # EST: UTC-5
    assert [(s.hour, e.hour) for s, e in summer] == [(13, 21)]  # EDT from 8 March 2026: UTC-4


@pytest.fixture
def signed_in(make_provider, settings, graph, fake_app):
    """A server whose user granted MailboxSettings.Read, in New York."""
    fake_app.tokens[(MAILBOX,)] = token_result([MAILBOX])
    graph.answer("GET", "/me/mailboxSettings", NEW_YORK)
    return tool_server(make_provider, settings, graph)


async def test_list_events_reads_naive_input_in_the_users_zone_and_answers_with_its_offset(signed_in, graph):
    graph.answer("GET", "/me/calendarView", {"value": [{
        "id": "e1", "subject": "Standup",
        "start": {"dateTime": "2026-03-02T14:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-03-02T14:15:00.0000000", "timeZone": "UTC"}}]})
    async with Client(signed_in) as client:
        result = await client.call_tool("list_events", {"start": "2026-03-02", "end": "2026-03-03"})
    assert not result.is_error, text_of(result)
    data = result.structured_content
    assert data["time_zone"] == "America/New_York" and data["time_zone_note"] is None
    assert data["window_start"] == "2026-03-02T00:00:00-05:00"
    assert data["events"][0]["start"] == "2026-03-02T09:00:00-05:00"
    sent = query(graph.only("GET", "/me/calendarView"))
    assert (sent["startDateTime"], sent["endDateTime"]) == ("2026-03-02T05:00:00Z", "2026-03-03T05:00:00Z")
    assert query(graph.only("GET", "/me/mailboxSettings")) == {"$select": "timeZone,workingHours"}


def _berlin_schedule(address: str) -> dict:
    return {"scheduleId": address, "availabilityView": "", "scheduleItems": [], "workingHours": {
        "daysOfWeek": ["monday", "tuesday", "wednesday", "thursday", "friday"],
        "startTime": "09:00:00.0000000", "endTime": "17:00:00.0000000", "timeZone": {"name": "W. Europe Standard Time"}}}


async def test_find_free_time_uses_each_persons_working_hours_and_zone(signed_in, graph):
    graph.answer("GET", "/me/calendar", {"owner": {"address": ME}})
    graph.answer("POST", "/me/calendar/getSchedule", {"value": [
        {"scheduleId": ME, "availabilityView": "", "scheduleItems": [
            {"status": "busy", "start": {"dateTime": "2026-03-02T14:00:00", "timeZone": "UTC"},
             "end": {"dateTime": "2026-03-02T14:30:00", "timeZone": "UTC"}}]},
        _berlin_schedule("anna@contoso.example"),
    ]})
    args = {"attendees": ["anna@contoso.example"], "start": "2026-03-02", "end": "2026-03-03", "duration_minutes": 30}
    async with Client(signed_in) as client:
        result = await client.call_tool("find_free_time", args)
        explicit = await client.call_tool("find_free_time", {**args, "day_start": "12:00", "day_end": "13:00"})
    assert not result.is_error, text_of(result)
    data = result.structured_content
    # New York 09:00-17:00 (14:00-22:00 UTC) and Berlin 09:00-17:00 (08:00-16:00 UTC) meet 09:00-11:00 in New York.
    assert data["slots"] == [{"start": "2026-03-02T09:30:00-05:00", "end": "2026-03-02T11:00:00-05:00", "minutes": 90}]
    assert data["working_hours"] == ("you: 09:00-17:00 America/New_York, Monday to Friday; "
                                     "anna@contoso.example: 09:00-17:00 Europe/Berlin, Monday to Friday")
    assert data["time_zone"] == "America/New_York"
    assert body_of(graph.last("POST", "/me/calendar/getSchedule"))["startTime"] == {"dateTime": "2026-03-02T05:00:00", "timeZone": "UTC"}
    # Explicit hours win, for everybody, in the user's zone.
    assert [s["start"] for s in explicit.structured_content["slots"]] == ["2026-03-02T12:00:00-05:00"]
    assert explicit.structured_content["working_hours"] == "12:00-13:00 America/New_York, Monday to Friday"
    assert len(graph.sent("GET", "/me/mailboxSettings")) == 1  # once per session


async def test_concurrent_calls_share_one_mailbox_settings_fetch(signed_in, graph):
    graph.answer("GET", "/me/calendarView", {"value": []})
    results = []

    async def one(client: Client) -> None:
        results.append(await client.call_tool("list_events", {}))

    async with Client(signed_in) as client:
        async with anyio.create_task_group() as tg:
            for _ in range(3):
                tg.start_soon(one, client)
    assert [r.structured_content["time_zone"] for r in results] == ["America/New_York"] * 3
    assert len(graph.sent("GET", "/me/mailboxSettings")) == 1


async def test_without_consent_times_stay_utc_and_say_so_without_a_sign_in(make_provider, settings, graph, fake_app):
    server = tool_server(make_provider, settings, graph)
    graph.answer("GET", "/me/calendarView", {"value": []})
    async with Client(server) as client:
        result = await client.call_tool("list_events", {"start": "2026-03-02T09:00:00"})
    data = result.structured_content
    assert data["time_zone"] == "UTC" and "MailboxSettings.Read" in data["time_zone_note"]
    assert data["window_start"] == "2026-03-02T09:00:00+00:00"
    assert scopes_asked(fake_app) == {"Calendars.Read"}  # no sign-in prompt for the time zone
    assert not graph.sent("GET", "/me/mailboxSettings")


async def test_a_refusal_from_graph_falls_back_to_utc(make_provider, settings, graph, fake_app):
    fake_app.tokens[(MAILBOX,)] = token_result([MAILBOX])
    graph.fail("GET", "/me/mailboxSettings", 403, "ErrorAccessDenied")
    graph.answer("GET", "/me/calendarView", {"value": []})
    server = tool_server(make_provider, settings, graph)
    async with Client(server) as client:
        first = await client.call_tool("list_events", {})
        second = await client.call_tool("list_events", {})
    assert not first.is_error, text_of(first)
    assert first.structured_content["time_zone"] == "UTC" and "403" in first.structured_content["time_zone_note"]
    assert second.structured_content["time_zone"] == "UTC"
    assert len(graph.sent("GET", "/me/mailboxSettings")) == 1  # a refusal is remembered for a while
