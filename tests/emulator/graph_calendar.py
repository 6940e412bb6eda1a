"""Graph calendar beyond graph.py: the default calendar, getSchedule, creating events, answering invitations.

The seeded events get a `responseStatus` here (two invitations still wait for
an answer). Free/busy of the seeded people comes from the seeded events they
attend or organize; any other address is "not found", as in a real tenant.
Times must be given in UTC; answers follow `Prefer: outlook.timezone` (graph_mailbox.py).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from . import data, rules
from .graph import CALENDARS_READ, GRAPH_JSON, Call, GraphError, Route, _parse_datetime, _route
from .web import Response

if TYPE_CHECKING:
    from .graph import GraphApi

Json = dict[str, Any]

CALENDARS_WRITE = ("Calendars.ReadWrite",)
UNANSWERED = ("Customer call: Fabrikam", "Contract renewal: Northwind Traders")  # invitations awaiting a reply
NEVER = "0001-01-01T00:00:00Z"  # Graph's "no time" for a response that was not given
MAX_SCHEDULES = 20
MAX_SCHEDULE_DAYS = 62
_VIEW_CODES = {"free": "0", "tentative": "1", "busy": "2", "oof": "3", "workingelsewhere": "4"}
_ANSWERS = {"accept": "accepted", "tentativelyAccept": "tentativelyAccepted", "decline": "declined"}


def _json_body(call: Call) -> Json:
    try:
        payload = call.req.json()
    except ValueError:
        raise GraphError(400, "BadRequest", "Unable to read JSON request payload. Please ensure Content-Type "
                         "header is set and payload is of valid JSON format.") from None
    if not isinstance(payload, dict):
        raise GraphError(400, "BadRequest", "The request payload must be a JSON object.")
    return payload


def _utc(value: Any, name: str) -> datetime:
    """A dateTimeTimeZone in UTC (the only zone the emulator understands)."""
    if not isinstance(value, dict) or not value.get("dateTime"):
        raise GraphError(400, "ErrorInvalidParameter", f"The value of the parameter '{name}' is empty or invalid.")
    if str(value.get("timeZone") or "UTC").upper() not in ("UTC", "ETC/UTC"):
        raise GraphError(400, "ErrorInvalidParameter", f"The emulator accepts '{name}' only in UTC "
                         f"(got timeZone {value.get('timeZone')!r}).")
    moment = _parse_datetime(str(value["dateTime"]))
    if moment is None:
        raise GraphError(400, "ErrorInvalidParameter", f"The value of the parameter '{name}' is invalid.")
    return moment.astimezone(timezone.utc)


def _event_times(event: Json) -> tuple[datetime, datetime]:
    return _parse_datetime(event["start"]["dateTime"]), _parse_datetime(event["end"]["dateTime"])  # type: ignore[return-value]


class CalendarApi:
    def __init__(self, api: GraphApi) -> None:
        self.api = api
        self.created: list[Json] = []  # events made by POST /me/events, as stored
        self.responses: list[Json] = []  # {"eventId", "action", "comment", "sendResponse"}
        for event in api.events:
            if event["isOrganizer"]:
                answer = {"response": "organizer", "time": NEVER}
            elif event["subject"] in UNANSWERED:
                answer = {"response": "notResponded", "time": NEVER}
            else:
                answer = {"response": "accepted", "time": event["attendees"][0]["status"]["time"]
                          if event["attendees"] else NEVER}
            event["responseStatus"] = answer

    def routes(self) -> list[Route]:
        return [
            _route("GET", "/me/calendar", CALENDARS_READ, self.get_calendar),
            _route("POST", "/me/calendar/getSchedule", CALENDARS_READ, self.get_schedule),
            _route("POST", "/me/events", CALENDARS_WRITE, self.create_event),
            *(_route("POST", f"/me/events/{{id}}/{action}", CALENDARS_WRITE,
                     lambda call, action=action: self.respond(call, action)) for action in _ANSWERS),
        ]

    # ---- handlers ------------------------------------------------------------------

    def get_calendar(self, call: Call) -> Response:
        user = self.api.emu.user
        calendar = {
            "id": data._outlook_id("calendar", "default"),
            "name": "Calendar",
            "color": "auto",
            "isDefaultCalendar": True,
            "canEdit": True,
            "canShare": True,
            "canViewPrivateItems": True,
            "owner": {"name": user.name, "address": user.email},
        }
        return self.api._entity(calendar, call, "calendar", f"users('{user.oid}')/calendar/$entity")

    def _events_of(self, address: str) -> list[Json] | None:
        """The seeded events that fill `address`'s calendar, or None for an unknown address."""
        address = address.lower()
        if address == self.api.emu.user.email.lower():
            return list(self.api.events)
        known = {f"{local}@{self.api.emu.user.domain}" for _, local in data.PEOPLE}
        if address not in known:
            return None

        def involved(event: Json) -> bool:
            people = [a["emailAddress"]["address"] for a in event["attendees"]]
            people.append(event["organizer"]["emailAddress"]["address"])
            return address in (p.lower() for p in people)

        return [e for e in self.api.events if involved(e)]

    def get_schedule(self, call: Call) -> Response:
        rules.work_or_school(self.api.emu.user.tid, "getSchedule")
        payload = {k.lower(): v for k, v in _json_body(call).items()}  # Graph accepts "Schedules" too
        schedules = payload.get("schedules")
        if not isinstance(schedules, list) or not schedules:
            raise GraphError(400, "ErrorInvalidParameter", "The parameter 'Schedules' is empty or invalid.")
        if len(schedules) > MAX_SCHEDULES:
            raise GraphError(400, "ErrorInvalidParameter", f"At most {MAX_SCHEDULES} schedules can be requested.")
        start, end = _utc(payload.get("starttime"), "StartTime"), _utc(payload.get("endtime"), "EndTime")
        if end <= start:
            raise GraphError(400, "ErrorInvalidParameter", "The parameter 'EndTime' must be after 'StartTime'.")
        if end - start >= timedelta(days=MAX_SCHEDULE_DAYS):
            raise GraphError(400, "ErrorInvalidTimeInterval", f"The time interval must be less than {MAX_SCHEDULE_DAYS} days.")
        interval = int(payload.get("availabilityviewinterval") or 30)
        if not 5 <= interval <= 1440:
            raise GraphError(400, "ErrorInvalidParameter", "AvailabilityViewInterval must be between 5 and 1440.")
        value = []
        for address in schedules:
            events = self._events_of(str(address))
            if events is None:
                value.append({"scheduleId": address, "error": {
                    "message": f"The mailbox {address} could not be found.",
                    "responseCode": "ErrorMailRecipientNotFound"}})
                continue
            items = []
            for event in events:
                begins, ends = _event_times(event)
                if event["isCancelled"] or ends <= start or begins >= end:
                    continue
                items.append({
                    "isPrivate": False, "status": event["showAs"], "subject": event["subject"],
                    "location": event["location"]["displayName"],
                    "start": {"dateTime": data.graph_datetime(begins), "timeZone": "UTC"},
                    "end": {"dateTime": data.graph_datetime(ends), "timeZone": "UTC"},
                })
            from .graph_mailbox import in_preferred_zone

            value.append({
                "scheduleId": address,
                "availabilityView": self._view(items, start, end, interval),
                "scheduleItems": in_preferred_zone(items, call),
                "workingHours": self.api.mailbox.working_hours(str(address)),  # each person's own (graph_mailbox.py)
            })
        context = f"{self.api.emu.graph_url}/$metadata#Collection(microsoft.graph.scheduleInformation)"
        return self.api.typed("scheduleInformation", {"@odata.context": context, "value": value})

    @staticmethod
    def _view(items: list[Json], start: datetime, end: datetime, interval: int) -> str:
        step, codes, slot = timedelta(minutes=interval), [], start
        while slot < end:
            found = [_VIEW_CODES.get(i["status"].lower(), "0") for i in items
                     if _parse_datetime(i["start"]["dateTime"]) < slot + step  # type: ignore[operator]
                     and _parse_datetime(i["end"]["dateTime"]) > slot]  # type: ignore[operator]
            codes.append(max(found, default="0"))
            slot += step
        return "".join(codes)

    def create_event(self, call: Call) -> Response:
        payload = _json_body(call)
        start, end = _utc(payload.get("start"), "Start"), _utc(payload.get("end"), "End")
        if end < start:
            raise GraphError(400, "ErrorInvalidRequest", "The end time of the event must be after its start.")
        user = self.api.emu.user
        event_id = "AAMkAGEmuNew" + uuid.uuid4().hex + "AAA="
        online = bool(payload.get("isOnlineMeeting"))
        location = (payload.get("location") or {}).get("displayName") or ""
        attendees = []
        for entry in payload.get("attendees") or []:
            address = (entry.get("emailAddress") or {}).get("address")
            if not address:
                raise GraphError(400, "ErrorInvalidRecipients", "An attendee has no email address.")
            attendees.append({"type": entry.get("type") or "required",
                              "status": {"response": "none", "time": NEVER},
                              "emailAddress": {"name": entry["emailAddress"].get("name") or address,
                                               "address": address}})
        body = payload.get("body") or {"contentType": "html", "content": ""}
        join_url = f"https://teams.microsoft.com/l/meetup-join/emu-{event_id[12:20]}"
        if online:  # outlook-calendar-online-meetings.md: the join-Teams-meeting blob goes into the event's body
            body = {"contentType": "html", "content": _with_meeting_blob(body, join_url)}
        event = {
            "@odata.etag": f'W/"DwAAABYAAADEmu{uuid.uuid4().hex[:8]}"',
            "id": event_id,
            "subject": payload.get("subject") or "",
            "bodyPreview": str(body.get("content") or "")[:255],
            "body": body,
            "importance": payload.get("importance") or "normal",
            "sensitivity": payload.get("sensitivity") or "normal",
            "isAllDay": bool(payload.get("isAllDay")),
            "isCancelled": False,
            "isOrganizer": True,
            "showAs": payload.get("showAs") or "busy",
            "type": "singleInstance",
            "start": {"dateTime": data.graph_datetime(start), "timeZone": "UTC"},
            "end": {"dateTime": data.graph_datetime(end), "timeZone": "UTC"},
            "location": {"displayName": location, "locationType": "default"},
            "locations": [{"displayName": location}] if location else [],
            "organizer": {"emailAddress": {"name": user.name, "address": user.email}},
            "attendees": attendees,
            "isOnlineMeeting": online,
            "onlineMeetingProvider": payload.get("onlineMeetingProvider") or ("teamsForBusiness" if online else "unknown"),
            "onlineMeeting": {"joinUrl": join_url} if online else None,
            "responseStatus": {"response": "organizer", "time": NEVER},
            "webLink": f"https://outlook.office365.com/owa/?itemid={event_id}&exvsurl=1&path=/calendar/item",
        }
        self.api.events.append(event)
        self.api.events.sort(key=lambda e: e["start"]["dateTime"])
        self.created.append(event)
        context = f"{self.api.emu.graph_url}/$metadata#users('{user.oid}')/events/$entity"
        return self.api.typed("event", {"@odata.context": context, **event}, 201)

    def respond(self, call: Call, action: str) -> Response:
        event = next((e for e in self.api.events if e["id"] == call.params["id"]), None)
        if event is None:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        if event["isOrganizer"]:
            raise GraphError(400, "ErrorInvalidRequest", "Your request can't be completed. You can't respond "
                             "to a meeting you organized.")
        payload = _json_body(call) if call.req.body else {}
        rules.event_response(payload)
        self.responses.append({"eventId": event["id"], "action": action, "comment": payload.get("comment"),
                               "sendResponse": payload.get("sendResponse", True)})
        event["responseStatus"] = {"response": _ANSWERS[action],
                                   "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")}
        if action == "decline":  # Outlook moves a declined meeting out of the calendar
            self.api.events.remove(event)
        return Response(202, b"", None)


def _with_meeting_blob(body: Json, join_url: str) -> str:
    """The body as HTML with a Teams join blob after it, shaped like the one Outlook inserts."""
    import html

    content = str(body.get("content") or "")
    if str(body.get("contentType") or "").lower() != "html":
        content = "<div>" + html.escape(content).replace("\n", "<br>") + "</div>"
    blob = ('<div style="width:100%"><span style="white-space:nowrap;color:#5F5F5F;opacity:.36">'
            + "_" * 80 + '</span></div><div class="me-email-text" lang="en-US"><div style="margin-top:24px">'
            '<span style="font-size:24px;font-weight:700">Microsoft Teams</span></div><div style="margin-bottom:6px">'
            f'<a href="{html.escape(join_url)}" style="font-size:20px">Join the meeting now</a></div></div>')
    return f"<html><body>{content}{blob}</body></html>"
