"""Finding free time: Graph's getSchedule for you and up to 19 others, within everybody's working hours."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, time, timedelta, timezone
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import Field

from .._common import DEFAULT_LIMIT, LIMIT_BOUNDS, clamp_limit, email_addresses, graph_tool
from .._runtime import run_tool, state_of
from ..free_time import DEFAULT_END, DEFAULT_START, EVERY_DAY, WEEKDAYS, common_hours, free_within, with_days
from ..personal import refuse_for_personal_account
from ..timezones import WorkingHours, user_zone, working_hours_from
from .models import (
    CALENDARS_READ,
    DEFAULT_WINDOW,
    UTC_PREFER,
    FreeSlot,
    FreeTime,
    ScheduleProblem,
    _moment,
    _utc_value,
    _window,
)

MAX_SCHEDULE_WINDOW = timedelta(days=31)  # getSchedule refuses 42 days and more
MAX_ATTENDEES = 19  # getSchedule reads at most 20 calendars: yours and 19 more
# getSchedule statuses that make a person unavailable ("workingElsewhere" and "free" do not).
_BLOCKING = {"busy", "tentative", "oof", "unknown"}
_VIEW_BLOCKING = {"1", "2", "3"}  # availabilityView: 1 tentative, 2 busy, 3 out of office


def _clock(value: str, *, field: str) -> time:
    try:
        parsed = time.fromisoformat(value.strip())
    except ValueError:
        raise ToolError(f"`{field}` must be a time of day such as 09:00 (got {value!r}).") from None
    return parsed.replace(tzinfo=None)



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
        name="find_free_time",
        title="Find free time",
        description=(
            "Find times when you and the given people are all free for a meeting of the given length, within "
            "everybody's own working hours (from Outlook, or day_start / day_end for all) in a window (default "
            "the next 7 days); times in your time zone."
        ),
        area="calendar",
        scopes=CALENDARS_READ,
    )
    async def find_free_time(
        ctx: Context,
        attendees: Annotated[list[str] | None, Field(description="email addresses of the other people (up to 19); default: only you")] = None,
        duration_minutes: Annotated[int, Field(ge=5, le=1440, description="meeting length in minutes")] = 30,
        start: Annotated[str | None, Field(description="window start, ISO 8601 (no offset: your time zone); default now")] = None,
        end: Annotated[str | None, Field(description="window end, likewise; default 7 days after start, at most 31")] = None,
        day_start: Annotated[str | None, Field(description="working day start for all, HH:MM, your time zone; default: each person's own")] = None,
        day_end: Annotated[str | None, Field(description="working day end for all, HH:MM, your time zone; default: each person's own")] = None,
        include_weekends: Annotated[bool | None, Field(description="true: also weekends; false: Monday to Friday; default: each person's working days")] = None,
        limit: Annotated[int, Field(json_schema_extra=LIMIT_BOUNDS, description="most slots to return")] = DEFAULT_LIMIT,
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
            await refuse_for_personal_account(
                state, CALENDARS_READ, what="Free/busy lookup (Graph's getSchedule)",
                instead="Use list_events to see your own calendar and compare it with the others' yourself.",
            )
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
