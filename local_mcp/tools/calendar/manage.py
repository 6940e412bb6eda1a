"""Changing and cancelling meetings: update_event, cancel_event (organizer) and decline-or-delete (invitations).

Graph pages (microsoft-graph-docs-contrib, api-reference/v1.0/api/):
- event-update.md: PATCH /me/events/{id}; 200 with the event. The organizer's change reaches the
  attendees as a meeting update, so the person confirms first when there are attendees.
- event-cancel.md: POST /me/events/{id}/cancel {"comment"}; 202; organizer only (an attendee gets
  400 "You need to be an organizer to cancel a meeting"); attendees receive the cancellation.
- event-decline.md: POST /me/events/{id}/decline {"comment", "sendResponse"}; 202.
- event-delete.md: DELETE /me/events/{id}; 204. It removes the event from your calendar only:
  for an invitation the organizer is not told, so it is done only when the person asks.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import BaseModel, Field

from .. import consent
from .._common import ConfirmOnce, email_addresses, graph_tool, parse_when, path_id
from .._runtime import run_tool, state_of
from ..mail.models import address
from ..timezones import user_zone
from .models import _CONFIRM_FIELD, CALENDARS_WRITE, UTC_PREFER, _moment, _utc_value, in_zone, meeting_blob, text_with_blob

_MANAGE_FIELDS = "id,subject,start,end,location,organizer,attendees,isOrganizer,isCancelled,isOnlineMeeting,onlineMeeting"
InvitedAction = Literal["decline", "delete"]


class UpdatedEvent(BaseModel):
    id: str
    subject: str | None
    start: str | None = Field(description="ISO 8601 with the offset of your time zone")
    end: str | None = Field(description="ISO 8601 with the offset of your time zone")
    location: str | None
    attendees: list[str] = Field(description="email addresses of everyone invited after the change")
    changed: list[str] = Field(description="what changed: subject, start, end, location, body, attendees")
    notified: list[str] = Field(description="attendees who were sent the meeting update")
    message: str


class CancelledEvent(BaseModel):
    event_id: str
    subject: str | None
    action: Literal["cancelled", "declined", "deleted"] = Field(
        description="cancelled: you organize it, attendees got the cancellation; declined: the organizer was told; "
        "deleted: removed from your calendar only, nobody was told"
    )
    notified: list[str] = Field(description="who was told (attendees, or the organizer)")
    message: str


def _people(event: dict[str, Any]) -> list[str]:
    found = []
    for entry in event.get("attendees") or ():
        person = address(entry)
        if person and person.email:
            found.append(person.email)
    return found


def _attendee_list(current: list[dict[str, Any]], add: list[str], remove: list[str]) -> list[dict[str, Any]]:
    """The attendees after the change: Graph's PATCH replaces the whole collection (event-update.md)."""
    dropped = {a.lower() for a in remove}
    kept = [a for a in current if ((a.get("emailAddress") or {}).get("address") or "").lower() not in dropped]
    known = {((a.get("emailAddress") or {}).get("address") or "").lower() for a in kept}
    kept += [{"emailAddress": {"address": a}, "type": "required"} for a in add if a.lower() not in known]
    return [{"emailAddress": a.get("emailAddress"), "type": a.get("type") or "required"} for a in kept]


def _new_body(event: dict[str, Any], text: str) -> dict[str, str]:
    """The new description; for an online meeting, with its join information kept (event-update.md)."""
    if not event.get("isOnlineMeeting"):
        return {"contentType": "text", "content": text}
    meeting = event.get("onlineMeeting") if isinstance(event.get("onlineMeeting"), dict) else {}
    old = event.get("body") if isinstance(event.get("body"), dict) else {}
    blob = meeting_blob(str((old or {}).get("content") or ""), (meeting or {}).get("joinUrl"))
    if blob is None:
        raise ToolError(
            f"\"{event.get('subject')}\" is an online meeting whose join information could not be found in its "
            "description, so a new description would remove the Teams link (Graph: removing the meeting blob "
            "disables the online meeting). Change the description in Outlook or Teams, or leave `body` out."
        )
    return text_with_blob(text, blob)


def register(server: MCPServer[Any], settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="update_event",
        title="Change a calendar event",
        description=(
            "Change an event you organize: its time, title, location, description, or attendees (add or remove); "
            "when the meeting has attendees they get the update, so the user confirms first."
        ),
        area="calendar",
        scopes=CALENDARS_WRITE,
        write=True,
        destructive=True,  # it overwrites the time, title or attendees others see
        idempotent=True,
    )
    async def update_event(
        ctx: Context,
        event_id: Annotated[str, Field(description="the event `id` from list_events")],
        subject: Annotated[str | None, Field(description="new title")] = None,
        start: Annotated[str | None, Field(description="new start, ISO 8601 (without an offset: your time zone)")] = None,
        end: Annotated[str | None, Field(description="new end, ISO 8601 (without an offset: your time zone)")] = None,
        location: Annotated[str | None, Field(description="new location, e.g. a room name")] = None,
        body: Annotated[str | None, Field(description="new description, plain text (replaces the old one)")] = None,
        add_attendees: Annotated[list[str] | None, Field(description="email addresses to invite (required)")] = None,
        remove_attendees: Annotated[list[str] | None, Field(description="email addresses to take off the meeting")] = None,
        confirm: Annotated[bool, _CONFIRM_FIELD] = False,
    ) -> UpdatedEvent | InputRequiredResult:
        state = state_of(ctx)
        path = f"/me/events/{path_id(event_id, field='event_id')}"
        added = email_addresses(add_attendees, field="add_attendees")
        removed = email_addresses(remove_attendees, field="remove_attendees")
        for value, field in ((start, "start"), (end, "end")):
            if value is not None:
                parse_when(value, field=field)  # refuse bad input before any sign-in
        if subject is not None and not subject.strip():
            raise ToolError("`subject` is empty; pass the new title, or leave it out to keep the old one.")
        if all(v is None for v in (subject, start, end, location, body)) and not added and not removed:
            raise ToolError("Nothing to change: pass at least one of subject, start, end, location, body, "
                            "add_attendees or remove_attendees.")
        gate = ConfirmOnce(ctx, confirmed=confirm)

        async def run() -> UpdatedEvent | InputRequiredResult:
            await state.tokens.get_token(state.settings.graph_resource, CALENDARS_WRITE)
            fields = _MANAGE_FIELDS + (",body" if body is not None else "")
            event = await state.graph.get_json(path, scopes=CALENDARS_WRITE, params={"$select": fields},
                                               headers=UTC_PREFER)
            title = event.get("subject")
            if not event.get("isOrganizer"):
                organizer = address(event.get("organizer"))
                raise ToolError(
                    f"You do not organize \"{title}\", so a change would reach only your own copy; ask "
                    f"{(organizer.email if organizer else None) or 'the organizer'} to change it, or answer it with "
                    "respond_to_event."
                )
            where = await user_zone(state)
            payload: dict[str, Any] = {}
            lines: dict[str, str] = {}
            if subject is not None and subject != title:
                payload["subject"] = subject
                lines["Title"] = f"{title!r} -> {subject!r}"
            for value, field in ((start, "start"), (end, "end")):
                if value is not None:
                    moment = parse_when(value, field=field, zone=where.zone)
                    payload[field] = _utc_value(moment)
                    lines[field.capitalize()] = (f"{in_zone(event.get(field), where.zone)} -> "
                                                 f"{moment.astimezone(where.zone).isoformat()} ({where.name})")
            new_start = payload.get("start") or event.get("start")
            new_end = payload.get("end") or event.get("end")
            begins, ends = _moment(new_start), _moment(new_end)
            if (start or end) and begins and ends and ends <= begins:
                raise ToolError("The event would end before it starts; pass both `start` and `end`.")
            if location is not None:
                payload["location"] = {"displayName": location}
                lines["Location"] = location or "(none)"
            if body is not None:
                payload["body"] = _new_body(event, body)
                lines["Description"] = consent.size_text(len(body.encode("utf-8"))) + " of new text" + (
                    " (the Teams join information is kept)" if payload["body"]["contentType"] == "html" else "")
            before = _people(event)
            if added or removed:
                unknown = [r for r in removed if r.lower() not in {b.lower() for b in before}]
                if unknown:
                    raise ToolError(f"{', '.join(unknown)} is not invited to \"{title}\" (invited: "
                                    f"{', '.join(before) or 'nobody'}).")
                payload["attendees"] = _attendee_list(list(event.get("attendees") or ()), added, removed)
            after = _people({"attendees": payload["attendees"]}) if "attendees" in payload else before
            known = {b.lower() for b in before}
            invited = [a for a in added if a.lower() not in known]
            if "attendees" in payload and {a.lower() for a in after} == known:
                del payload["attendees"]  # everyone asked for is already invited: no attendee update at all
            if invited:
                lines["Invite"] = ", ".join(invited)
            if removed:
                lines["Take off"] = ", ".join(removed)
            if not payload:
                raise ToolError(f"Nothing would change: \"{title}\" already has those values.")
            if set(payload) == {"attendees"}:
                # event-update.md: "An event update that includes only the attendees property in the request
                # body sends a meeting update to only the attendees that have changed."
                told = sorted({*invited, *removed}, key=str.lower)
            else:
                told = sorted({*after, *removed}, key=str.lower)  # removed people get a cancellation
            if told:  # an event nobody else is on changes without a question
                home = await consent.home_domain(ctx)
                asked = await gate.ask(
                    f"Change \"{title}\" and send the update to {', '.join(told)}",
                    {**lines, "Update goes to": consent.recipients_line(told, home)},
                )
                if asked is not None:
                    return asked
            response = await state.graph.request("PATCH", path, scopes=CALENDARS_WRITE, json_body=payload,
                                                 headers=UTC_PREFER)
            item = response.body if isinstance(response.body, dict) else {}
            changed: list[str] = [k for k in ("subject", "start", "end", "location", "body", "attendees") if k in payload]
            return UpdatedEvent(
                id=str(item.get("id") or event.get("id") or event_id),
                subject=item.get("subject", payload.get("subject", title)),
                start=in_zone(item.get("start") or new_start, where.zone),
                end=in_zone(item.get("end") or new_end, where.zone),
                location=((item.get("location") or payload.get("location") or event.get("location") or {})
                          .get("displayName") or None),
                attendees=_people(item) if item.get("attendees") is not None else after,
                changed=changed,
                notified=told,
                message=f"Changed {', '.join(changed)} of \"{payload.get('subject', title)}\""
                + (f"; the update went to {', '.join(told)}." if told else "."),
            )

        return await run_tool(ctx, run, consent_scopes=CALENDARS_WRITE)

    @graph_tool(
        server,
        settings,
        name="cancel_event",
        title="Cancel a meeting",
        description=(
            "Cancel a meeting you organize, sending attendees a cancellation with an optional message; for a meeting "
            "you were invited to it declines (telling the organizer) or, only when the user asks, deletes it from "
            "the user's calendar without telling anyone. The user confirms first."
        ),
        area="calendar",
        scopes=CALENDARS_WRITE,
        write=True,
        destructive=True,
        idempotent=False,
    )
    async def cancel_event(
        ctx: Context,
        event_id: Annotated[str, Field(description="the event `id` from list_events")],
        comment: Annotated[str | None, Field(description="a message for the attendees (or, for an invitation, the organizer)")] = None,
        if_invited: Annotated[InvitedAction, Field(
            description="for a meeting someone else organizes: decline (default; the organizer is told) or delete "
            "(only when the user asked to remove it silently from their calendar)")] = "decline",
        confirm: Annotated[bool, _CONFIRM_FIELD] = False,
    ) -> CancelledEvent | InputRequiredResult:
        state = state_of(ctx)
        path = f"/me/events/{path_id(event_id, field='event_id')}"
        gate = ConfirmOnce(ctx, confirmed=confirm)
        note = (comment or "").strip()

        async def run() -> CancelledEvent | InputRequiredResult:
            await state.tokens.get_token(state.settings.graph_resource, CALENDARS_WRITE)
            event = await state.graph.get_json(path, scopes=CALENDARS_WRITE, params={"$select": _MANAGE_FIELDS},
                                               headers=UTC_PREFER)
            title = event.get("subject")
            where = await user_zone(state)
            when = in_zone(event.get("start"), where.zone)
            said = f" with the message {note!r}" if note else ""
            home = await consent.home_domain(ctx)
            action: Literal["cancelled", "declined", "deleted"]
            payload: dict[str, Any] | None
            details: dict[str, str]
            if event.get("isOrganizer"):
                people = _people(event)
                if people:
                    action, method, target, payload = "cancelled", "POST", f"{path}/cancel", {"comment": note} if note else {}
                    summary = f"Cancel \"{title}\" (starts {when}) and send the cancellation to {', '.join(people)}{said}"
                    details = {"Cancellation to": consent.recipients_line(people, home)}
                else:  # nobody to tell: cancel is for meetings; an appointment is simply deleted
                    action, method, target, payload = "deleted", "DELETE", path, None
                    summary = f"Delete \"{title}\" (starts {when}) from your calendar"
                    details = {}
            else:
                organizer = address(event.get("organizer"))
                people = [organizer.email] if organizer and organizer.email else []
                who = ", ".join(people) or "the organizer"
                if if_invited == "delete":
                    action, method, target, payload = "deleted", "DELETE", path, None
                    summary = f"Delete \"{title}\" (starts {when}) from your calendar without telling {who}"
                    details, people = {}, []
                else:
                    action, method, target = "declined", "POST", f"{path}/decline"
                    payload = {"sendResponse": True, **({"comment": note} if note else {})}
                    summary = f"Decline \"{title}\" (starts {when}) and tell {who}{said}"
                    details = {"Answer goes to": consent.recipients_line(people, home)}
            asked = await gate.ask(summary, details)
            if asked is not None:
                return asked
            await state.graph.request(method, target, scopes=CALENDARS_WRITE, json_body=payload,
                                      may_duplicate=method == "POST")
            done = {"cancelled": "Cancelled", "declined": "Declined", "deleted": "Deleted"}[action]
            told = f"; {', '.join(people)} {'was' if len(people) == 1 else 'were'} told." if people else "; nobody was told."
            return CancelledEvent(event_id=str(event.get("id") or event_id), subject=title, action=action,
                                  notified=people, message=f"{done} \"{title}\"{told}")

        return await run_tool(ctx, run, consent_scopes=CALENDARS_WRITE)
