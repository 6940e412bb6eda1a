"""Changing, cancelling and deleting events for the emulator.

Graph docs (microsoft-graph-docs-contrib, api-reference/v1.0/api/):
- event-update.md: PATCH /me/events/{id} with the properties of its table only; 200 with the
  updated event. Times here must be UTC (the emulator's only zone, as in graph_calendar.py).
- event-cancel.md: POST /me/events/{id}/cancel {"comment"} (the example spells it "Comment"); 202,
  no body; organizer only, an attendee gets 400 "Your request can't be completed. You need to be
  an organizer to cancel a meeting."; the event moves to Deleted Items (leaves the calendar).
- event-delete.md: DELETE /me/events/{id}, no body; 204.
Property names are msgraph-sdk's (msgraph.generated.models.event.Event).
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from .graph import Call, GraphError, Route, _route
from .graph_calendar import CALENDARS_WRITE, NEVER, _json_body, _utc
from .web import Response

if TYPE_CHECKING:
    from .graph import GraphApi

Json = dict[str, Any]

# event-update.md, "Request body": the properties a PATCH may change.
WRITABLE = frozenset({
    "attendees", "body", "categories", "end", "hideAttendees", "importance", "isAllDay", "isOnlineMeeting",
    "isReminderOn", "location", "locations", "onlineMeetingProvider", "recurrence", "reminderMinutesBeforeStart",
    "responseRequested", "sensitivity", "showAs", "start", "subject",
})


def _event_properties() -> frozenset[str]:
    from msgraph.generated.models.event import Event

    return frozenset(Event().get_field_deserializers())


class EventManageApi:
    def __init__(self, api: GraphApi) -> None:
        self.api = api
        self.updates: list[Json] = []  # {"eventId", "changes"} of every PATCH
        self.cancelled: list[Json] = []  # {"eventId", "comment"}
        self.deleted: list[str] = []  # event ids

    def routes(self) -> list[Route]:
        return [
            _route("PATCH", "/me/events/{id}", CALENDARS_WRITE, self.update),
            _route("DELETE", "/me/events/{id}", CALENDARS_WRITE, self.delete),
            _route("POST", "/me/events/{id}/cancel", CALENDARS_WRITE, self.cancel),
        ]

    def _event(self, call: Call) -> Json:
        for event in self.api.events:
            if event["id"] == call.params["id"]:
                return event
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")

    def update(self, call: Call) -> Response:
        event = self._event(call)
        changes = _json_body(call)
        known = _event_properties()
        unknown = [k for k in changes if not k.startswith("@") and k not in known]
        if unknown:
            raise GraphError(400, "RequestBroker--ParseUri",
                             f"Could not find a property named '{unknown[0]}' on type 'microsoft.graph.event'.")
        read_only = [k for k in changes if k not in WRITABLE]
        if read_only:
            raise GraphError(400, "ErrorInvalidPropertyRequest", f"The property '{read_only[0]}' cannot be updated.")
        start = _utc(changes["start"], "Start") if "start" in changes else _utc(event["start"], "Start")
        end = _utc(changes["end"], "End") if "end" in changes else _utc(event["end"], "End")
        if end < start:
            raise GraphError(400, "ErrorInvalidRequest", "The end time of the event must be after its start.")
        updated = copy.deepcopy(changes)
        if "start" in changes or "end" in changes:
            from . import data

            updated["start"] = {"dateTime": data.graph_datetime(start), "timeZone": "UTC"}
            updated["end"] = {"dateTime": data.graph_datetime(end), "timeZone": "UTC"}
        if "location" in changes:  # event-update.md: location and locations always correspond
            location = changes["location"] or {}
            updated["location"] = {"displayName": location.get("displayName") or "", "locationType": "default"}
            updated["locations"] = [{"displayName": location["displayName"]}] if location.get("displayName") else []
        if "attendees" in changes:
            before = {(a["emailAddress"]["address"] or "").lower(): a for a in event["attendees"]}
            attendees = []
            for entry in changes["attendees"] or []:
                email = (entry.get("emailAddress") or {}).get("address")
                if not email:
                    raise GraphError(400, "ErrorInvalidRecipients", "An attendee has no email address.")
                kept = before.get(email.lower())
                attendees.append({"type": entry.get("type") or "required",
                                  "status": kept["status"] if kept else {"response": "none", "time": NEVER},
                                  "emailAddress": {"name": (kept or entry)["emailAddress"].get("name") or email,
                                                   "address": email}})
            updated["attendees"] = attendees
        if "body" in changes and event.get("isOnlineMeeting") and not changes.get("isOnlineMeeting"):
            # event-update.md, "body property and online meetings": "Inadvertently removing the meeting blob
            # from the body would disable meeting online."
            join = str((event.get("onlineMeeting") or {}).get("joinUrl") or "")
            if join and join not in str((changes["body"] or {}).get("content") or ""):
                updated.update(isOnlineMeeting=False, onlineMeeting=None, onlineMeetingProvider="unknown")
        event.update(updated)
        self.api.events.sort(key=lambda e: e["start"]["dateTime"])
        self.updates.append({"eventId": event["id"], "changes": changes})
        from .graph_mailbox import in_preferred_zone

        context = f"users('{self.api.emu.user.oid}')/events/$entity"
        return self.api._entity(in_preferred_zone([event], call)[0], call, "event", context)

    def cancel(self, call: Call) -> Response:
        event = self._event(call)
        if not event["isOrganizer"]:
            raise GraphError(400, "ErrorInvalidRequest", "Your request can't be completed. You need to be an organizer "
                             "to cancel a meeting.")
        payload = {k.lower(): v for k, v in (_json_body(call) if call.req.body else {}).items()}
        self.cancelled.append({"eventId": event["id"], "comment": payload.get("comment")})
        self.api.events.remove(event)  # to Deleted Items: out of the calendar
        return Response(202, b"", None)

    def delete(self, call: Call) -> Response:
        event = self._event(call)
        if call.req.body:
            raise GraphError(400, "BadRequest", "Do not supply a request body for this method.")
        self.deleted.append(event["id"])
        self.api.events.remove(event)
        return Response(204, b"", None)
