"""Free time across people in different time zones: working stretches, intersected, minus busy time.

Everybody's working hours come from Graph (the user's from mailboxSettings, each attendee's from
getSchedule's `workingHours`); explicit hours given to the tool apply to everybody instead.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, time, timedelta

from .timezones import WorkingHours

Stretch = tuple[datetime, datetime]
SLOT_STEP = timedelta(minutes=15)
DEFAULT_START, DEFAULT_END = time(9), time(17)
WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))


def intersect(a: Sequence[Stretch], b: Sequence[Stretch]) -> list[Stretch]:
    """The stretches in both sorted lists."""
    out, i, j = [], 0, 0
    while i < len(a) and j < len(b):
        start, end = max(a[i][0], b[j][0]), min(a[i][1], b[j][1])
        if end > start:
            out.append((start, end))
        if a[i][1] < b[j][1]:
            i += 1
        else:
            j += 1
    return out


def merge(busy: Iterable[Stretch]) -> list[Stretch]:
    merged: list[Stretch] = []
    for start, end in sorted(b for b in busy if b[1] > b[0]):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _round_up(moment: datetime, step: timedelta) -> datetime:
    base = moment.replace(minute=0, second=0, microsecond=0)
    while base < moment:
        base += step
    return base


def free_within(allowed: Sequence[Stretch], busy: Iterable[Stretch], duration: timedelta) -> list[Stretch]:
    """Stretches of at least `duration` inside `allowed` that overlap no busy time (starts on the quarter hour)."""
    blocked = merge(busy)
    slots = []
    for opens, closes in allowed:
        cursor = _round_up(opens, SLOT_STEP)
        for start, end in blocked:
            if end <= cursor or start >= closes:
                continue
            if start - cursor >= duration:
                slots.append((cursor, start))
            cursor = max(cursor, end)
        if closes - cursor >= duration:
            slots.append((cursor, closes))
    return slots


def common_hours(hours: Sequence[WorkingHours], begin: datetime, finish: datetime) -> list[Stretch]:
    """When everybody in `hours` is at work, between begin and finish."""
    allowed: list[Stretch] = [(begin, finish)]
    for person in hours:
        allowed = intersect(allowed, person.intervals(begin, finish))
    return allowed


def with_days(hours: WorkingHours, weekends: bool | None) -> WorkingHours:
    """`include_weekends`: True adds Saturday and Sunday, False keeps Monday to Friday, None keeps theirs."""
    if weekends is None:
        return hours
    days = EVERY_DAY if weekends else hours.days & WEEKDAYS or WEEKDAYS
    return WorkingHours(days=days, start=hours.start, end=hours.end, zone=hours.zone)
