"""Calendar tools (Outlook through Microsoft Graph). Every time goes in and comes out in UTC."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta, timezone
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import BaseModel, Field

from . import consent
from ._common import (
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
from .mail import Address, address

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
_SLOT_STEP = timedelta(minutes=15)

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
    start: str | None = Field(description="ISO 8601, UTC")
    end: str | None = Field(description="ISO 8601, UTC")
    is_all_day: bool | None
    location: str | None
    organizer: Address | None
    online_meeting_url: str | None = Field(description="the Teams (or other) join link, if any")
    show_as: str | None = Field(description="free, tentative, busy, oof, workingElsewhere")
    is_cancelled: bool | None
    my_response: str | None = Field(description="your answer: organizer, accepted, tentativelyAccepted, declined, notResponded, none")
    web_link: str | None


class EventList(BaseModel):
    window_start: str
    window_end: str
    events: list[EventSummary]
    page: PageInfo


class Attendee(BaseModel):
    name: str | None
    email: str | None
    type: str | None = Field(description="required, optional or resource")
    response: str | None = Field(description="accepted, tentativelyAccepted, declined, notResponded, none")
    responded_at: str | None = Field(description="ISO 8601, UTC")


class EventDetails(EventSummary):
    is_organizer: bool | None
    importance: str | None
    sensitivity: str | None
    type: str | None = Field(description="singleInstance, occurrence, exception or seriesMaster")
    attendees: list[Attendee]
    body: str = Field(description="the description as plain text (HTML converted)")
    truncated: bool = Field(description="true when `body` was cut to keep it short")


class FreeSlot(BaseModel):
    start: str = Field(description="ISO 8601, UTC")
    end: str = Field(description="ISO 8601, UTC")
    minutes: int = Field(description="length of this free stretch; any start inside it that leaves `duration_minutes` works")


class ScheduleProblem(BaseModel):
    email: str
    reason: str


class FreeTime(BaseModel):
    window_start: str
    window_end: str
    duration_minutes: int
    working_hours: str = Field(description='e.g. "09:00-17:00 UTC, Monday to Friday"')
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


def _summary_fields(item: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(item.get("id", "")),
        "subject": item.get("subject"),
        "start": iso_utc(item.get("start")),
        "end": iso_utc(item.get("end")),
        "is_all_day": item.get("isAllDay"),
        "location": _location(item),
        "organizer": address(item.get("organizer")),
        "online_meeting_url": _join_url(item),
        "show_as": item.get("showAs"),
        "is_cancelled": item.get("isCancelled"),
        "my_response": (item.get("responseStatus") or {}).get("response"),
        "web_link": item.get("webLink"),
    }


def event_summary(item: dict[str, Any]) -> EventSummary:
    return EventSummary(**_summary_fields(item))


def event_details(item: dict[str, Any]) -> EventDetails:
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
                responded_at=iso_utc(status.get("time")) if status.get("response") not in (None, "none", "notResponded") else None,
            )
        )
    return EventDetails(
        **_summary_fields(item),
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


def _window(start: str | None, end: str | None, default: timedelta) -> tuple[datetime, datetime]:
    begin = parse_when(start, field="start") if start else datetime.now(timezone.utc).replace(microsecond=0)
    finish = parse_when(end, field="end") if end else begin + default
    if finish <= begin:
        raise ToolError("`end` must be after `start`.")
    return begin, finish


def _clock(value: str, *, field: str) -> time:
    try:
        parsed = time.fromisoformat(value.strip())
    except ValueError:
        raise ToolError(f"`{field}` must be a time of day such as 09:00 (got {value!r}).") from None
    return parsed.replace(tzinfo=None)


def _round_up(moment: datetime, step: timedelta) -> datetime:
    base = moment.replace(minute=0, second=0, microsecond=0)
    while base < moment:
        base += step
    return base


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
    """Stretches of at least `duration` inside working hours of the window that overlap no busy time."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(b for b in busy if b[1] > b[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    slots = []
    day = window_start.date()
    while day <= window_end.date():
        if weekends or day.weekday() < 5:
            opens = max(window_start, datetime.combine(day, day_start, timezone.utc))
            closes = min(window_end, datetime.combine(day, day_end, timezone.utc))
            cursor = _round_up(opens, _SLOT_STEP)
            for start, end in merged:
                if end <= cursor or start >= closes:
                    continue
                if start - cursor >= duration:
                    slots.append((cursor, start))
                cursor = max(cursor, end)
            if closes - cursor >= duration:
                slots.append((cursor, closes))
        day += timedelta(days=1)
    return slots


def register(server: MCPServer[Any], settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="list_events",
        title="List calendar events",
        description=(
            "List calendar events (meetings and appointments, recurring ones expanded) that overlap a time window, "
            "earliest first; default window: now to 7 days ahead; times are UTC."
        ),
        area="calendar",
        scopes=CALENDARS_READ,
    )
    async def list_events(
        ctx: Context,
        start: Annotated[str | None, Field(description="window start, ISO 8601 (e.g. 2026-03-02 or 2026-03-02T09:00:00+01:00); default now")] = None,
        end: Annotated[str | None, Field(description="window end, ISO 8601; default 7 days after start")] = None,
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
    ) -> EventList | InputRequiredResult:
        state = state_of(ctx)
        begin, finish = _window(start, end, DEFAULT_WINDOW)
        params = {
            "startDateTime": graph_datetime(begin),
            "endDateTime": graph_datetime(finish),
            "$select": _LIST_FIELDS,
            "$orderby": "start/dateTime",
        }

        async def body() -> EventList:
            items, page = await fetch_page(
                state.graph,
                "/me/calendarView",
                scopes=CALENDARS_READ,
                params=params,
                cursor=cursor,
                limit=clamp_limit(limit),
                headers=UTC_PREFER,
            )
            return EventList(
                window_start=begin.isoformat(),
                window_end=finish.isoformat(),
                events=[event_summary(item) for item in items],
                page=page,
            )

        return await run_tool(ctx, body, consent_scopes=CALENDARS_READ)

    @graph_tool(
        server,
        settings,
        name="get_event",
        title="Read a calendar event",
        description=(
            "Read one calendar event by id: times (UTC), location, organizer, attendees with their responses, "
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
            return event_details(item)

        return await run_tool(ctx, body, consent_scopes=CALENDARS_READ)

    @graph_tool(
        server,
        settings,
        name="find_free_time",
        title="Find free time",
        description=(
            "Find times when you and the given people are all free for a meeting of the given length, within "
            "working hours (default 09:00-17:00 UTC, Monday to Friday) of a window (default the next 7 days)."
        ),
        area="calendar",
        scopes=CALENDARS_READ,
    )
    async def find_free_time(
        ctx: Context,
        attendees: Annotated[list[str] | None, Field(description="email addresses of the other people (up to 19); default: only you")] = None,
        duration_minutes: Annotated[int, Field(ge=5, le=1440, description="meeting length in minutes (default 30)")] = 30,
        start: Annotated[str | None, Field(description="window start, ISO 8601; default now")] = None,
        end: Annotated[str | None, Field(description="window end, ISO 8601; default 7 days after start (at most 31 days)")] = None,
        day_start: Annotated[str, Field(description="start of working hours, UTC, HH:MM")] = "09:00",
        day_end: Annotated[str, Field(description="end of working hours, UTC, HH:MM")] = "17:00",
        include_weekends: Annotated[bool, Field(description="also look on Saturdays and Sundays")] = False,
        limit: Annotated[int, Field(ge=1, description=f"most slots to return (default {DEFAULT_LIMIT}, at most {MAX_LIMIT})")] = DEFAULT_LIMIT,
    ) -> FreeTime | InputRequiredResult:
        state = state_of(ctx)
        others = email_addresses(attendees, field="attendees")
        if len(others) > MAX_ATTENDEES:
            raise ToolError(f"Free/busy can be checked for at most {MAX_ATTENDEES} people besides you; pass fewer attendees.")
        begin, finish = _window(start, end, DEFAULT_WINDOW)
        if finish - begin > MAX_SCHEDULE_WINDOW:
            raise ToolError("The window may span at most 31 days; pass an earlier `end`.")
        opens, closes = _clock(day_start, field="day_start"), _clock(day_end, field="day_end")
        if closes <= opens:
            raise ToolError("`day_end` must be after `day_start` (both UTC, e.g. 09:00 and 17:00).")
        duration = timedelta(minutes=duration_minutes)
        interval = 30

        async def body() -> FreeTime:
            calendar = await state.graph.get_json("/me/calendar", scopes=CALENDARS_READ, params={"$select": "owner"})
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
            for schedule in answers:
                who = str(schedule.get("scheduleId") or "")
                if schedule.get("error"):
                    error = schedule["error"]
                    problems.append(ScheduleProblem(email=who, reason=str(error.get("message") or error.get("responseCode") or "unknown error")))
                    continue
                checked.append(who)
                busy += _busy_from(schedule, begin, interval)
            answered = {s.lower() for s in checked} | {p.email.lower() for p in problems}
            problems += [ScheduleProblem(email=w, reason="no answer from Graph") for w in wanted if w.lower() not in answered]
            found = free_slots(
                busy, begin, finish, duration=duration, day_start=opens, day_end=closes, weekends=include_weekends
            )
            cap = clamp_limit(limit)
            days = "every day" if include_weekends else "Monday to Friday"
            return FreeTime(
                window_start=begin.isoformat(),
                window_end=finish.isoformat(),
                duration_minutes=duration_minutes,
                working_hours=f"{opens.strftime('%H:%M')}-{closes.strftime('%H:%M')} UTC, {days}",
                checked=checked,
                unavailable=problems,
                slots=[
                    FreeSlot(start=s.isoformat(), end=e.isoformat(), minutes=int((e - s).total_seconds() // 60))
                    for s, e in found[:cap]
                ],
                more_slots=len(found) > cap,
            )

        return await run_tool(ctx, body, consent_scopes=CALENDARS_READ)

    @graph_tool(
        server,
        settings,
        name="create_event",
        title="Create a calendar event",
        description=(
            "Create an event in your calendar (times in ISO 8601, stored as UTC); with attendees it sends them "
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
        start: Annotated[str, Field(description="start, ISO 8601 with an offset or Z (e.g. 2026-03-02T14:00:00+01:00)")],
        end: Annotated[str, Field(description="end, ISO 8601")],
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
        when = f"{graph_datetime(begin)} to {graph_datetime(finish)}"

        async def run() -> CreatedEvent | InputRequiredResult:
            await state.tokens.get_token(state.settings.graph_resource, CALENDARS_WRITE)
            home = await consent.home_domain(ctx) if invited else None
            asked = await gate.ask(
                f"Create \"{subject}\" ({when}, UTC) and send invitations to {', '.join(invited)}",
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
                start=iso_utc(item.get("start")) or begin.isoformat(),
                end=iso_utc(item.get("end")) or finish.isoformat(),
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
        comment: Annotated[str | None, Field(description="a note for the organizer")] = None,
        send_response: Annotated[bool, Field(description="tell the organizer (default true)")] = True,
        confirm: Annotated[bool, _CONFIRM_FIELD] = False,
    ) -> EventResponse | InputRequiredResult:
        state = state_of(ctx)
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
            asked = await gate.ask(
                f"{verb} \"{subject}\" (starts {iso_utc(event.get('start'))}) and tell {who}{note}"
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
