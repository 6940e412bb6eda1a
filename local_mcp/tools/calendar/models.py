"""Calendar shapes: scopes, the fields asked of Graph, result models, and times in the user's zone.

Graph is asked for UTC (Prefer: outlook.timezone="UTC"); times are shown with the offset of the
user's zone from their mailbox settings (see ../timezones.py), and inputs without an offset are read
in that zone. Without the zone (no MailboxSettings.Read) everything stays UTC, and results say so.
"""

from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Any, Literal

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from .._common import PageInfo, iso_utc, parse_when
from ..plain_text import body_text
from ..mail.models import Address, address
from ..timezones import UserZone

CALENDARS_READ = ("Calendars.Read",)
CALENDARS_WRITE = ("Calendars.ReadWrite",)
# Graph answers in the time zone this header names; we always ask for UTC.
UTC_PREFER = {"Prefer": 'outlook.timezone="UTC"'}
DEFAULT_WINDOW = timedelta(days=7)
_LIST_FIELDS = (
    "id,subject,start,end,isAllDay,location,organizer,isOnlineMeeting,onlineMeeting,showAs,"
    "isCancelled,responseStatus,webLink"
)
_DETAIL_FIELDS = (
    "id,subject,body,start,end,isAllDay,location,organizer,attendees,isOrganizer,isOnlineMeeting,"
    "onlineMeeting,showAs,isCancelled,responseStatus,importance,sensitivity,type,webLink"
)
_RESPOND_FIELDS = "id,subject,start,organizer,isOrganizer"

_CONFIRM_FIELD = Field(description="for clients that cannot ask the user: true only when the user agreed to exactly this")

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


def _moment(value: Any) -> datetime | None:
    text = iso_utc(value)
    try:
        moment = datetime.fromisoformat(text) if text else None
    except ValueError:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment and moment.tzinfo is None else moment



# ----- online meetings: the join information in the body ---------------------------------------------
# event-update.md, "body property and online meetings": "Before updating the body of an event that has
# been set up as an online meeting, be sure to first get the body property, apply the appropriate changes
# to the content, and preserve the meeting blob for online meeting. Inadvertently removing the meeting
# blob from the body would disable meeting online."
_SEPARATOR = re.compile(r"_{20,}")


def meeting_blob(body_html: str, join_url: str | None) -> str | None:
    """The part of an online meeting's HTML body that holds its join information (None when not found)."""
    if not body_html or not join_url:
        return None
    at = min((i for i in (body_html.find(join_url), body_html.find(html.escape(join_url))) if i >= 0), default=-1)
    if at < 0:
        return None
    separator = [m.start() for m in _SEPARATOR.finditer(body_html, 0, at)]
    anchor = separator[-1] if separator else at
    start = max(body_html.rfind("<div", 0, anchor), body_html.rfind("<p", 0, anchor))
    blob = body_html[start if start >= 0 else anchor:]
    return re.sub(r"(?is)\s*</body>\s*</html>\s*$", "", blob)


def text_with_blob(text: str, blob: str) -> dict[str, str]:
    """A new description as HTML, with the meeting's join information kept after it."""
    shown = html.escape(text).replace("\n", "<br>")
    return {"contentType": "html", "content": f"<div>{shown}</div><br>{blob}"}
