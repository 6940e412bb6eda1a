"""Self-tests of the emulator's mail and calendar endpoints, and of withholding a scope until sign-in."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from urllib.parse import quote

import httpx
import pytest

from tests.emulator import Emulator
from tests.test_emulator import make_app, msal_env, scopes, sign_in, tls  # noqa: F401  (msal_env is a fixture)

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


def scp(token: str) -> set[str]:
    payload = token.split(".")[1]
    return set(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["scp"].split())


@pytest.mark.usefixtures("msal_env")
def test_withheld_scope_is_missing_from_refreshed_tokens_until_an_interactive_sign_in(emu: Emulator) -> None:
    app = make_app(emu)
    sign_in(app, emu, "User.Read")
    account = app.get_accounts()[0]
    emu.withhold_scopes({"Mail.Read"})

    refreshed = app.acquire_token_silent(scopes(emu, "Mail.Read", "User.Read"), account=account)
    assert refreshed and "Mail.Read" in refreshed["scope"]  # the response still says it was granted
    assert scp(refreshed["access_token"]) == {"User.Read"}
    with httpx.Client(verify=tls(emu.ca_bundle)) as http:
        denied = http.get(f"{emu.graph_url}/me/messages", headers={"Authorization": f"Bearer {refreshed['access_token']}"})
    assert denied.status_code == 403 and denied.json()["error"]["code"] == "ErrorAccessDenied"

    again = sign_in(app, emu, "Mail.Read")
    assert scp(again["access_token"]) == {"Mail.Read"}
    assert emu.withheld_scopes == set()


def test_attachments_list_get_and_value(emu: Emulator) -> None:
    message = next(m for m in emu.graph.messages if m["subject"] == "Brand guidelines v2 (final)")
    base = f"/me/messages/{seg(message['id'])}/attachments"
    with client(emu, "Mail.Read") as graph:
        listed = graph.get(base, params={"$select": "id,name,size,contentType,isInline"}).json()["value"]
        assert [a["name"] for a in listed] == ["Brand guidelines v2.pdf", "logo.png"]
        assert all(a["@odata.type"] == "#microsoft.graph.fileAttachment" and "contentBytes" not in a for a in listed)
        full = graph.get(f"{base}/{seg(listed[1]['id'])}").json()
        assert full["isInline"] is True and base64.b64decode(full["contentBytes"]) == emu.graph.mail.attachment_bytes(
            message["id"], listed[1]["id"])
        raw = graph.get(f"{base}/{seg(listed[0]['id'])}/$value")
        assert raw.headers["content-type"] == "application/pdf" and len(raw.content) == 240_118
        assert graph.get(f"{base}/nope/$value").status_code == 404
    with client(emu, "Mail.ReadBasic") as basic:
        assert basic.get(base).status_code == 403


def test_reply_needs_mail_send_and_is_recorded(emu: Emulator) -> None:
    message = emu.graph.messages[0]
    path = f"/me/messages/{seg(message['id'])}/replyAll"
    with client(emu, "Mail.Read") as reader:
        assert reader.post(path, json={"comment": "hi"}).status_code == 403
    with client(emu, "Mail.Send") as sender:
        assert sender.post(path, json={}).status_code == 400
        assert sender.post(path, json={"comment": "Count me in."}).status_code == 202
    assert emu.graph.mail.replies == [{"messageId": message["id"], "action": "replyAll", "comment": "Count me in.",
                                       "payload": {"comment": "Count me in."}}]


def test_get_schedule_reports_busy_times_and_unknown_mailboxes(emu: Emulator) -> None:
    start = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    window = {"startTime": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
              "endTime": {"dateTime": (start + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
              "availabilityViewInterval": 60}
    with client(emu, "Calendars.Read") as graph:
        owner = graph.get("/me/calendar", params={"$select": "owner"}).json()["owner"]
        assert owner == {"name": emu.user.name, "address": emu.user.email}
        answer = graph.post("/me/calendar/getSchedule", json={
            "schedules": [emu.user.email, "isaiah@contoso.example", "ghost@elsewhere.example"], **window}).json()
        too_long = graph.post("/me/calendar/getSchedule", json={
            **window, "schedules": [emu.user.email],
            "endTime": {"dateTime": (start + timedelta(days=62)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"}})
    mine, isaiah, ghost = answer["value"]
    assert [i["subject"] for i in mine["scheduleItems"]] == ["Daily standup", "Design review: Project Falcon", "1:1 with Isaiah"]
    assert len(mine["availabilityView"]) == 24 and mine["availabilityView"][9] == "2"
    assert [i["subject"] for i in isaiah["scheduleItems"]] == ["1:1 with Isaiah"]
    assert ghost["error"]["responseCode"] == "ErrorMailRecipientNotFound"
    assert too_long.status_code == 400


def test_events_are_created_with_calendars_readwrite_and_answered(emu: Emulator) -> None:
    start = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=20)
    event = {"subject": "Pricing", "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
             "end": {"dateTime": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
             "attendees": [{"emailAddress": {"address": "alex@contoso.example"}, "type": "required"}]}
    invitation = next(e for e in emu.graph.events if e["responseStatus"]["response"] == "notResponded")
    with client(emu, "Calendars.Read") as reader:
        assert reader.post("/me/events", json=event).status_code == 403
        assert reader.post(f"/me/events/{seg(invitation['id'])}/accept", json={}).status_code == 403
    with client(emu, "Calendars.ReadWrite") as writer:
        created = writer.post("/me/events", json=event)
        assert created.status_code == 201 and created.json()["attendees"][0]["status"]["response"] == "none"
        own = writer.post(f"/me/events/{seg(created.json()['id'])}/accept", json={})
        assert own.status_code == 400
        silent = writer.post(f"/me/events/{seg(invitation['id'])}/decline",
                             json={"comment": "Away", "sendResponse": False})
        assert silent.status_code == 400  # a comment goes to the organizer: sendResponse must be true
        declined = writer.post(f"/me/events/{seg(invitation['id'])}/decline", json={"sendResponse": False})
        assert declined.status_code == 202
        shown = writer.get(f"/me/events/{seg(invitation['id'])}")
    assert shown.status_code == 404  # a declined meeting leaves the calendar
    assert emu.graph.calendar.created[0]["subject"] == "Pricing"
    assert emu.graph.calendar.responses == [
        {"eventId": invitation["id"], "action": "decline", "comment": None, "sendResponse": False}]
