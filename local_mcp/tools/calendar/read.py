"""Reading the calendar: events in a window, one event in full."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import InputRequiredResult
from pydantic import Field

from .._common import CURSOR_FIELD, DEFAULT_LIMIT, LIMIT_FIELD, clamp_limit, fetch_page, graph_datetime, graph_tool, path_id
from .._runtime import run_tool, state_of
from ..mailboxes import CALENDARS_READ_SHARED, MAILBOX_FIELD, for_mailbox, mailbox_root, scopes_for
from ..timezones import user_zone
from .models import (
    _DETAIL_FIELDS,
    _LIST_FIELDS,
    CALENDARS_READ,
    DEFAULT_WINDOW,
    UTC_PREFER,
    EventDetails,
    EventList,
    _window,
    event_details,
    event_summary,
)


def register(server: MCPServer[Any], settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="list_events",
        title="List calendar events",
        description=(
            "List calendar events (meetings and appointments, recurring ones expanded) in a time window (default: "
            "the next 7 days), earliest first, in your time zone (named in the result); one calendar (calendar_id) "
            "or a calendar shared with you (mailbox)."
        ),
        area="calendar",
        scopes=CALENDARS_READ,
        alternative_scopes=CALENDARS_READ_SHARED,
    )
    async def list_events(
        ctx: Context,
        start: Annotated[str | None, Field(description="window start, ISO 8601 (e.g. 2026-03-02 or 2026-03-02T09:00:00+01:00; "
                                                      "without an offset: your time zone); default now")] = None,
        end: Annotated[str | None, Field(description="window end, likewise; default 7 days after start")] = None,
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
        calendar_id: Annotated[str | None, Field(description="one calendar's `id` from list_calendars; default: the main calendar")] = None,
        mailbox: Annotated[str | None, MAILBOX_FIELD] = None,
    ) -> EventList | InputRequiredResult:
        state = state_of(ctx)
        _window(start, end, DEFAULT_WINDOW)  # refuse bad input before any sign-in
        root, scopes = mailbox_root(mailbox), scopes_for(mailbox, CALENDARS_READ, CALENDARS_READ_SHARED)
        # calendar-list-calendarview.md: /calendars/{id}/calendarView for one calendar, /calendarView for the main one
        path = f"{root}/calendars/{path_id(calendar_id, field='calendar_id')}/calendarView" if calendar_id else f"{root}/calendarView"

        async def body() -> EventList:
            await state.tokens.get_token(state.settings.graph_resource, scopes)
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
                path,
                scopes=scopes,
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

        return await run_tool(ctx, for_mailbox(mailbox, "the calendar", body), consent_scopes=scopes)

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
        alternative_scopes=CALENDARS_READ_SHARED,
    )
    async def get_event(
        ctx: Context,
        event_id: Annotated[str, Field(description="the event `id` from list_events")],
        mailbox: Annotated[str | None, MAILBOX_FIELD] = None,
    ) -> EventDetails | InputRequiredResult:
        state = state_of(ctx)
        scopes = scopes_for(mailbox, CALENDARS_READ, CALENDARS_READ_SHARED)
        path = f"{mailbox_root(mailbox)}/events/{path_id(event_id, field='event_id')}"

        async def body() -> EventDetails:
            item = await state.graph.get_json(path, scopes=scopes, params={"$select": _DETAIL_FIELDS}, headers=UTC_PREFER)
            return event_details(item, await user_zone(state))

        return await run_tool(ctx, for_mailbox(mailbox, "the calendar", body), consent_scopes=scopes)
