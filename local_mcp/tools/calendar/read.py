"""Reading the calendar: events in a window, one event in full."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import InputRequiredResult
from pydantic import Field

from .._common import CURSOR_FIELD, DEFAULT_LIMIT, LIMIT_FIELD, clamp_limit, fetch_page, graph_datetime, graph_tool, path_id
from .._runtime import run_tool, state_of
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
