"""The emulator's To Do and Outlook contacts rules (tests/emulator/README.md), straight over HTTP."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.emulator import Emulator
from tests.test_emulator_contract import client, error

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:  # leaving `with` parses every answer with msgraph-sdk's models
        yield emulator


def test_to_do_scopes_values_and_due_dates(emu: Emulator) -> None:
    default = emu.graph.todo.lists[0]["id"]
    with client(emu, "Mail.Read") as graph:
        assert graph.get("/me/todo/lists").status_code == 403
    with client(emu, "Tasks.Read") as graph:
        assert graph.post(f"/me/todo/lists/{default}/tasks", json={"title": "x"}).status_code == 403
        open_ = graph.get(f"/me/todo/lists/{default}/tasks", params={"$filter": "status ne 'completed'"}).json()["value"]
        assert open_ and all(t["status"] != "completed" for t in open_)
        assert error(graph.get("/me/todo/lists/nope/tasks"))[:2] == (404, "ErrorItemNotFound")
        assert graph.get(f"/me/todo/lists/{default}/tasks", params={"$select": "title,nonsense"}).status_code == 400
    with client(emu, "Tasks.ReadWrite") as graph:
        tasks = f"/me/todo/lists/{default}/tasks"
        assert graph.post(tasks, json={"title": "x", "status": "done"}).status_code == 400
        assert graph.post(tasks, json={"title": "x", "importance": "urgent"}).status_code == 400
        assert graph.post(tasks, json={"title": "x", "nonsense": 1}).status_code == 400
        assert graph.post(tasks, json={"title": "x", "createdDateTime": "2026-01-01T00:00:00Z"}).status_code == 400
        created = graph.post(tasks, json={"title": "x", "dueDateTime": {"dateTime": "2026-12-24T15:30:00", "timeZone": "UTC"}})
        assert created.status_code == 201
        task = created.json()
        assert task["dueDateTime"] == {"dateTime": "2026-12-24T00:00:00.0000000", "timeZone": "UTC"}  # To Do keeps the date
        done = graph.patch(f"{tasks}/{task['id']}", json={"status": "completed"}).json()
        assert done["status"] == "completed" and done["completedDateTime"]["dateTime"].endswith("T00:00:00.0000000")
        reopened = graph.patch(f"{tasks}/{task['id']}", json={"status": "notStarted", "dueDateTime": None}).json()
        assert "completedDateTime" not in reopened and "dueDateTime" not in reopened


def test_contacts_filter_and_search_rules(emu: Emulator) -> None:
    with client(emu, "Contacts.Read") as graph:
        def get(**params: str):
            return graph.get("/me/contacts", params=params)

        found = get(**{"$filter": "emailAddresses/any(a:a/address eq 'NICK@fabrikam.example')"}).json()["value"]
        assert [c["displayName"] for c in found] == ["Nick Fabrikam"]
        for bad in ("emailAddresses/any(a:a/name eq 'Nick')", "emailAddresses/any(a:a/address ne 'x')",
                    "emailAddresses/any(a:startswith(a/address,'nick'))"):
            assert get(**{"$filter": bad}).status_code == 400, bad
        assert [c["companyName"] for c in get(**{"$search": '"adatum"'}).json()["value"]] == ["Adatum"]
        assert get(**{"$search": "adatum"}).status_code == 400  # one double-quoted string
        for extra in ({"$filter": "emailAddresses/any(a:a/address eq 'x')"}, {"$orderby": "displayName"}, {"$skip": "1"}):
            assert get(**{"$search": '"adatum"', **extra}).status_code == 400, extra
        paged = get(**{"$search": '"example"', "$top": "1"}).json()
        assert len(paged["value"]) == 1 and "search" in paged["@odata.nextLink"]
        assert len(graph.get(paged["@odata.nextLink"]).json()["value"]) == 1  # the next page keeps the search
        assert error(graph.get("/me/contacts/nope"))[:2] == (404, "ErrorItemNotFound")
    with client(emu, "Tasks.Read") as graph:
        assert graph.get("/me/contacts").status_code == 403
