"""Calendar tools (Outlook through Microsoft Graph), in the user's time zone.

Graph is asked for UTC (Prefer: outlook.timezone="UTC"); times are shown with the offset of the
user's zone from their mailbox settings (see timezones.py), and inputs without an offset are read
in that zone. Without the zone (no MailboxSettings.Read) everything stays UTC, and results say so.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta, timezone, tzinfo
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import BaseModel, Field

from . import consent
from ._common import (
    LIMIT_BOUNDS,
    CURSOR_FIELD,
    DEFAULT_LIMIT,
    LIMIT_FIELD,
    MAX_LIMIT,
    ConfirmOnce,
    PageInfo,
    body_text,
    clamp_limit,
    email_addresses,
    fetch_page,
    graph_datetime,
    graph_tool,
    iso_utc,
    parse_when,
    path_id,
)
from ._runtime import run_tool, state_of
from .free_time import DEFAULT_END, DEFAULT_START, EVERY_DAY, WEEKDAYS, common_hours, free_within, with_days
from .mail import Address, address
from .timezones import UserZone, WorkingHours, user_zone, working_hours_from

CALENDARS_READ = ("Calendars.Read",)
CALENDARS_WRITE = ("Calendars.ReadWrite",)
# Graph answers in the time zone this header names; we always ask for UTC.
UTC_PREFER = {"Prefer": 'outlook.timezone="UTC"'}
DEFAULT_WINDOW = timedelta(days=7)
MAX_SCHEDULE_WINDOW = timedelta(days=31)  # getSchedule refuses 42 days and more
MAX_ATTENDEES = 19  # getSchedule reads at most 20 calendars: yours and 19 more
# getSchedule statuses that make a person unavailable ("workingElsewhere" and "free" do not).
_BLOCKING = {"busy", "tentative", "oof", "unknown"}
_VIEW_BLOCKING = {"1", "2", "3"}  # availabilityView: 1 tentative, 2 busy, 3 out of office

_LIST_FIELDS = (
    "id,subject,start,end,isAllDay,location,organizer,isOnlineMeeting,onlineMeeting,showAs,"
    "isCancelled,responseStatus,webLink"
)
_DETAIL_FIELDS = (
    "id,subject,body,start,end,isAllDay,location,organizer,attendees,isOrganizer,isOnlineMeeting,"
    "onlineMeeting,showAs,isCancelled,responseStatus,importance,sensitivity,type,webLink"
)
_RESPOND_FIELDS = "id,subject,start,organizer,isOrganizer"

_CONFIRM_FIELD = Field(description="true only when the user has already agreed to exactly this; skips the question")

Answer = Literal["accept", "tentativelyAccept", "decline"]
_VERBS = {"accept": ("Accept", "Accepted"), "tentativelyAccept": ("Tentatively accept", "Tentatively accepted"),
          "decline": ("Decline", "Declined")}


class EventSummary(BaseModel):
    id: str
    subject: str | None
    start: str | None = Field(description="ISO 8601 with the offset of your time zone")
    end: str | None = Field(description="ISO 8601 with the offset of your time zone")
    is_all_day: bool | None
    location: str | None
    organizer: Address | None
    online_meeting_url: str | None = Field(description="the Teams (or other) join link, if any")
    show_as: str | None = Field(description="free, tentative, busy, oof, workingElsewhere")
    is_cancelled: bool | None
    my_response: str | None = Field(description="your answer: organizer, accepted, tentativelyAccepted, declined, notResponded, none")
    web_link: str | None


_ZONE_FIELD = Field(description="the time zone of every time in this result (yours, from your mailbox settings), e.g. America/New_York")
_ZONE_NOTE_FIELD = Field(default=None, description="set when your time zone could not be read and times are in UTC")


class EventList(BaseModel):
    time_zone: str = _ZONE_FIELD
    time_zone_note: str | None = _ZONE_NOTE_FIELD
    window_start: str
    window_end: str
    events: list[EventSummary]
    page: PageInfo


class Attendee(BaseModel):
    name: str | None
    email: str | None
    type: str | None = Field(description="required, optional or resource")
    response: str | None = Field(description="accepted, tentativelyAccepted, declined, notResponded, none")
    responded_at: str | None = Field(description="ISO 8601, in your time zone")


class EventDetails(EventSummary):
    time_zone: str = _ZONE_FIELD
    time_zone_note: str | None = _ZONE_NOTE_FIELD
    is_organizer: bool | None
    importance: str | None
    sensitivity: str | None
    type: str | None = Field(description="singleInstance, occurrence, exception or seriesMaster")
    attendees: list[Attendee]
    body: str = Field(description="the description as plain text (HTML converted)")
    truncated: bool = Field(description="true when `body` was cut to keep it short")


class FreeSlot(BaseModel):
    start: str = Field(description="ISO 8601 with the offset of your time zone")
    end: str = Field(description="ISO 8601 with the offset of your time zone")
    minutes: int = Field(description="length of this free stretch; any start inside it that leaves `duration_minutes` works")


class ScheduleProblem(BaseModel):
    email: str
    reason: str


class FreeTime(BaseModel):
    time_zone: str = _ZONE_FIELD
    time_zone_note: str | None = _ZONE_NOTE_FIELD
    window_start: str
    window_end: str
    duration_minutes: int
    working_hours: str = Field(
        description='whose working hours bound the slots, e.g. "08:00-17:00 America/New_York, Monday to Friday" '
        '(or one entry per person, "you: …; megan@contoso.com: …")'
    )
    checked: list[str] = Field(description="calendars whose free/busy times were taken into account")
    unavailable: list[ScheduleProblem] = Field(description="calendars that could not be read: slots ignore them")
    slots: list[FreeSlot]
    more_slots: bool = Field(description="true when more free slots exist than returned; narrow the window or raise limit")


class CreatedEvent(BaseModel):
    id: str
    subject: str | None
    start: str | None
    end: str | None
    web_link: str | None
    online_meeting_url: str | None
    invited: list[str] = Field(description="attendees who were sent an invitation")
    message: str


class EventResponse(BaseModel):
    event_id: str
    subject: str | None
    response: str
    organizer_notified: bool
    message: str


def _join_url(item: dict[str, Any]) -> str | None:
    meeting = item.get("onlineMeeting")
    return (meeting or {}).get("joinUrl") if isinstance(meeting, dict) else None


def _location(item: dict[str, Any]) -> str | None:
    name = (item.get("location") or {}).get("displayName") if isinstance(item.get("location"), dict) else None
    return name or None


def in_zone(value: Any, zone: tzinfo | None) -> str | None:
    """A Graph time (UTC) as ISO 8601 with the offset of `zone` (UTC when None)."""
    moment = _moment(value)
    if moment is None:
        return iso_utc(value)
    return moment.astimezone(zone or timezone.utc).isoformat()


def _summary_fields(item: dict[str, Any], zone: tzinfo | None = None) -> dict[str, Any]:
    return {
        "id": str(item.get("id", "")),
        "subject": item.get("subject"),
        "start": in_zone(item.get("start"), zone),
        "end": in_zone(item.get("end"), zone),
        "is_all_day": item.get("isAllDay"),
        "location": _location(item),
        "organizer": address(item.get("organizer")),
        "online_meeting_url": _join_url(item),
        "show_as": item.get("showAs"),
        "is_cancelled": item.get("isCancelled"),
        "my_response": (item.get("responseStatus") or {}).get("response"),
        "web_link": item.get("webLink"),
    }


def event_summary(item: dict[str, Any], zone: tzinfo | None = None) -> EventSummary:
    return EventSummary(**_summary_fields(item, zone))


def event_details(item: dict[str, Any], where: UserZone | None = None) -> EventDetails:
    zone = where.zone if where else None
    text, cut = body_text(item.get("body"))
    attendees = []
    for entry in item.get("attendees") or ():
        person = address(entry)
        status = entry.get("status") or {}
        attendees.append(
            Attendee(
                name=person.name if person else None,
                email=person.email if person else None,
                type=entry.get("type"),
                response=status.get("response"),
                responded_at=in_zone(status.get("time"), zone) if status.get("response") not in (None, "none", "notResponded") else None,
            )
        )
    return EventDetails(
        **_summary_fields(item, zone),
        time_zone=where.name if where else "UTC",
        time_zone_note=where.note if where else None,
        is_organizer=item.get("isOrganizer"),
        importance=item.get("importance"),
        sensitivity=item.get("sensitivity"),
        type=item.get("type"),
        attendees=attendees,
        body=text,
        truncated=cut,
    )


def _utc_value(moment: datetime) -> dict[str, str]:
    """A dateTimeTimeZone for Graph, in UTC."""
    return {"dateTime": moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}


def _window(start: str | None, end: str | None, default: timedelta, zone: tzinfo | None = None) -> tuple[datetime, datetime]:
    begin = parse_when(start, field="start", zone=zone) if start else datetime.now(timezone.utc).replace(microsecond=0)
    finish = parse_when(end, field="end", zone=zone) if end else begin + default
    if finish <= begin:
        raise ToolError("`end` must be after `start`.")
    return begin, finish


def _clock(value: str, *, field: str) -> time:
    try:
        parsed = time.fromisoformat(value.strip())
    except ValueError:
        raise ToolError(f"`{field}` must be a time of day such as 09:00 (got {value!r}).") from None
    return parsed.replace(tzinfo=None)


def _moment(value: Any) -> datetime | None:
    text = iso_utc(value)
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment and moment.tzinfo is None else moment


def _busy_from(schedule: dict[str, Any], window_start: datetime, interval: int) -> list[tuple[datetime, datetime]]:
    """Busy stretches of one getSchedule answer: its items, or else its availabilityView string."""
    items = schedule.get("scheduleItems")
    if isinstance(items, list):
        busy = []
        for item in items:
            if str(item.get("status") or "").lower() not in _BLOCKING:
                continue
            start, end = _moment(item.get("start")), _moment(item.get("end"))
            if start and end:
                busy.append((start, end))
        return busy
    view = str(schedule.get("availabilityView") or "")
    step = timedelta(minutes=interval)
    return [
        (window_start + n * step, window_start + (n + 1) * step) for n, code in enumerate(view) if code in _VIEW_BLOCKING
    ]


def free_slots(
    busy: Iterable[tuple[datetime, datetime]],
    window_start: datetime,
    window_end: datetime,
    *,
    duration: timedelta,
    day_start: time,
    day_end: time,
    weekends: bool,
) -> list[tuple[datetime, datetime]]:
    """Stretches of at least `duration` inside UTC working hours of the window that overlap no busy time."""
    hours = WorkingHours(EVERY_DAY if weekends else WEEKDAYS, day_start, day_end, timezone.utc)
    return free_within(common_hours([hours], window_start, window_end), busy, duration)


def register(server: MCPServer[Any], settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="list_events",
        title="List calendar events",
        description=(
            "List calendar events (meetings and appointments, recurring ones expanded) that overlap a time window, "
            "earliest first; default window: now to 7 days ahead; times carry the offset of your time zone, "
            "which the result names (dates and times without an offset are read in it)."
        ),
        area="calendar",
        scopes=CALENDARS_READ,
    )
    async def list_events(
        ctx: Context,
        start: Annotated[str | None, Field(description="window start, ISO 8601 (e.g. 2026-03-02 or 2026-03-02T09:00:00+01:00; "
                                                      "without an offset: your time zone); default now")] = None,
        end: Annotated[str | None, Field(description="window end, ISO 8601 (without an offset: your time zone); default 7 days after start")] = None,
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
    ) -> EventList | InputRequiredResult:
        state = state_of(ctx)
        _window(start, end, DEFAULT_WINDOW)  # refuse bad input before any sign-in

        async def body() -> EventList:
            await state.tokens.get_token(state.settings.graph_resource, CALENDARS_READ)
            where = await user_zone(state)
            begin, finish = _window(start, end, DEFAULT_WINDOW, where.zone)
            params = {
                "startDateTime": graph_datetime(begin),
                "endDateTime": graph_datetime(finish),
                "$select": _LIST_FIELDS,
                "$orderby": "start/dateTime",
            }
            items, page = await fetch_page(
                state.graph,
                "/me/calendarView",
                scopes=CALENDARS_READ,
                params=params,
                cursor=cursor,
                bind={},  # the window defaults to "now", which moves; the next link carries it
                limit=clamp_limit(limit),
                headers=UTC_PREFER,
            )
            return EventList(
                time_zone=where.name,
                time_zone_note=where.note,
                window_start=begin.astimezone(where.zone).isoformat(),
                window_end=finish.astimezone(where.zone).isoformat(),
                events=[event_summary(item, where.zone) for item in items],
                page=page,
            )

        return await run_tool(ctx, body, consent_scopes=CALENDARS_READ)

    @graph_tool(
        server,
        settings,
        name="get_event",
        title="Read a calendar event",
        description=(
            "Read one calendar event by id: times (in your time zone, named in the result), location, organizer, attendees with their responses, "
            "the online meeting link, and the description as plain text."
        ),
        area="calendar",
        scopes=CALENDARS_READ,
    )
    async def get_event(
        ctx: Context,
        event_id: Annotated[str, Field(description="the event `id` from list_events")],
    ) -> EventDetails | InputRequiredResult:
        state = state_of(ctx)
        path = f"/me/events/{path_id(event_id, field='event_id')}"

        async def body() -> EventDetails:
            item = await state.graph.get_json(path, scopes=CALENDARS_READ, params={"$select": _DETAIL_FIELDS}, headers=UTC_PREFER)
            return event_details(item, await user_zone(state))

        return await run_tool(ctx, body, consent_scopes=CALENDARS_READ)

    @graph_tool(
        server,
        settings,
        name="find_free_time",
        title="Find free time",
        description=(
            "Find times when you and the given people are all free for a meeting of the given length, within "
            "everybody's working hours (each person's own days, hours and time zone, from Outlook; day_start / "
            "day_end override them for everybody) of a window (default the next 7 days); times in your time zone."
        ),
        area="calendar",
        scopes=CALENDARS_READ,
    )
    async def find_free_time(
        ctx: Context,
        attendees: Annotated[list[str] | None, Field(description="email addresses of the other people (up to 19); default: only you")] = None,
        duration_minutes: Annotated[int, Field(ge=5, le=1440, description="meeting length in minutes (default 30)")] = 30,
        start: Annotated[str | None, Field(description="window start, ISO 8601 (without an offset: your time zone); default now")] = None,
        end: Annotated[str | None, Field(description="window end, ISO 8601 (without an offset: your time zone); default 7 days after start (at most 31 days)")] = None,
        day_start: Annotated[str | None, Field(description="start of working hours for everybody, HH:MM in your time zone; default: each person's own")] = None,
        day_end: Annotated[str | None, Field(description="end of working hours for everybody, HH:MM in your time zone; default: each person's own")] = None,
        include_weekends: Annotated[bool | None, Field(description="true: also Saturdays and Sundays; false: Monday to Friday only; default: each person's working days")] = None,
        limit: Annotated[int, Field(json_schema_extra=LIMIT_BOUNDS, description=f"most slots to return (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})")] = DEFAULT_LIMIT,
    ) -> FreeTime | InputRequiredResult:
        state = state_of(ctx)
        others = email_addresses(attendees, field="attendees")
        if len(others) > MAX_ATTENDEES:
            raise ToolError(f"Free/busy can be checked for at most {MAX_ATTENDEES} people besides you; pass fewer attendees.")
        checked_begin, checked_finish = _window(start, end, DEFAULT_WINDOW)
        if checked_finish - checked_begin > MAX_SCHEDULE_WINDOW:
            raise ToolError("The window may span at most 31 days; pass an earlier `end`.")
        opens = _clock(day_start, field="day_start") if day_start else None
        closes = _clock(day_end, field="day_end") if day_end else None
        if (opens or DEFAULT_START) >= (closes or DEFAULT_END) and (opens or closes):
            raise ToolError("`day_end` must be after `day_start` (both HH:MM in your time zone, e.g. 09:00 and 17:00).")
        duration = timedelta(minutes=duration_minutes)
        interval = 30

        async def body() -> FreeTime:
            calendar = await state.graph.get_json("/me/calendar", scopes=CALENDARS_READ, params={"$select": "owner"})
            where = await user_zone(state)
            begin, finish = _window(start, end, DEFAULT_WINDOW, where.zone)
            if finish - begin > MAX_SCHEDULE_WINDOW:
                raise ToolError("The window may span at most 31 days; pass an earlier `end`.")
            me = str(((calendar.get("owner") or {}).get("address")) or "")
            wanted = ([me] if me else []) + [o for o in others if o.lower() != me.lower()]
            if not wanted:
                raise ToolError("Could not tell your own email address from your calendar; pass attendees explicitly.")
            response = await state.graph.request(
                "POST",
                "/me/calendar/getSchedule",
                scopes=CALENDARS_READ,
                headers=UTC_PREFER,
                json_body={
                    "schedules": wanted,
                    "startTime": _utc_value(begin),
                    "endTime": _utc_value(finish),
                    "availabilityViewInterval": interval,
                },
            )
            answers = response.body.get("value") or [] if isinstance(response.body, dict) else []
            busy: list[tuple[datetime, datetime]] = []
            checked, problems = [], []
            hours: dict[str, WorkingHours] = {}
            for schedule in answers:
                who = str(schedule.get("scheduleId") or "")
                if schedule.get("error"):
                    error = schedule["error"]
                    problems.append(ScheduleProblem(email=who, reason=str(error.get("message") or error.get("responseCode") or "unknown error")))
                    continue
                checked.append(who)
                busy += _busy_from(schedule, begin, interval)
                found = working_hours_from(schedule.get("workingHours"), where.zone)
                if found is not None:
                    hours[who.lower()] = found
            answered = {s.lower() for s in checked} | {p.email.lower() for p in problems}
            problems += [ScheduleProblem(email=w, reason="no answer from Graph") for w in wanted if w.lower() not in answered]
            mine = where.working_hours or hours.get(me.lower()) or WorkingHours(WEEKDAYS, DEFAULT_START, DEFAULT_END, where.zone)
            if opens or closes:  # explicit hours win, for everybody, in the user's zone
                days = EVERY_DAY if include_weekends else WEEKDAYS if include_weekends is False else mine.days
                people = {"everybody": WorkingHours(days, opens or mine.start, closes or mine.end, where.zone)}
            else:
                people = {"you": with_days(mine, include_weekends)}
                people.update({w: with_days(hours[w.lower()], include_weekends) for w in checked
                               if w.lower() != me.lower() and w.lower() in hours})
            found_slots = free_within(common_hours(list(people.values()), begin, finish), busy, duration)
            cap = clamp_limit(limit)
            described = {h.describe() for h in people.values()}
            working = described.pop() if len(described) == 1 else "; ".join(f"{k}: {h.describe()}" for k, h in people.items())
            return FreeTime(
                time_zone=where.name,
                time_zone_note=where.note,
                window_start=begin.astimezone(where.zone).isoformat(),
                window_end=finish.astimezone(where.zone).isoformat(),
                duration_minutes=duration_minutes,
                working_hours=working,
                checked=checked,
                unavailable=problems,
                slots=[
                    FreeSlot(start=s.astimezone(where.zone).isoformat(), end=e.astimezone(where.zone).isoformat(),
                             minutes=int((e - s).total_seconds() // 60))
                    for s, e in found_slots[:cap]
                ],
                more_slots=len(found_slots) > cap,
            )

        return await run_tool(ctx, body, consent_scopes=CALENDARS_READ)

    @graph_tool(
        server,
        settings,
        name="create_event",
        title="Create a calendar event",
        description=(
            "Create an event in your calendar (times in ISO 8601; without an offset: your time zone); with attendees it sends them "
            "invitations, so the user confirms first unless confirm=true (only after the user agreed)."
        ),
        area="calendar",
        scopes=CALENDARS_WRITE,
        write=True,
        destructive=False,
        idempotent=False,
    )
    async def create_event(
        ctx: Context,
        subject: Annotated[str, Field(min_length=1, description="title of the event")],
        start: Annotated[str, Field(description="start, ISO 8601 (e.g. 2026-03-02T14:00:00+01:00; without an offset: your time zone)")],
        end: Annotated[str, Field(description="end, ISO 8601 (without an offset: your time zone)")],
        attendees: Annotated[list[str] | None, Field(description="email addresses to invite (required attendees)")] = None,
        optional_attendees: Annotated[list[str] | None, Field(description="email addresses to invite as optional")] = None,
        body: Annotated[str | None, Field(description="description, plain text")] = None,
        location: Annotated[str | None, Field(description="where, e.g. a room name")] = None,
        online_meeting: Annotated[bool, Field(description="add a Teams meeting link")] = False,
        confirm: Annotated[bool, _CONFIRM_FIELD] = False,
    ) -> CreatedEvent | InputRequiredResult:
        state = state_of(ctx)
        begin, finish = parse_when(start, field="start"), parse_when(end, field="end")
        if finish <= begin:
            raise ToolError("`end` must be after `start`.")
        required = email_addresses(attendees, field="attendees")
        optional = email_addresses(optional_attendees, field="optional_attendees")
        invited = required + optional
        payload: dict[str, Any] = {
            "subject": subject,
            "start": _utc_value(begin),
            "end": _utc_value(finish),
            "attendees": [{"emailAddress": {"address": a}, "type": "required"} for a in required]
            + [{"emailAddress": {"address": a}, "type": "optional"} for a in optional],
        }
        if body:
            payload["body"] = {"contentType": "text", "content": body}
        if location:
            payload["location"] = {"displayName": location}
        if online_meeting:
            payload.update(isOnlineMeeting=True, onlineMeetingProvider="teamsForBusiness")
        # Only invitations reach other people; an event for yourself needs no question.
        gate = ConfirmOnce(ctx, confirmed=confirm, required=bool(invited))

        async def run() -> CreatedEvent | InputRequiredResult:
            await state.tokens.get_token(state.settings.graph_resource, CALENDARS_WRITE)
            where = await user_zone(state)
            begin, finish = parse_when(start, field="start", zone=where.zone), parse_when(end, field="end", zone=where.zone)
            payload.update(start=_utc_value(begin), end=_utc_value(finish))
            when = f"{begin.astimezone(where.zone).isoformat()} to {finish.astimezone(where.zone).isoformat()}"
            home = await consent.home_domain(ctx) if invited else None
            asked = await gate.ask(
                f"Create \"{subject}\" ({when}, {where.name}) and send invitations to {', '.join(invited)}",
                {"Invitations to": consent.recipients_line(invited, home), "Subject": subject},
            )
            if asked is not None:
                return asked
            response = await state.graph.request(
                "POST", "/me/events", scopes=CALENDARS_WRITE, json_body=payload, headers=UTC_PREFER, may_duplicate=True
            )
            item = response.body if isinstance(response.body, dict) else {}
            return CreatedEvent(
                id=str(item.get("id", "")),
                subject=item.get("subject", subject),
                start=in_zone(item.get("start"), where.zone) or begin.astimezone(where.zone).isoformat(),
                end=in_zone(item.get("end"), where.zone) or finish.astimezone(where.zone).isoformat(),
                web_link=item.get("webLink"),
                online_meeting_url=_join_url(item),
                invited=invited,
                message=f"Created \"{subject}\"" + (f" and invited {', '.join(invited)}." if invited else "."),
            )

        return await run_tool(ctx, run, consent_scopes=CALENDARS_WRITE)

    @graph_tool(
        server,
        settings,
        name="respond_to_event",
        title="Answer a meeting invitation",
        description=(
            "Accept, tentatively accept or decline a meeting invitation, with an optional comment; when the "
            "organizer is told (send_response, the default) the user confirms first unless confirm=true."
        ),
        area="calendar",
        scopes=CALENDARS_WRITE,
        write=True,
        destructive=True,  # a decline removes the meeting from your calendar
        idempotent=False,
    )
    async def respond_to_event(
        ctx: Context,
        event_id: Annotated[str, Field(description="the event `id` from list_events")],
        response: Annotated[Answer, Field(description="accept, tentativelyAccept or decline")],
        comment: Annotated[str | None, Field(description="a note for the organizer (needs send_response=true)")] = None,
        send_response: Annotated[bool, Field(description="tell the organizer (default true)")] = True,
        confirm: Annotated[bool, _CONFIRM_FIELD] = False,
    ) -> EventResponse | InputRequiredResult:
        state = state_of(ctx)
        if comment and comment.strip() and not send_response:
            # Graph rejects a comment with sendResponse=false: the comment travels in the response itself.
            raise ToolError("A `comment` is sent to the organizer with the response, so it needs send_response=true: "
                            "either keep send_response=true, or drop the comment to answer without telling anyone.")
        path = f"/me/events/{path_id(event_id, field='event_id')}"
        gate = ConfirmOnce(ctx, confirmed=confirm, required=send_response)
        verb, done = _VERBS[response]

        async def run() -> EventResponse | InputRequiredResult:
            await state.tokens.get_token(state.settings.graph_resource, CALENDARS_WRITE)
            event = await state.graph.get_json(
                path, scopes=CALENDARS_WRITE, params={"$select": _RESPOND_FIELDS}, headers=UTC_PREFER
            )
            subject = event.get("subject")
            if event.get("isOrganizer"):
                raise ToolError(f"You organize \"{subject}\", so there is no invitation to answer.")
            organizer = address(event.get("organizer"))
            who = (organizer.email or organizer.name) if organizer else "the organizer"
            note = f" with the comment {comment!r}" if comment else ""
            where = await user_zone(state)
            asked = await gate.ask(
                f"{verb} \"{subject}\" (starts {in_zone(event.get('start'), where.zone)}) and tell {who}{note}"
            )
            if asked is not None:
                return asked
            payload: dict[str, Any] = {"sendResponse": send_response}
            if comment:
                payload["comment"] = comment
            await state.graph.request(
                "POST", f"{path}/{response}", scopes=CALENDARS_WRITE, json_body=payload, may_duplicate=True
            )
            return EventResponse(
                event_id=str(event.get("id") or event_id),
                subject=subject,
                response=response,
                organizer_notified=send_response,
                message=f"{done} \"{subject}\"" + (f"; {who} was told." if send_response else "; nobody was told."),
            )

        return await run_tool(ctx, run, consent_scopes=CALENDARS_WRITE)
