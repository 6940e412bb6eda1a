"""Mailbox settings, working hours and `Prefer: outlook.timezone`, as the Graph docs describe them.

| what | rule / shape | source (Graph docs, api-reference/v1.0) |
|---|---|---|
| `GET /me/mailboxSettings` | `timeZone`, `workingHours` {`daysOfWeek`, `startTime`, `endTime`, `timeZone`: {`name`}}, `language`, `automaticRepliesSetting`, `dateFormat`, `timeFormat`, `delegateMeetingMessageDeliveryOptions`, `userPurpose`, `archiveFolder`; scope MailboxSettings.Read | *Get user mailbox settings* (api/user-get-mailboxsettings.md), resources/mailboxsettings.md, resources/workinghours.md |
| getSchedule | each scheduleInformation carries the person's `workingHours` | *calendar: getSchedule* (api/calendar-getschedule.md) |
| `Prefer: outlook.timezone="{zone}"` | start/end of events (list, get, calendarView) and of schedule items come back in that zone, with `timeZone` naming it; without the header, UTC | *List events*, *calendar: getSchedule* ("If not specified, these time values are returned in UTC") |

Property names are those of msgraph-sdk's models (MailboxSettings, WorkingHours, ScheduleInformation).
Each emulated person's settings live in `MailboxStore.settings` (keyed by lower-cased address), so a
test can put the signed-in user in New York and a colleague in Berlin. Zone names, Windows or IANA,
map through CLDR's windowsZones as shipped by tzlocal.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import data
from .graph import Call, _parse_datetime, _route
from .web import Response

if TYPE_CHECKING:
    from .graph import GraphApi, Route

Json = dict[str, Any]
MAILBOX_SETTINGS_READ = ("MailboxSettings.Read", "MailboxSettings.ReadWrite")
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]
_PREFER_ZONE = re.compile(r'outlook\.timezone\s*=\s*"([^"]*)"', re.IGNORECASE)


def zone_of(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    if name.strip().upper() in ("UTC", "ETC/UTC"):
        return ZoneInfo("UTC")
    from tzlocal.windows_tz import win_tz

    try:
        return ZoneInfo(win_tz.get(name.strip(), name.strip()))
    except (ZoneInfoNotFoundError, ValueError):
        return None


def mailbox_settings(time_zone: str = "UTC", start: str = "09:00:00.0000000", end: str = "17:00:00.0000000",
                     days: list[str] | None = None) -> Json:
    """One person's mailboxSettings, in the docs' shape."""
    return {
        "archiveFolder": data._outlook_id("folder", "archive"),
        "timeZone": time_zone,
        "automaticRepliesSetting": {
            "status": "disabled", "externalAudience": "all",
            "scheduledStartDateTime": {"dateTime": "2026-01-01T00:00:00.0000000", "timeZone": "UTC"},
            "scheduledEndDateTime": {"dateTime": "2026-01-02T00:00:00.0000000", "timeZone": "UTC"},
            "internalReplyMessage": "", "externalReplyMessage": "",
        },
        "language": {"locale": "en-US", "displayName": "English (United States)"},
        "workingHours": {
            "daysOfWeek": list(days or WEEKDAYS), "startTime": start, "endTime": end,
            "timeZone": {"name": time_zone},
        },
        "dateFormat": "M/d/yyyy",
        "timeFormat": "h:mm tt",
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOnly",
        "userPurpose": "user",
    }


class MailboxStore:
    def __init__(self, api: GraphApi) -> None:
        self.api = api
        user = api.emu.user
        self.settings: dict[str, Json] = {user.email.lower(): mailbox_settings()}
        for _, local in data.PEOPLE:
            self.settings[f"{local}@{user.domain}".lower()] = mailbox_settings()

    def routes(self) -> list[Route]:
        return [_route("GET", "/me/mailboxSettings", MAILBOX_SETTINGS_READ, self.get_settings)]

    def of(self, address: str) -> Json:
        return self.settings.get(address.lower()) or mailbox_settings()

    def get_settings(self, call: Call) -> Response:
        user = self.api.emu.user
        return self.api._entity(copy.deepcopy(self.of(user.email)), call, "mailboxSettings",
                                f"users('{user.oid}')/mailboxSettings")

    def working_hours(self, address: str) -> Json:
        return copy.deepcopy(self.of(address)["workingHours"])


def preferred_zone(call: Call) -> tuple[str, ZoneInfo] | None:
    """The zone a `Prefer: outlook.timezone="…"` header names; None for none (UTC) or an unknown one."""
    found = _PREFER_ZONE.search(call.req.headers.get("prefer", ""))
    zone = zone_of(found[1]) if found else None
    return (found[1], zone) if found and zone else None


def in_preferred_zone(items: list[Json], call: Call, fields: tuple[str, ...] = ("start", "end")) -> list[Json]:
    """Copies of `items` whose dateTimeTimeZone `fields` are in the zone of the Prefer header."""
    wanted = preferred_zone(call)
    if wanted is None:
        return items
    name, zone = wanted
    out = []
    for item in items:
        item = dict(item)
        for field in fields:
            value = item.get(field)
            if isinstance(value, dict) and value.get("dateTime"):
                moment = _parse_datetime(str(value["dateTime"]))
                if moment is not None:
                    moment = moment.replace(tzinfo=moment.tzinfo or timezone.utc).astimezone(zone)
                    item[field] = {"dateTime": _local(moment), "timeZone": name}
        out.append(item)
    return out


def _local(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.0000000")
