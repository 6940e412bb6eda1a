"""The user's time zone and working hours, read once per session from their mailbox settings.

- `GET /me/mailboxSettings` (scope MailboxSettings.Read) gives `timeZone` and `workingHours`
  (`daysOfWeek`, `startTime`, `endTime`, `timeZone.name`), as the Graph docs' *Get user mailbox
  settings* page shows. Outlook names zones the Windows way ("Pacific Standard Time") or the IANA
  way; Windows names map to IANA through CLDR's windowsZones table as shipped by `tzlocal`
  (`tzlocal.windows_tz.win_tz`), and `tzdata` makes zoneinfo work where the OS has no zone files.
- The token for MailboxSettings.Read is asked for silently: reading a time zone never opens a
  sign-in. Without it (no consent, a 403, an account without a mailbox) times stay in UTC and the
  result says so (`time_zone_note`).
- One fetch per session, shared by concurrent calls; a refusal from Graph is remembered for a few
  minutes, a missing token is not (the user may consent at any moment).
"""

from __future__ import annotations

import time as clock
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import anyio

from ..errors import AuthError, GraphError

MAILBOX_SETTINGS_READ = ("MailboxSettings.Read",)
DAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
RETRY_AFTER_REFUSAL_SECONDS = 600.0
_UTC_NAMES = {"utc", "etc/utc", "coordinated universal time", "gmt standard time utc", "z"}


def zone_named(name: str | None) -> ZoneInfo | None:
    """A zone from an Outlook/Graph name: Windows ("W. Europe Standard Time") or IANA ("Europe/Berlin")."""
    if not name or not str(name).strip():
        return None
    text = str(name).strip()
    if text.lower() in _UTC_NAMES:
        return ZoneInfo("UTC")
    from tzlocal.windows_tz import win_tz  # CLDR windowsZones, maintained upstream

    iana = win_tz.get(text, text)
    try:
        return ZoneInfo(iana)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone_label(zone: tzinfo) -> str:
    return getattr(zone, "key", None) or str(zone)


def _clock_value(value: Any) -> time | None:
    text = str(value or "").strip()
    if not text:
        return None
    try:
        return time.fromisoformat(text.split(".", 1)[0])  # "08:00:00.0000000"
    except ValueError:
        return None


@dataclass(frozen=True)
class WorkingHours:
    """Working days and hours in one time zone (Graph's workingHours)."""

    days: frozenset[int]  # 0 = Monday
    start: time
    end: time
    zone: tzinfo

    def describe(self) -> str:
        if self.days == frozenset(range(7)):
            days = "every day"
        elif self.days == frozenset(range(5)):
            days = "Monday to Friday"
        else:
            days = ", ".join(DAY_NAMES[d].capitalize() for d in sorted(self.days))
        return f"{self.start.strftime('%H:%M')}-{self.end.strftime('%H:%M')} {zone_label(self.zone)}, {days}"

    def intervals(self, begin: datetime, finish: datetime) -> list[tuple[datetime, datetime]]:
        """The working stretches that overlap [begin, finish), in UTC."""
        out = []
        first = begin.astimezone(self.zone).date() - timedelta(days=1)
        last = finish.astimezone(self.zone).date() + timedelta(days=1)
        day: date = first
        while day <= last:
            if day.weekday() in self.days:
                opens = datetime.combine(day, self.start, self.zone).astimezone(timezone.utc)
                end_day = day if self.end > self.start else day + timedelta(days=1)
                closes = datetime.combine(end_day, self.end, self.zone).astimezone(timezone.utc)
                opens, closes = max(opens, begin), min(closes, finish)
                if closes > opens:
                    out.append((opens, closes))
            day += timedelta(days=1)
        return out


def working_hours_from(value: Any, default_zone: tzinfo) -> WorkingHours | None:
    """Graph's workingHours object; None when it is missing or unreadable."""
    if not isinstance(value, Mapping):
        return None
    start, end = _clock_value(value.get("startTime")), _clock_value(value.get("endTime"))
    names = [str(d).lower() for d in value.get("daysOfWeek") or []]
    days = frozenset(DAY_NAMES.index(n) for n in names if n in DAY_NAMES)
    if start is None or end is None or not days or start == end:
        return None
    zone_info = value.get("timeZone")
    zone = zone_named(zone_info.get("name") if isinstance(zone_info, Mapping) else None) or default_zone
    return WorkingHours(days=days, start=start, end=end, zone=zone)


@dataclass(frozen=True)
class UserZone:
    zone: tzinfo
    working_hours: WorkingHours | None
    note: str | None = None  # why times are in UTC, when they fall back

    @property
    def name(self) -> str:
        return zone_label(self.zone)


def utc_fallback(reason: str) -> UserZone:
    return UserZone(zone=ZoneInfo("UTC"), working_hours=None, note=f"Times are in UTC: {reason}")


def user_zone_from(settings: Mapping[str, Any]) -> UserZone:
    """mailboxSettings -> the user's zone and working hours (UTC with a note when the zone is unknown)."""
    raw = settings.get("timeZone")
    zone = zone_named(raw)
    if zone is None:
        return utc_fallback(f"your mailbox's time zone {raw!r} is not one this server knows.")
    return UserZone(zone=zone, working_hours=working_hours_from(settings.get("workingHours"), zone))


class ZoneCache:
    """The signed-in user's zone, fetched once per session (concurrent callers share the fetch)."""

    def __init__(self) -> None:
        self._lock = anyio.Lock()
        self._value: UserZone | None = None
        self._refused: tuple[float, UserZone] | None = None

    async def get(self, state: Any) -> UserZone:
        if self._value is not None:
            return self._value
        async with self._lock:
            if self._value is not None:
                return self._value
            if self._refused and clock.monotonic() - self._refused[0] < RETRY_AFTER_REFUSAL_SECONDS:
                return self._refused[1]
            consent = 'to use your own, run the sign_in tool with scopes=["MailboxSettings.Read"].'
            try:
                await state.tokens.get_token(state.settings.graph_resource, MAILBOX_SETTINGS_READ, interactive=False)
                found = await state.graph.get_json(
                    "/me/mailboxSettings", scopes=MAILBOX_SETTINGS_READ, params={"$select": "timeZone,workingHours"}
                )
            except AuthError:
                return utc_fallback(f"your time zone needs the MailboxSettings.Read permission; {consent}")
            except GraphError as exc:
                fallback = utc_fallback(f"Graph would not tell your time zone ({exc.status or 'no answer'}); {consent}")
                self._refused = (clock.monotonic(), fallback)
                return fallback
            self._value = user_zone_from(found)
            return self._value


async def user_zone(state: Any) -> UserZone:
    """The session's ZoneCache lives on the Graph client (one per server, like the session)."""
    cache = state.graph.session_cache.setdefault("user_zone", ZoneCache())
    result: UserZone = await cache.get(state)
    return result


def local_iso(moment: datetime | None, zone: tzinfo) -> str | None:
    return moment.astimezone(zone).isoformat() if moment else None
