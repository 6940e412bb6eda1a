"""Self-tests of the emulator's mailboxSettings, per-person working hours in getSchedule, and
`Prefer: outlook.timezone` (tests/emulator/graph_mailbox.py), each checked against msgraph-sdk's models."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from tests.emulator import Emulator
from tests.emulator.graph_mailbox import mailbox_settings
from tests.test_emulator import tls

pytestmark = pytest.mark.integration


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


def client(emu: Emulator, *names: str) -> httpx.Client:
    token = emu.issue_access_token(names)
    return httpx.Client(base_url=emu.graph_url, verify=tls(emu.ca_bundle), timeout=10,
                        headers={"Authorization": f"Bearer {token}"})


def known(model: type, body: dict) -> set[str]:
    """Properties of `body` that the msgraph-sdk model does not know."""
    return {k for k in body if not k.startswith("@odata")} - set(model().get_field_deserializers())


def test_mailbox_settings_in_the_docs_shape_and_configurable_per_person(emu: Emulator) -> None:
    from msgraph.generated.models.mailbox_settings import MailboxSettings
    from msgraph.generated.models.working_hours import WorkingHours

    emu.graph.mailbox.settings[emu.user.email.lower()] = mailbox_settings("Eastern Standard Time", "08:30:00.0000000")
    with client(emu, "MailboxSettings.Read") as graph:
        body = graph.get("/me/mailboxSettings").json()
    with client(emu, "Mail.Read") as graph:
        refused = graph.get("/me/mailboxSettings")
    assert body["timeZone"] == "Eastern Standard Time"
    assert body["workingHours"]["startTime"] == "08:30:00.0000000"
    assert body["workingHours"]["timeZone"] == {"name": "Eastern Standard Time"}
    assert known(MailboxSettings, body) == set() and known(WorkingHours, body["workingHours"]) == set()
    assert refused.status_code == 403


def test_get_schedule_gives_each_persons_working_hours_and_honours_prefer(emu: Emulator) -> None:
    from msgraph.generated.models.schedule_information import ScheduleInformation

    megan = f"megan@{emu.user.domain}"
    emu.graph.mailbox.settings[megan] = mailbox_settings("W. Europe Standard Time")
    start = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    request = {"schedules": [emu.user.email, megan],
               "startTime": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
               "endTime": {"dateTime": (start + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}}
    with client(emu, "Calendars.Read") as graph:
        answer = graph.post("/me/calendar/getSchedule", json=request,
                            headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'}).json()["value"]
        utc_view = graph.get("/me/calendarView", params={
            "startDateTime": start.isoformat(), "endDateTime": (start + timedelta(days=2)).isoformat()}).json()["value"]
        local_view = graph.get("/me/calendarView", headers={"Prefer": 'outlook.timezone="Pacific Standard Time"'}, params={
            "startDateTime": start.isoformat(), "endDateTime": (start + timedelta(days=2)).isoformat()}).json()["value"]
    mine, hers = answer
    assert mine["workingHours"]["timeZone"] == {"name": "UTC"}
    assert hers["workingHours"]["timeZone"] == {"name": "W. Europe Standard Time"}
    assert all(known(ScheduleInformation, s) == set() for s in answer)
    assert mine["scheduleItems"] and {i["start"]["timeZone"] for i in mine["scheduleItems"]} == {"Pacific Standard Time"}
    assert utc_view and {e["start"]["timeZone"] for e in utc_view} == {"UTC"}
    first_utc = datetime.fromisoformat(utc_view[0]["start"]["dateTime"][:19]).replace(tzinfo=timezone.utc)
    first_local = datetime.fromisoformat(local_view[0]["start"]["dateTime"][:19])
    assert local_view[0]["start"]["timeZone"] == "Pacific Standard Time"
    assert first_utc - first_local.replace(tzinfo=timezone.utc) in (timedelta(hours=7), timedelta(hours=8))
