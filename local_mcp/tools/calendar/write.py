"""Changing the calendar: create an event, answer an invitation."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import Field

from .. import consent
from .._common import ConfirmOnce, email_addresses, graph_tool, parse_when, path_id
from .._runtime import run_tool, state_of
from ..mail.models import address
from ..timezones import user_zone
from .models import (
    _CONFIRM_FIELD,
    _RESPOND_FIELDS,
    _VERBS,
    CALENDARS_WRITE,
    UTC_PREFER,
    Answer,
    CreatedEvent,
    EventResponse,
    _join_url,
    _utc_value,
    in_zone,
)


def register(server: MCPServer[Any], settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="create_event",
        title="Create a calendar event",
        description=(
            "Create an event in your calendar (times in ISO 8601; without an offset: your time zone); with attendees it sends them "
            "invitations; the user confirms first."
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
        calendar_id: Annotated[str | None, Field(description="create it in this calendar (an `id` from list_calendars that you can edit); default: your main calendar")] = None,
    ) -> CreatedEvent | InputRequiredResult:
        state = state_of(ctx)
        # calendar-post-events.md: POST /me/calendars/{id}/events; user-post-events.md: POST /me/events (main calendar)
        target = f"/me/calendars/{path_id(calendar_id, field='calendar_id')}/events" if calendar_id else "/me/events"
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
        # It changes the calendar, and invitations reach other people: the user says yes first.
        gate = ConfirmOnce(ctx, confirmed=confirm)

        async def run() -> CreatedEvent | InputRequiredResult:
            await state.tokens.get_token(state.settings.graph_resource, CALENDARS_WRITE)
            where = await user_zone(state)
            begin, finish = parse_when(start, field="start", zone=where.zone), parse_when(end, field="end", zone=where.zone)
            payload.update(start=_utc_value(begin), end=_utc_value(finish))
            when = f"{begin.astimezone(where.zone).isoformat()} to {finish.astimezone(where.zone).isoformat()}"
            home = await consent.home_domain(ctx) if invited else None
            if invited:
                summary = f"Create \"{subject}\" ({when}, {where.name}) and send invitations to {', '.join(invited)}"
                details = {"Invitations to": consent.recipients_line(invited, home), "Subject": subject}
            else:
                summary = f"Create \"{subject}\" ({when}, {where.name}) in your calendar (nobody is invited)"
                details = {"Subject": subject}
            asked = await gate.ask(summary, details)
            if asked is not None:
                return asked
            response = await state.graph.request(
                "POST", target, scopes=CALENDARS_WRITE, json_body=payload, headers=UTC_PREFER, may_duplicate=True
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
            "organizer is told (send_response, the default); the user confirms first."
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
        gate = ConfirmOnce(ctx, confirmed=confirm)  # a decline removes the meeting, even when nobody is told
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
            who = str((organizer.email or organizer.name) if organizer else "") or "the organizer"
            note = f" with the comment {comment!r}" if comment else ""
            tell = f"and tell {who}" if send_response else f"without telling {who}"
            where = await user_zone(state)
            asked = await gate.ask(f"{verb} \"{subject}\" (starts {in_zone(event.get('start'), where.zone)}) {tell}{note}")
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
