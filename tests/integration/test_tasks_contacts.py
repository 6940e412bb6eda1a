"""To Do and Outlook contacts through the real process against the emulator (writes confirmed and declined)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from mcp_types import ElicitResult

from tests.graph_fake import accept
from tests.integration.conftest import ServerSetup

pytestmark = pytest.mark.integration


async def test_to_do_lists_tasks_and_writes_confirmed_and_declined(setup: ServerSetup):
    todo = setup.emulator.graph.todo
    default = next(x for x in todo.lists if x["wellknownListName"] == "defaultList")
    answers: list[str] = []
    seen: list = []
    yes = accept(seen)

    async def person(context, params):
        if answers and answers.pop(0) == "no":
            seen.append(params)
            return ElicitResult(action="decline")
        return await yes(context, params)

    env = {"LOCAL_MCP_ALLOW_WRITES": "1", "LOCAL_MCP_TOOLSETS": "tasks"}
    async with setup.client(elicitation_callback=person, **env) as client:
        lists = await client.call_tool("list_task_lists", {})
        assert not lists.is_error, lists.content
        assert [(x["name"], x["is_default"]) for x in lists.structured_content["lists"]] == [("Tasks", True), ("Groceries", False)]

        open_tasks = await client.call_tool("list_tasks", {})
        assert not open_tasks.is_error, open_tasks.content
        titles = [t["title"] for t in open_tasks.structured_content["tasks"]]
        assert titles == ["Send the Q3 budget to Lee", "Book the team offsite venue", "Renew the parking permit"]

        in_five_days = (datetime.now(timezone.utc) + timedelta(days=5)).strftime("%Y-%m-%d")  # seeded: due in 2 and 9 days
        due_soon = await client.call_tool("list_tasks", {"due_before": in_five_days})
        assert not due_soon.is_error, due_soon.content
        assert [t["title"] for t in due_soon.structured_content["tasks"]] == ["Send the Q3 budget to Lee"]
        done = await client.call_tool("list_tasks", {"status": "completed"})
        assert [t["title"] for t in done.structured_content["tasks"]] == ["File the travel expenses"]

        answers.append("no")
        refused = await client.call_tool("create_task", {"title": "Call Nick", "due": "2026-12-24"})
        assert refused.is_error and "did not confirm" in refused.content[0].text
        assert todo.changes == []

        created = await client.call_tool("create_task", {"title": "Call Nick", "due": "2026-12-24", "importance": "high"})
        assert not created.is_error, created.content
        task = created.structured_content["task"]
        assert (task["title"], task["due"], task["importance"], task["list_id"]) == ("Call Nick", "2026-12-24", "high", default["id"])

        completed = await client.call_tool("update_task", {"list_id": task["list_id"], "task_id": task["id"], "completed": True})
        assert not completed.is_error, completed.content
        assert completed.structured_content["task"]["status"] == "completed"
        assert completed.structured_content["task"]["completed"] is not None
    assert [c["action"] for c in todo.changes] == ["create", "update"]
    assert todo.changes[1]["payload"] == {"status": "completed"}
    assert len(seen) == 3 and seen[2].message.startswith('Complete the To Do task "Call Nick"')


async def test_contacts_searched_by_name_and_address_and_read(setup: ServerSetup):
    async with setup.client(LOCAL_MCP_TOOLSETS="contacts") as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        assert {"search_contacts", "get_contact"} <= tools and "search_people" not in tools
        by_name = await client.call_tool("search_contacts", {"query": "fabrikam"})
        assert not by_name.is_error, by_name.content
        assert [c["name"] for c in by_name.structured_content["contacts"]] == ["Nick Fabrikam"]
        by_address = await client.call_tool("search_contacts", {"query": "SARA.DAVIS@adatum.example"})
        assert [c["company"] for c in by_address.structured_content["contacts"]] == ["Adatum"]
        one = await client.call_tool("get_contact", {"contact_id": by_name.structured_content["contacts"][0]["id"]})
        assert not one.is_error, one.content
        assert one.structured_content["business_address"] == "1 Main Street, 98052 Redmond, WA, United States"
        assert one.structured_content["notes"] == "Met at the partner summit."
        missing = await client.call_tool("get_contact", {"contact_id": "AAMkAGEmuNoSuchContactAAA="})
        assert missing.is_error and "search_contacts" in missing.content[0].text
