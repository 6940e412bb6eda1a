"""To Do tools (list_task_lists, list_tasks, create_task, update_task) on the fake Graph."""

from __future__ import annotations

import pytest
from mcp import Client
from mcp_types import ElicitResult

from local_mcp.server import create_server
from local_mcp.tools._common import DECLARED
from tests.fakes import FakeApp
from tests.graph_fake import accept, body_of, page, query, text_of, tool_server

LISTS = [
    {"id": "L1", "displayName": "Tasks", "wellknownListName": "defaultList", "isOwner": True, "isShared": False},
    {"id": "L/2", "displayName": "Groceries", "wellknownListName": "none", "isOwner": True, "isShared": True},
]
TASK = {"id": "T1", "title": "Send the budget", "status": "notStarted", "importance": "high",
        "dueDateTime": {"dateTime": "2026-12-04T00:00:00.0000000", "timeZone": "UTC"},
        "body": {"content": "Numbers from the deck", "contentType": "text"}, "categories": [],
        "createdDateTime": "2026-11-20T08:00:00Z"}


@pytest.fixture
def app() -> FakeApp:
    return FakeApp()


@pytest.fixture
def client_for(make_provider, graph, app):
    return lambda s, **kw: Client(tool_server(make_provider, s, graph, app), **kw)


def test_scopes_and_write_flags(settings):
    create_server(settings)
    assert DECLARED["list_task_lists"].scopes == ("Tasks.Read",) and DECLARED["list_tasks"].scopes == ("Tasks.Read",)
    assert DECLARED["create_task"].scopes == ("Tasks.ReadWrite",) and DECLARED["update_task"].write
    assert {DECLARED[n].area for n in ("list_task_lists", "list_tasks", "create_task", "update_task")} == {"tasks"}


async def test_writes_are_listed_only_with_writes_allowed(client_for, settings):
    async with client_for(settings) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert {"list_task_lists", "list_tasks"} <= names and not names & {"create_task", "update_task"}


async def test_list_task_lists_marks_the_default(client_for, graph, settings):
    graph.answer("GET", "/me/todo/lists", page(LISTS, "/me/todo/lists?$skip=2"))
    async with client_for(settings) as client:
        result = await client.call_tool("list_task_lists", {"limit": 2})
    assert not result.is_error, text_of(result)
    lists = result.structured_content["lists"]
    assert [(x["name"], x["is_default"], x["is_shared"]) for x in lists] == [("Tasks", True, False), ("Groceries", False, True)]
    assert result.structured_content["page"]["has_more"] is True
    assert query(graph.only("GET", "/me/todo/lists"))["$top"] == "2"


async def test_list_tasks_defaults_to_open_tasks_of_the_default_list(client_for, graph, settings):
    graph.answer("GET", "/me/todo/lists", page(LISTS))
    graph.answer("GET", "/me/todo/lists/L1/tasks", page([TASK]))
    async with client_for(settings) as client:
        result = await client.call_tool("list_tasks", {})
    assert not result.is_error, text_of(result)
    sent = query(graph.only("GET", "/me/todo/lists/L1/tasks"))
    assert sent["$filter"] == "status ne 'completed'" and "$orderby" not in sent
    task = result.structured_content["tasks"][0]
    assert (task["list_id"], task["due"], task["importance"], task["notes"]) == ("L1", "2026-12-04", "high", "Numbers from the deck")


async def test_list_tasks_completed_and_due_before_in_a_named_list(client_for, graph, settings):
    graph.answer("GET", "/me/todo/lists/L%2F2/tasks", page([]))
    async with client_for(settings) as client:
        result = await client.call_tool("list_tasks", {"list_id": "L/2", "status": "completed", "due_before": "2026-12-10"})
    assert not result.is_error, text_of(result)
    sent = query(graph.only("GET", "/me/todo/lists/L%2F2/tasks"))
    assert sent["$filter"] == "status eq 'completed' and dueDateTime/dateTime lt '2026-12-10T00:00:00'"
    assert graph.sent("GET", "/me/todo/lists") == []  # a named list needs no lookup


async def test_a_bad_due_date_is_refused_before_any_call(client_for, graph, settings):
    async with client_for(settings) as client:
        result = await client.call_tool("list_tasks", {"due_before": "next friday"})
    assert result.is_error and "2026-12-24" in text_of(result) and graph.requests == []


async def test_create_task_is_confirmed_then_posted(client_for, graph, settings):
    writes = settings.with_changes(allow_writes=True)
    graph.answer("GET", "/me/todo/lists", page(LISTS))
    graph.answer("POST", "/me/todo/lists/L1/tasks", {**TASK, "title": "Call Nick"}, status=201)
    seen: list = []
    async with client_for(writes, elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("create_task", {"title": "Call Nick", "due": "2026-12-04", "importance": "high"})
    assert not result.is_error, text_of(result)
    assert len(seen) == 1 and 'Create the To Do task "Call Nick"' in seen[0].message and "2026-12-04" in seen[0].message
    assert body_of(graph.only("POST", "/me/todo/lists/L1/tasks")) == {
        "title": "Call Nick", "dueDateTime": {"dateTime": "2026-12-04T00:00:00", "timeZone": "UTC"}, "importance": "high"}
    assert result.structured_content["task"]["list_id"] == "L1"


async def test_create_task_declined_posts_nothing(client_for, graph, settings):
    graph.answer("GET", "/me/todo/lists", page(LISTS))

    async def decline(context, params):
        return ElicitResult(action="decline")

    async with client_for(settings.with_changes(allow_writes=True), elicitation_callback=decline) as client:
        result = await client.call_tool("create_task", {"title": "Call Nick"})
    assert result.is_error and "did not confirm" in text_of(result)
    assert graph.sent("POST") == []


async def test_update_task_completes_and_clears_the_due_date(client_for, graph, settings):
    path = "/me/todo/lists/L1/tasks/T1"
    graph.answer("GET", path, TASK)
    graph.answer("PATCH", path, {**TASK, "status": "completed", "dueDateTime": None,
                                 "completedDateTime": {"dateTime": "2026-12-02T00:00:00.0000000", "timeZone": "UTC"}})
    seen: list = []
    async with client_for(settings.with_changes(allow_writes=True), elicitation_callback=accept(seen)) as client:
        result = await client.call_tool("update_task", {"list_id": "L1", "task_id": "T1", "completed": True, "clear_due": True})
    assert not result.is_error, text_of(result)
    assert body_of(graph.only("PATCH", path)) == {"dueDateTime": None, "status": "completed"}
    assert 'Change the To Do task "Send the budget"' in seen[0].message
    task = result.structured_content["task"]
    assert (task["status"], task["completed"], task["due"]) == ("completed", "2026-12-02", None)


async def test_update_task_needs_a_change(client_for, graph, settings):
    async with client_for(settings.with_changes(allow_writes=True)) as client:
        result = await client.call_tool("update_task", {"list_id": "L1", "task_id": "T1"})
    assert result.is_error and "Nothing to change" in text_of(result) and graph.requests == []
