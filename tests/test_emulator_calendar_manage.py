"""Self-tests of the emulator's event update / cancel / delete and its shared mailboxes and calendars."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest

from tests.emulator import Emulator
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


def seg(value: str) -> str:
    return quote(value, safe="")


def mine(emu: Emulator) -> dict:
    return next(e for e in emu.graph.events if e["isOrganizer"] and e["attendees"])


def invitation(emu: Emulator) -> dict:
    return next(e for e in emu.graph.events if not e["isOrganizer"])


def test_patch_changes_only_writable_properties_and_keeps_responses(emu: Emulator) -> None:
    event = mine(emu)
    path = f"/me/events/{seg(event['id'])}"
    kept = event["attendees"][0]["emailAddress"]["address"]
    with client(emu, "Calendars.ReadWrite") as graph:
        changed = graph.patch(path, json={"subject": "Moved", "location": {"displayName": "Rainier"},
                                          "attendees": [{"emailAddress": {"address": kept}, "type": "required"},
                                                        {"emailAddress": {"address": "new@contoso.example"}}]})
        assert changed.status_code == 200, changed.text
        body = changed.json()
        assert body["subject"] == "Moved" and body["locations"] == [{"displayName": "Rainier"}]
        assert body["attendees"][0]["status"]["response"] == "accepted"  # an attendee who stays keeps the answer
        assert body["attendees"][1]["status"]["response"] == "none"
        assert graph.patch(path, json={"organizer": {}}).json()["error"]["code"] == "ErrorInvalidPropertyRequest"
        assert graph.patch(path, json={"colour": "red"}).status_code == 400
        late = graph.patch(path, json={"end": {"dateTime": "2000-01-01T00:00:00", "timeZone": "UTC"}})
        assert late.status_code == 400
    with client(emu, "Calendars.Read") as reader:
        assert reader.patch(path, json={"subject": "x"}).status_code == 403
    assert emu.graph.event_manage.updates[0]["changes"]["subject"] == "Moved"


def test_cancel_is_for_organizers_and_delete_removes_the_event(emu: Emulator) -> None:
    own, invited = mine(emu), invitation(emu)
    with client(emu, "Calendars.ReadWrite") as graph:
        refused = graph.post(f"/me/events/{seg(invited['id'])}/cancel", json={"comment": "no"})
        assert refused.status_code == 400 and "need to be an organizer" in refused.json()["error"]["message"]
        assert graph.post(f"/me/events/{seg(own['id'])}/cancel", json={"Comment": "Sorry"}).status_code == 202
        assert graph.delete(f"/me/events/{seg(invited['id'])}").status_code == 204
        assert graph.get(f"/me/events/{seg(own['id'])}").status_code == 404
    assert emu.graph.event_manage.cancelled == [{"eventId": own["id"], "comment": "Sorry"}]
    assert emu.graph.event_manage.deleted == [invited["id"]]


def test_shared_mailbox_needs_the_shared_scope_and_rights(emu: Emulator) -> None:
    desk = emu.graph.shared.desk_address
    with client(emu, "Mail.Read") as own_only:
        assert own_only.get(f"/users/{desk}/messages").status_code == 403
        assert own_only.get(f"/users/{emu.user.email}/messages").status_code == 200  # your own: Mail.Read is enough
    with client(emu, "Mail.Read.Shared") as shared:
        listed = shared.get(f"/users/{desk}/mailFolders/inbox/messages", params={"$select": "id,subject"})
        assert listed.status_code == 200
        subjects = [m["subject"] for m in listed.json()["value"]]
        assert subjects == ["Laptop will not boot", "VPN access for new hire"]
        one = shared.get(f"/users/{desk}/messages/{seg(listed.json()['value'][0]['id'])}")
        assert one.json()["from"]["emailAddress"]["address"].startswith("alex@")
        assert shared.get(f"/users/{emu.graph.shared.megan_address}/messages").status_code == 403  # only her calendar
        unknown = shared.get("/users/nobody@contoso.example/messages")
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "ErrorInvalidUser"
        assert shared.get(f"/users/{desk}/mailFolders").json()["value"][0]["id"] == "inbox"


def test_shared_calendars_by_user_and_by_calendar_id(emu: Emulator) -> None:
    shared = emu.graph.shared
    window = {"startDateTime": "2000-01-01T00:00:00Z", "endDateTime": "2100-01-01T00:00:00Z"}
    with client(emu, "Calendars.Read.Shared") as graph:
        desk = graph.get(f"/users/{shared.desk_address}/calendarView", params=window).json()["value"]
        assert [e["subject"] for e in desk] == ["Service desk shift handover", "Patch Tuesday rollout"]
        megan = graph.get(f"/users/{shared.megan_address}/calendars/{seg(shared.megan_calendar_id)}/calendarView",
                          params=window).json()["value"]
        assert megan and all(shared.megan_address in str(e) for e in megan)
        got = graph.get(f"/users/{shared.desk_address}/events/{seg(desk[0]['id'])}")
        assert got.status_code == 200 and got.json()["subject"] == "Service desk shift handover"
        calendars = graph.get(f"/users/{shared.desk_address}/calendars").json()["value"]  # user-list-calendars.md
        assert [(c["owner"]["address"], c["isDefaultCalendar"]) for c in calendars] == [(shared.desk_address, True)]
        assert graph.get("/users/lee@contoso.example/calendars").status_code == 403  # no rights on Lee's calendar
    with client(emu, "Calendars.Read") as own:
        assert own.get(f"/users/{shared.desk_address}/calendarView", params=window).status_code == 403
        via_me = own.get(f"/me/calendars/{seg(shared.megan_calendar_id)}/calendarView", params=window)
        assert via_me.status_code == 200 and len(via_me.json()["value"]) == len(megan)
    new = {"subject": "Focus", "start": {"dateTime": "2030-01-01T09:00:00", "timeZone": "UTC"},
           "end": {"dateTime": "2030-01-01T10:00:00", "timeZone": "UTC"}}
    with client(emu, "Calendars.ReadWrite") as writer:
        default_id = next(c["id"] for c in writer.get("/me/calendars").json()["value"] if c["isDefaultCalendar"])
        assert writer.post(f"/me/calendars/{seg(default_id)}/events", json=new).status_code == 201
        assert writer.post(f"/me/calendars/{seg(shared.megan_calendar_id)}/events", json=new).status_code == 403
