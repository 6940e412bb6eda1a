"""Other people's mailboxes and calendars for the emulator: /users/{id | userPrincipalName}/..., /me/calendars/{id}/...

Graph docs (microsoft-graph-docs-contrib, api-reference/v1.0/api/):
- user-list-messages.md, message-get.md, user-list-mailfolders.md, mailfolder-list-messages.md,
  mailfolder-list-childfolders.md: GET /users/{id | userPrincipalName}/messages, /messages/{id},
  /mailFolders, /mailFolders/{id}/messages, /mailFolders/{id}/childFolders. Another user's mail
  needs Mail.Read.Shared (or Mail.ReadWrite.Shared) and rights on that mailbox.
- user-list-calendars.md, user-list-calendarview.md, calendar-list-calendarview.md, event-get.md:
  GET /users/{id}/calendars, /users/{id}/calendarView, /users/{id}/calendars/{id}/calendarView, /users/{id}/events/{id};
  another user's calendar needs Calendars.Read.Shared (or Calendars.ReadWrite.Shared).
- calendar-list-calendarview.md, calendar-post-events.md: GET /me/calendars/{id}/calendarView and
  POST /me/calendars/{id}/events, for the user's own calendars and the ones shared with them
  (a calendar shared read-only cannot take new events: 403).
Permissions reference: "*.Shared" lets the app reach what the signed-in user can reach; without
rights on the mailbox Graph answers 403 ErrorAccessDenied; an unknown user is 404 ErrorInvalidUser.

Seeded: the shared mailbox "IT Service Desk" (servicedesk@, mail and calendar shared with the
user), and Megan Bowen's calendar (shared read-only, as in graph_calendars.py; her mail is not).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from . import data, rules
from .graph import CALENDARS_READ, MAIL_READ, Call, GraphError, Route, _route
from .web import Response

if TYPE_CHECKING:
    from .graph import GraphApi

Json = dict[str, Any]

MAIL_SHARED = ("Mail.Read.Shared", "Mail.ReadWrite.Shared")
CALENDARS_SHARED = ("Calendars.Read.Shared", "Calendars.ReadWrite.Shared")
SHARED_MAILBOX = "servicedesk"  # data.PEOPLE local part: the shared mailbox
SHARED_CALENDAR_OWNER = "megan"  # her calendar is shared with the user (graph_calendars.py)

# (subject, preview, sender index in data.PEOPLE, hours ago, is read, folder)
_DESK_MESSAGES = [
    ("Laptop will not boot", "My laptop shows a blue screen since this morning.", 1, 2, False, "inbox"),
    ("VPN access for new hire", "Please set up VPN for Joni, starting Monday.", 8, 20, True, "inbox"),
    ("Re: Printer on floor 18", "The printer is fixed; toner replaced.", None, 30, True, "sentitems"),
]
# (day offset, hour, minutes long, subject)
_DESK_EVENTS = [(0, 13, 30, "Service desk shift handover"), (2, 15, 60, "Patch Tuesday rollout")]


class SharedMailboxes:
    def __init__(self, api: GraphApi) -> None:
        self.api = api
        user = api.emu.user
        self.desk_address = f"{SHARED_MAILBOX}@{user.domain}"
        self.desk_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"emulator-user:{SHARED_MAILBOX}"))
        now = datetime.now(timezone.utc)
        self.desk_messages = [self._message(n, *spec, now) for n, spec in enumerate(_DESK_MESSAGES)]
        self.desk_folders = data.seed_folders(self.desk_messages)
        self.desk_events = [self._event(n, *spec, now) for n, spec in enumerate(_DESK_EVENTS)]
        self.desk_calendar_id = data._outlook_id("calendar", "default-" + SHARED_MAILBOX)
        self.megan_address = f"{SHARED_CALENDAR_OWNER}@{user.domain}"
        self.megan_calendar_id = data._outlook_id("calendar", "shared-" + SHARED_CALENDAR_OWNER)

    def routes(self) -> list[Route]:
        mail, calendar = MAIL_READ + MAIL_SHARED, CALENDARS_READ + CALENDARS_SHARED
        return [
            _route("GET", "/users/{user}/messages", mail, self.list_messages),
            _route("GET", "/users/{user}/messages/{id}", mail, self.get_message),
            _route("GET", "/users/{user}/mailFolders", mail, self.list_folders),
            _route("GET", "/users/{user}/mailFolders/{id}/messages", mail, self.list_messages),
            _route("GET", "/users/{user}/mailFolders/{id}/childFolders", mail, self.list_child_folders),
            _route("GET", "/users/{user}/calendars", calendar, self.list_calendars),
            _route("GET", "/users/{user}/calendarView", calendar, self.calendar_view),
            _route("GET", "/users/{user}/calendars/{calendar}/calendarView", calendar, self.calendar_view),
            _route("GET", "/users/{user}/events/{id}", calendar, self.get_event),
            _route("GET", "/me/calendars/{calendar}/calendarView", CALENDARS_READ, self.my_calendar_view),
            _route("POST", "/me/calendars/{calendar}/events", ("Calendars.ReadWrite",), self.create_in_calendar),
        ]

    # ---- whose data -----------------------------------------------------------------------

    def _owner(self, call: Call, kind: str) -> str:
        """"me", "desk" or "megan" for /users/{user}; 404 for an unknown user, 403 without rights or scope."""
        user = self.api.emu.user
        key = call.params["user"].strip().lower()
        if key in (user.oid.lower(), user.email.lower()):
            return "me"  # your own mailbox: your own permissions suffice (Mail.Read works too)
        if key in (self.desk_id, self.desk_address.lower()):
            owner = "desk"
        else:
            found = next((u for u in self.api.directory.users
                          if key in (u["id"].lower(), u["userPrincipalName"].lower(), u["mail"].lower())), None)
            if found is None:
                raise GraphError(404, "ErrorInvalidUser", f"The requested user '{call.params['user']}' is invalid.")
            owner = "megan" if found["mail"].lower() == self.megan_address.lower() else "other"
        shared = MAIL_SHARED if kind == "mail" else CALENDARS_SHARED
        rights = {"desk": ("mail", "calendar"), "megan": ("calendar",)}.get(owner, ())
        if kind not in rights or not call.scopes & {s.lower() for s in shared}:
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        return owner

    def _mail(self, call: Call) -> tuple[list[Json], list[Json], str]:
        if self._owner(call, "mail") == "me":
            return self.api.messages, self.api.folders, self.api.emu.user.oid
        return self.desk_messages, self.desk_folders, self.desk_id

    def _events(self, owner: str) -> list[Json]:
        if owner == "me":
            return self.api.events
        if owner == "desk":
            return self.desk_events
        involved = self.api.calendar._events_of(self.megan_address) or []
        return [{**e, "isOrganizer": e["organizer"]["emailAddress"]["address"] == self.megan_address,
                 "responseStatus": {"response": "none", "time": "0001-01-01T00:00:00Z"}} for e in involved]

    # ---- mail -------------------------------------------------------------------------------

    def list_messages(self, call: Call) -> Response:
        rules.messages(call)
        messages, folders, oid = self._mail(call)
        if "id" in call.params:
            folder = _find(folders, call.params["id"])
            messages = [m for m in messages if m["parentFolderId"] == folder["id"]]
        if search := (call.option("search") or "").strip('"').lower():
            messages = [m for m in messages if search in " ".join((
                m["subject"], m["bodyPreview"], m["from"]["emailAddress"]["address"])).lower()]
        return self.api._collection(messages, call, "message", f"users('{oid}')/messages",
                                    skiptoken=call.option("search") is not None)

    def get_message(self, call: Call) -> Response:
        messages, _, oid = self._mail(call)
        return self.api._entity(_find(messages, call.params["id"]), call, "message", f"users('{oid}')/messages/$entity")

    def list_folders(self, call: Call) -> Response:
        _, folders, oid = self._mail(call)
        return self.api._collection(folders, call, "mailFolder", f"users('{oid}')/mailFolders")

    def list_child_folders(self, call: Call) -> Response:
        _, folders, oid = self._mail(call)
        parent = _find(folders, call.params["id"])
        return self.api._collection([], call, "mailFolder", f"users('{oid}')/mailFolders('{parent['id']}')/childFolders")

    # ---- calendar ---------------------------------------------------------------------------

    def _calendar_of(self, owner: str, calendar_id: str | None) -> None:
        known = {"me": data._outlook_id("calendar", "default"), "desk": self.desk_calendar_id,
                 "megan": self.megan_calendar_id}
        if calendar_id is not None and calendar_id != known[owner]:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")

    def list_calendars(self, call: Call) -> Response:
        """user-list-calendars.md: GET /users/{id | userPrincipalName}/calendars, that mailbox's calendars."""
        from .graph_calendars import calendars

        owner = self._owner(call, "calendar")
        if owner == "me":
            items = calendars(self.api)
        else:
            name, address, calendar_id = (("IT Service Desk", self.desk_address, self.desk_calendar_id) if owner == "desk"
                                          else ("Megan Bowen", self.megan_address, self.megan_calendar_id))
            items = [{"id": calendar_id, "name": "Calendar", "color": "auto", "isDefaultCalendar": True,
                      "canEdit": owner == "desk", "canShare": False, "canViewPrivateItems": False,
                      "owner": {"name": name, "address": address}}]
        return self.api._collection(items, call, "calendar", f"users('{call.params['user']}')/calendars")

    def calendar_view(self, call: Call) -> Response:
        owner = self._owner(call, "calendar")
        self._calendar_of(owner, call.params.get("calendar"))
        return self.api.calendar_view(call, self._events(owner))

    def my_calendar_view(self, call: Call) -> Response:
        calendar_id = call.params["calendar"]
        if calendar_id == self.megan_calendar_id:  # shared with the user: Calendars.Read reads it via /me/calendars
            return self.api.calendar_view(call, self._events("megan"))
        self._calendar_of("me", calendar_id)
        return self.api.calendar_view(call)

    def get_event(self, call: Call) -> Response:
        from .graph_mailbox import in_preferred_zone

        owner = self._owner(call, "calendar")
        event = _find(self._events(owner), call.params["id"])
        oid = {"me": self.api.emu.user.oid, "desk": self.desk_id}.get(owner, owner)
        return self.api._entity(in_preferred_zone([event], call)[0], call, "event", f"users('{oid}')/events/$entity")

    def create_in_calendar(self, call: Call) -> Response:
        calendar_id = call.params["calendar"]
        if calendar_id == self.megan_calendar_id:  # graph_calendars.py: canEdit false
            raise GraphError(403, "ErrorAccessDenied", "Access is denied. Check credentials and try again.")
        self._calendar_of("me", calendar_id)
        return self.api.calendar.create_event(call)

    # ---- seed ---------------------------------------------------------------------------------

    def _message(self, n: int, subject: str, preview: str, sender: int | None, hours: int, is_read: bool,
                 folder: str, now: datetime) -> Json:
        desk = {"emailAddress": {"name": "IT Service Desk", "address": self.desk_address}}
        author = desk if sender is None else data._person(sender, self.api.emu.user.domain)
        received = now - timedelta(hours=hours)
        msg_id = data._outlook_id("desk-message", n)
        return {
            "id": msg_id, "subject": subject, "bodyPreview": preview, "isRead": is_read, "isDraft": False,
            "receivedDateTime": data.iso(received), "sentDateTime": data.iso(received - timedelta(seconds=30)),
            "createdDateTime": data.iso(received), "lastModifiedDateTime": data.iso(received),
            "hasAttachments": False, "importance": "normal", "parentFolderId": folder,
            "conversationId": data._outlook_id("desk-conversation", subject.removeprefix("Re: ")),
            "body": {"contentType": "html", "content": f"<html><body><p>{preview}</p></body></html>"},
            "from": author, "sender": author, "toRecipients": [desk if sender is not None else
                                                               data._person(3, self.api.emu.user.domain)],
            "ccRecipients": [], "bccRecipients": [], "replyTo": [], "flag": {"flagStatus": "notFlagged"},
            "webLink": f"https://outlook.office365.com/owa/{self.desk_address}/?ItemID={msg_id}",
        }

    def _event(self, n: int, day: int, hour: int, minutes: int, subject: str, now: datetime) -> Json:
        today = now.replace(hour=0, minute=0, second=0, microsecond=0)
        start = today + timedelta(days=day, hours=hour)
        desk = {"emailAddress": {"name": "IT Service Desk", "address": self.desk_address}}
        event_id = data._outlook_id("desk-event", n)
        return {
            "id": event_id, "subject": subject, "bodyPreview": subject, "isAllDay": False, "isCancelled": False,
            "isOrganizer": True, "showAs": "busy", "type": "singleInstance", "importance": "normal",
            "sensitivity": "normal", "body": {"contentType": "html", "content": f"<p>{subject}</p>"},
            "start": {"dateTime": data.graph_datetime(start), "timeZone": "UTC"},
            "end": {"dateTime": data.graph_datetime(start + timedelta(minutes=minutes)), "timeZone": "UTC"},
            "location": {"displayName": "", "locationType": "default"}, "locations": [],
            "organizer": desk, "attendees": [], "isOnlineMeeting": False, "onlineMeetingProvider": "unknown",
            "onlineMeeting": None, "responseStatus": {"response": "organizer", "time": "0001-01-01T00:00:00Z"},
            "webLink": f"https://outlook.office365.com/owa/{self.desk_address}/?itemid={event_id}&path=/calendar/item",
        }


def _find(items: list[Json], item_id: str) -> Json:
    for item in items:
        if item["id"].lower() == item_id.lower():
            return item
    raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
