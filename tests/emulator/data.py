"""Seeded mailbox, calendar and OneDrive content, shaped like Graph v1.0 JSON.

Everything is deterministic except timestamps, which are relative to the
moment the emulator starts, so "today's meetings" and "recent mail" are
always meaningful. All people and addresses are fictitious.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote

from .model import EmulatorUser

Json = dict[str, Any]

# (display name, mailbox local part)
PEOPLE = [
    ("Megan Bowen", "megan"), ("Alex Wilber", "alex"), ("Lee Gu", "lee"),
    ("Nestor Wilke", "nestor"), ("Pradeep Gupta", "pradeep"), ("Lynne Robbins", "lynne"),
    ("Diego Siciliani", "diego"), ("Isaiah Langer", "isaiah"), ("Joni Sherman", "joni"),
    ("Miriam Graham", "miriam"), ("Grady Archie", "grady"), ("Johanna Lorenz", "johanna"),
    ("IT Service Desk", "servicedesk"), ("Contoso HR", "hr"),
]

MAIL_FOLDERS = [  # (id, displayName); Graph also accepts the well-known names as ids
    ("inbox", "Inbox"), ("sentitems", "Sent Items"), ("drafts", "Drafts"),
    ("deleteditems", "Deleted Items"), ("archive", "Archive"),
]

# (sender index or None for "sent by the user", recipient index, subject, preview,
#  has attachments, is read, folder, importance). Newest first.
_MESSAGES = [
    (0, None, "Q3 planning: agenda for Thursday", "Hi all, attaching the draft agenda for Thursday's planning "
     "session. Please add your topics to the doc by Wednesday noon so we can timebox them.",
     True, False, "inbox", "high"),
    (1, None, "Re: Falcon launch checklist", "Thanks Adele, I've updated rows 12-18 with the new owners. Legal "
     "sign-off is still pending; I'll chase it tomorrow morning.", False, False, "inbox", "normal"),
    (12, None, "Scheduled maintenance this Saturday", "The VPN and the expense system will be unavailable on "
     "Saturday between 06:00 and 10:00 UTC while we apply security updates.", False, True, "inbox", "normal"),
    (2, None, "Expense report approval needed", "Could you approve my expense report for the Seattle customer "
     "visit? Total is 412.60 USD, receipts are attached in the tool.", False, False, "inbox", "normal"),
    (None, 0, "Re: Q3 planning: agenda for Thursday", "Added two topics: hiring plan and the Falcon pricing "
     "decision. Happy to present the second one.", False, True, "sentitems", "normal"),
    (3, None, "Lunch & learn: intro to Python typing", "Join us Tuesday at 13:00 in the cafeteria for a "
     "45-minute session on type hints, mypy and dataclasses. Pizza provided.", False, True, "inbox", "low"),
    (4, None, "Customer escalation: Fabrikam order #48213", "Fabrikam reports that order #48213 shipped with "
     "the wrong firmware. They need a fix plan by Friday; can we sync today?", False, False, "inbox", "high"),
    (5, None, "Updated travel policy", "Please review the updated travel policy. Main changes: economy class "
     "for flights under six hours and a new per-diem table.", True, True, "inbox", "normal"),
    (6, None, "Budget variance for August", "August came in 3.2% over budget, mostly contractor spend on Falcon. "
     "Details and a forecast for September are in the attached workbook.", True, True, "inbox", "normal"),
    (7, None, "Can we move our 1:1?", "Something came up on Thursday afternoon. Would Friday 10:00 work for "
     "you instead?", False, False, "inbox", "normal"),
    (8, None, "Welcome our new team members", "Please welcome Sara and Tomasz, who join the platform team "
     "this week. Say hi if you see them around!", False, True, "inbox", "normal"),
    (9, None, "Brand guidelines v2 (final)", "Attached is the final version of the brand guidelines. Please "
     "use the new templates for all external decks from next week.", True, True, "inbox", "normal"),
    (10, None, "Sprint 42 retrospective notes", "Notes from the retro: what went well, what didn't, and "
     "three action items with owners. Shout if I missed anything.", False, True, "inbox", "normal"),
    (11, None, "Contract renewal: Northwind Traders", "Northwind's contract renews on the 30th. They asked "
     "for a 5% discount in exchange for a two-year term. Thoughts?", False, True, "inbox", "normal"),
    (None, 2, "Expense report submitted", "I approved your expense report; finance should reimburse it in the "
     "next payment run.", False, True, "sentitems", "normal"),
    (13, None, "Benefits enrollment closes Friday", "Reminder: open enrollment for benefits closes this Friday "
     "at 17:00. Review your selections in the HR portal.", False, True, "inbox", "normal"),
    (1, None, "Design review feedback", "Overall the new onboarding flow looks great. Two concerns: the "
     "permissions screen is dense, and error states need copy.", False, True, "inbox", "normal"),
    (2, None, "Quarterly security training reminder", "Your quarterly security training is due by the end of "
     "the month. It takes about 20 minutes.", False, True, "inbox", "normal"),
    (4, None, "Re: Customer escalation: Fabrikam order #48213", "Engineering confirmed a firmware patch can "
     "ship Thursday. I'll update the customer once QA signs off.", False, True, "inbox", "normal"),
    (6, None, "Offsite venue options", "Three venue options for the offsite, with prices and capacity. My "
     "vote is the lakeside one; it has the best breakout rooms.", True, True, "inbox", "normal"),
    (3, None, "Build pipeline is green again", "The flaky integration test is fixed and main is green. "
     "Thanks everyone for your patience.", False, True, "inbox", "low"),
    (8, None, "Team photo from the offsite", "Here's the team photo from last week. Feel free to use it on "
     "the intranet page.", True, True, "inbox", "low"),
    (7, None, "Draft: press release for Falcon", "Draft press release attached for review. Comments by "
     "Monday please; marketing wants to lock it Tuesday.", True, False, "inbox", "normal"),
    (0, None, "Headcount request approved", "Good news: the headcount request for two engineers was "
     "approved. Let's start the job descriptions this week.", False, False, "inbox", "normal"),
    (9, None, "Archived: 2023 brand refresh", "Wrap-up of the 2023 brand refresh project, including final "
     "assets and lessons learned.", False, True, "archive", "normal"),
]

# (day offset from today, start hour, minute, duration minutes, subject, organizer index or None,
#  attendee indexes, location, online meeting). A duration of 0 means an all-day event.
_EVENTS = [
    (-7, 10, 0, 60, "Budget review", 6, [0, 6], "Conf Room Baker", False),
    (-2, 15, 0, 45, "Sprint 42 retrospective", 10, [1, 3, 10], "Conf Room Rainier", True),
    (-1, 9, 0, 15, "Daily standup", None, [1, 3, 10], "", True),
    (-1, 12, 0, 60, "Lunch with Joni", 8, [8], "Cafe Lumiere", False),
    (0, 9, 0, 15, "Daily standup", None, [1, 3, 10], "", True),
    (0, 14, 0, 60, "Design review: Project Falcon", None, [0, 1], "Conf Room Rainier", True),
    (0, 16, 30, 30, "1:1 with Isaiah", 7, [7], "", True),
    (1, 9, 0, 15, "Daily standup", None, [1, 3, 10], "", True),
    (1, 11, 0, 60, "Customer call: Fabrikam", 4, [4, 2], "", True),
    (1, 13, 0, 45, "Lunch & learn: intro to Python typing", 3, [3], "Cafeteria", False),
    (2, 10, 0, 120, "Q3 planning session", 0, [0, 1, 6, 9], "Conf Room Baker", True),
    (3, 0, 0, 0, "Company offsite", 13, [0, 1, 2, 3], "Lakeside Lodge", False),
    (7, 9, 30, 60, "Quarterly security training", 12, [], "", True),
    (10, 14, 0, 30, "Contract renewal: Northwind Traders", 11, [11, 4], "", True),
]

# Drive tree: folders are (name, [children]); files are (name, size in bytes).
_DRIVE: list[Any] = [
    ("Documents", [
        ("Onboarding checklist.docx", 48_213),
        ("Travel policy.pdf", 182_337),
        ("Policies", [("Code of conduct.pdf", 301_554), ("Security baseline.docx", 66_020)]),
    ]),
    ("Projects", [
        ("Falcon", [("Falcon spec.docx", 120_448), ("Launch timeline.xlsx", 35_872)]),
        ("Budget 2025.xlsx", 88_901),
    ]),
    ("Quarterly Report Q3.docx", 254_970),
    ("Team photo.jpg", 2_483_201),
    ("Notes.txt", 1_204),
]

_MIME = {
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pdf": "application/pdf", ".jpg": "image/jpeg", ".txt": "text/plain",
}


def iso(moment: datetime) -> str:
    """Graph's timestamp format for most properties: UTC, seconds, trailing Z."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def graph_datetime(moment: datetime) -> str:
    """Graph's dateTimeTimeZone.dateTime format: 7 fractional digits, no offset."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.0000000")


def _outlook_id(kind: str, key: object) -> str:
    # Outlook ids are long opaque base64 strings; keep them URL-path-safe.
    raw = hashlib.sha256(f"{kind}:{key}".encode()).digest()[:30]
    return "AAMkAGEmu" + base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=") + "AAA="


def _person(index: int, domain: str) -> Json:
    name, local = PEOPLE[index]
    return {"emailAddress": {"name": name, "address": f"{local}@{domain}"}}


def _me(user: EmulatorUser) -> Json:
    return {"emailAddress": {"name": user.name, "address": user.email}}


def seed_messages(user: EmulatorUser, now: datetime) -> list[Json]:
    messages = []
    for n, (sender, recipient, subject, preview, attachments, is_read, folder, importance) in enumerate(_MESSAGES):
        received = now - timedelta(hours=3 * n + 1, minutes=(17 * n) % 60)
        msg_id = _outlook_id("message", n)
        author = _me(user) if sender is None else _person(sender, user.domain)
        to = [_person(recipient, user.domain)] if recipient is not None else [_me(user)]
        messages.append({
            "@odata.etag": f'W/"CQAAABYAAADEmu{n:04d}"',
            "id": msg_id,
            "createdDateTime": iso(received),
            "lastModifiedDateTime": iso(received),
            "receivedDateTime": iso(received),
            "sentDateTime": iso(received - timedelta(seconds=40)),
            "hasAttachments": attachments,
            "internetMessageId": f"<emu{n:04d}@{user.domain}>",
            "subject": subject,
            "bodyPreview": preview,
            "importance": importance,
            "parentFolderId": folder,
            "conversationId": _outlook_id("conversation", subject.removeprefix("Re: ")),
            "isRead": is_read,
            "isDraft": False,
            "webLink": f"https://outlook.office365.com/owa/?ItemID={quote(msg_id, safe='')}"
                       "&exvsurl=1&viewmodel=ReadMessageItem",
            "body": {
                "contentType": "html",
                "content": ('<html><head><meta http-equiv="Content-Type" content="text/html; charset=utf-8">'
                            f"</head><body><p>{preview}</p><p>{author['emailAddress']['name'].split()[0]}</p>"
                            "</body></html>"),
            },
            "sender": author,
            "from": author,
            "toRecipients": to,
            "ccRecipients": [],
            "bccRecipients": [],
            "replyTo": [],
            "flag": {"flagStatus": "notFlagged"},
        })
    return messages


def seed_folders(messages: list[Json]) -> list[Json]:
    folders = []
    for folder_id, name in MAIL_FOLDERS:
        contained = [m for m in messages if m["parentFolderId"] == folder_id]
        folders.append({
            "id": folder_id,
            "displayName": name,
            "parentFolderId": "msgfolderroot",
            "childFolderCount": 0,
            "unreadItemCount": sum(1 for m in contained if not m["isRead"]),
            "totalItemCount": len(contained),
            "isHidden": False,
        })
    return folders


def seed_events(user: EmulatorUser, now: datetime) -> list[Json]:
    today = now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    events = []
    for n, (day, hour, minute, duration, subject, organizer, attendees, location, online) in enumerate(_EVENTS):
        all_day = duration == 0
        start = today + timedelta(days=day, hours=hour, minutes=minute)
        end = start + (timedelta(days=1) if all_day else timedelta(minutes=duration))
        event_id = _outlook_id("event", n)
        organizer_json = _me(user) if organizer is None else _person(organizer, user.domain)
        events.append({
            "@odata.etag": f'W/"DwAAABYAAADEmu{n:04d}"',
            "id": event_id,
            "subject": subject,
            "bodyPreview": f"{subject}. Agenda to follow.",
            "body": {"contentType": "html",
                     "content": f"<html><body><p>{subject}. Agenda to follow.</p></body></html>"},
            "importance": "normal",
            "sensitivity": "normal",
            "isAllDay": all_day,
            "isCancelled": False,
            "isOrganizer": organizer is None,
            "showAs": "free" if all_day else "busy",
            "type": "singleInstance",
            "start": {"dateTime": graph_datetime(start), "timeZone": "UTC"},
            "end": {"dateTime": graph_datetime(end), "timeZone": "UTC"},
            "location": {"displayName": location, "locationType": "default"},
            "locations": [{"displayName": location}] if location else [],
            "organizer": organizer_json,
            "attendees": [
                {"type": "required", "status": {"response": "accepted", "time": iso(start - timedelta(days=2))},
                 **_person(i, user.domain)}
                for i in attendees
            ],
            "isOnlineMeeting": online,
            "onlineMeetingProvider": "teamsForBusiness" if online else "unknown",
            "onlineMeeting": ({"joinUrl": f"https://teams.microsoft.com/l/meetup-join/emu-{n:04d}"}
                              if online else None),
            "webLink": (f"https://outlook.office365.com/owa/?itemid={quote(event_id, safe='')}"
                        "&exvsurl=1&path=/calendar/item"),
        })
    return events


def _drive_id(path: str) -> str:
    # OneDrive for Business item ids: 34 upper-case base32 characters starting "01".
    return "01EMU" + base64.b32encode(hashlib.sha1(path.encode()).digest()).decode("ascii")[:29]


def seed_drive(user: EmulatorUser, now: datetime) -> list[Json]:
    """A flat list of driveItems; the root is first, children point at parents."""
    tenant_label = user.domain.split(".", 1)[0]
    personal = user.email.replace("@", "_").replace(".", "_")
    web_root = f"https://{tenant_label}-my.sharepoint.com/personal/{personal}/Documents"
    drive_id = "b!Emu" + _drive_id("drive")[5:]
    who = {"user": {"displayName": user.name, "id": user.oid}}  # microsoft.graph.identity: no email
    root: Json = {
        "id": _drive_id("/"), "name": "root", "size": 0, "webUrl": web_root,
        "createdDateTime": iso(now - timedelta(days=400)), "lastModifiedDateTime": iso(now - timedelta(days=1)),
        "root": {}, "folder": {"childCount": len(_DRIVE)},
        "parentReference": {"driveId": drive_id, "driveType": "business"},
    }
    items: list[Json] = [root]
    counter = 0

    def add(children: list[Any], parent: Json, parent_path: str) -> int:
        nonlocal counter
        total = 0
        for child in children:
            counter += 1
            name = child[0]
            path = f"{parent_path}/{name}"
            modified = now - timedelta(days=counter * 3, hours=counter)
            item: Json = {
                "id": _drive_id(path), "name": name,
                "createdDateTime": iso(modified - timedelta(days=30)),
                "lastModifiedDateTime": iso(modified),
                "webUrl": web_root + quote(path),
                "createdBy": who, "lastModifiedBy": who,
                "parentReference": {"driveId": drive_id, "driveType": "business", "id": parent["id"],
                                    "path": "/drive/root:" + parent_path},
            }
            items.append(item)
            if isinstance(child[1], list):
                item["folder"] = {"childCount": len(child[1])}
                item["size"] = add(child[1], item, path)
            else:
                suffix = name[name.rfind("."):].lower()
                item["file"] = {"mimeType": _MIME.get(suffix, "application/octet-stream")}
                item["size"] = child[1]
            total += item["size"]
        return total

    root["size"] = add(_DRIVE, root, "")
    return items


# ---- To Do and Outlook contacts (graph_todo.py, graph_contacts.py) --------------------------------

# (displayName, wellknownListName): To Do's own list is "Tasks", wellknownListName "defaultList".
TODO_LISTS = [("Tasks", "defaultList"), ("Groceries", "none")]
# (list index, title, status, importance, due in days from today or None, notes)
_TODO_TASKS = [
    (0, "Send the Q3 budget to Lee", "notStarted", "high", 2, "Numbers from the finance deck."),
    (0, "Book the team offsite venue", "inProgress", "normal", 9, ""),
    (0, "Renew the parking permit", "notStarted", "low", None, ""),
    (0, "File the travel expenses", "completed", "normal", -3, ""),
    (1, "Coffee beans", "notStarted", "normal", None, ""),
]


def _todo_day(moment: datetime) -> Json:
    # To Do keeps dates: the time part comes back as midnight (docs-contrib issue #2136).
    return {"dateTime": moment.strftime("%Y-%m-%dT00:00:00.0000000"), "timeZone": "UTC"}


def seed_todo(now: datetime) -> tuple[list[Json], dict[str, list[Json]]]:
    """To Do task lists and their tasks, with msgraph-sdk's todoTaskList / todoTask property names."""
    lists = [{"id": _outlook_id("todolist", name), "displayName": name, "isOwner": True, "isShared": False,
              "wellknownListName": known} for name, known in TODO_LISTS]
    tasks: dict[str, list[Json]] = {item["id"]: [] for item in lists}
    for n, (index, title, status, importance, due, notes) in enumerate(_TODO_TASKS):
        created = now - timedelta(days=20 - n)
        task: Json = {"@odata.etag": f'W/"emu-todo-{n}"', "id": _outlook_id("todotask", title), "title": title,
                      "status": status, "importance": importance, "isReminderOn": False, "hasAttachments": False,
                      "categories": [], "body": {"content": notes, "contentType": "text"},
                      "createdDateTime": iso(created), "lastModifiedDateTime": iso(created)}
        if due is not None:
            task["dueDateTime"] = _todo_day(now + timedelta(days=due))
        if status == "completed":
            task["completedDateTime"] = _todo_day(now - timedelta(days=1))
        tasks[lists[index]["id"]].append(task)
    return lists, tasks


# (givenName, surname, email, company, job title, mobile phone): the user's own Outlook contacts.
_CONTACTS = [
    ("Nick", "Fabrikam", "nick@fabrikam.example", "Fabrikam", "Buyer", "+1 206 555 0140"),
    ("Sara", "Davis", "sara.davis@adatum.example", "Adatum", "Account Executive", None),
    ("Grady", "Archie", "grady@contoso.example", "Contoso", "Designer", None),
]


def seed_contacts(now: datetime) -> list[Json]:
    """Outlook contacts with msgraph-sdk's contact property names."""
    contacts = []
    for n, (given, surname, email, company, title, mobile) in enumerate(_CONTACTS):
        contacts.append({
            "id": _outlook_id("contact", email), "displayName": f"{given} {surname}", "givenName": given,
            "surname": surname, "emailAddresses": [{"name": f"{given} {surname}", "address": email}],
            "companyName": company, "jobTitle": title, "mobilePhone": mobile, "businessPhones": [],
            "homePhones": [], "imAddresses": [], "categories": [], "parentFolderId": _outlook_id("contacts", "default"),
            "businessAddress": {"street": f"{n + 1} Main Street", "city": "Redmond", "state": "WA",
                                "postalCode": "98052", "countryOrRegion": "United States"},
            "homeAddress": {}, "birthday": None, "personalNotes": "Met at the partner summit." if n == 0 else "",
            "createdDateTime": iso(now - timedelta(days=90 + n)), "lastModifiedDateTime": iso(now - timedelta(days=n)),
        })
    return contacts
