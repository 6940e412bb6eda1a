"""Microsoft To Do tools: task lists, tasks (open or completed, due before a date), create and update.

Graph docs (microsoft-graph-docs-contrib, api-reference/v1.0/):
- todo-list-lists.md: GET /me/todo/lists (Tasks.Read); a list's wellknownListName is
  "defaultList" for the list To Do calls "Tasks", where tasks go when no list is named.
- todotasklist-list-tasks.md: GET /me/todo/lists/{id}/tasks (Tasks.Read); the page says only that it
  "supports some of the OData query parameters". We send the two filters To Do is widely used with,
  `status eq|ne 'completed'` and `dueDateTime/dateTime lt '…'`, joined by a single `and`, and no
  $orderby (none is documented).
- todotasklist-post-tasks.md / todotask-update.md: POST and PATCH (Tasks.ReadWrite); status is one of
  notStarted, inProgress, completed, waitingOnOthers, deferred; importance low, normal, high;
  dueDateTime a dateTimeTimeZone. To Do keeps a due *date*: the time part comes back as midnight.
Writes change the person's data, so they are confirmed first (ConfirmOnce, like mail and calendar).
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import BaseModel, Field

from ._common import (
    CURSOR_FIELD,
    DEFAULT_LIMIT,
    LIMIT_FIELD,
    ConfirmOnce,
    PageInfo,
    clamp_limit,
    fetch_page,
    graph_tool,
    iso_utc,
    path_id,
)
from ._runtime import run_tool, state_of
from .plain_text import body_text

TASKS_READ = ("Tasks.Read",)
TASKS_READ_WRITE = ("Tasks.ReadWrite",)

_LIST_FIELDS = "id,displayName,isOwner,isShared,wellknownListName"
_TASK_FIELDS = "id,title,status,importance,dueDateTime,completedDateTime,createdDateTime,lastModifiedDateTime,body,categories"
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

Importance = Literal["low", "normal", "high"]
CONFIRM_FIELD = Field(description="for clients that cannot ask the user: true only when the user agreed to exactly this")
LIST_ID_FIELD = Field(description="the task list's `id` from list_task_lists; default: your default To Do list (Tasks)")


class TaskList(BaseModel):
    id: str
    name: str
    is_default: bool = Field(description="the list To Do calls Tasks, where new tasks go by default")
    is_shared: bool = False
    is_owner: bool = True


class TaskLists(BaseModel):
    lists: list[TaskList]
    page: PageInfo


class Task(BaseModel):
    id: str
    list_id: str = Field(description="the list the task is in (pass it to update_task)")
    title: str
    status: str = Field(description="notStarted, inProgress, completed, waitingOnOthers or deferred")
    importance: str | None = None
    due: str | None = Field(default=None, description="due date, YYYY-MM-DD (To Do keeps a date, not a time)")
    completed: str | None = Field(default=None, description="when it was completed, YYYY-MM-DD")
    created: str | None = Field(default=None, description="ISO 8601 UTC")
    notes: str | None = Field(default=None, description="the task's body as plain text")
    categories: list[str] = Field(default_factory=list)


class TaskPage(BaseModel):
    list_id: str
    status: str
    due_before: str | None = None
    tasks: list[Task]
    page: PageInfo


class TaskChange(BaseModel):
    task: Task
    message: str


def due_date(value: str | None, *, field: str) -> str | None:
    """A YYYY-MM-DD date from the model (a date-time is cut to its date: To Do keeps dates)."""
    if value is None or not value.strip():
        return None
    text = value.strip()[:10]
    if not _DATE.match(text):
        raise ToolError(f"`{field}` must be a date such as 2026-12-24 (got {value!r}).")
    try:
        date.fromisoformat(text)
    except ValueError:
        raise ToolError(f"`{field}` is not a real date (got {value!r}).") from None
    return text


def _graph_due(day: str) -> dict[str, str]:
    # todotask-update.md: dueDateTime is a dateTimeTimeZone; midnight of the day, as To Do itself stores it.
    return {"dateTime": f"{day}T00:00:00", "timeZone": "UTC"}


def _day(value: Any) -> str | None:
    if not isinstance(value, dict) or not value.get("dateTime"):
        return None
    return str(value["dateTime"])[:10]


def task_of(item: dict[str, Any], list_id: str) -> Task:
    notes, _ = body_text(item.get("body"))
    return Task(
        id=str(item.get("id", "")),
        list_id=list_id,
        title=str(item.get("title") or ""),
        status=str(item.get("status") or "notStarted"),
        importance=item.get("importance"),
        due=_day(item.get("dueDateTime")),
        completed=_day(item.get("completedDateTime")),
        created=iso_utc(item.get("createdDateTime")),
        notes=notes or None,
        categories=[str(c) for c in item.get("categories") or []],
    )


def task_filter(status: str, due_before: str | None) -> str | None:
    """The $filter for list_tasks: the status, and a due date strictly before `due_before`."""
    clauses = {"open": ["status ne 'completed'"], "completed": ["status eq 'completed'"], "all": []}[status]
    if due_before:
        clauses.append(f"dueDateTime/dateTime lt '{due_before}T00:00:00'")
    return " and ".join(clauses) or None


async def default_list_id(graph: Any, scopes: tuple[str, ...] = TASKS_READ) -> str:
    """The id of the list To Do calls Tasks (wellknownListName "defaultList").

    A write asks with Tasks.ReadWrite, which covers reading the lists: no second consent for Tasks.Read.
    """
    body = await graph.get_json("/me/todo/lists", scopes=scopes, params={"$select": _LIST_FIELDS})
    for item in body.get("value") or []:
        if isinstance(item, dict) and item.get("wellknownListName") == "defaultList":
            return str(item.get("id"))
    raise ToolError("Your To Do has no default task list; pass `list_id` (from list_task_lists).")


def _tasks_path(list_id: str) -> str:
    return f"/me/todo/lists/{path_id(list_id, field='list_id')}/tasks"


def register(server: MCPServer[Any], settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="list_task_lists",
        title="List To Do task lists",
        description="List your Microsoft To Do task lists (name, id, which is the default Tasks list, shared or not).",
        area="tasks",
        scopes=TASKS_READ,
    )
    async def list_task_lists(
        ctx: Context,
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
    ) -> TaskLists | InputRequiredResult:
        state = state_of(ctx)

        async def body() -> TaskLists:
            items, page = await fetch_page(
                state.graph, "/me/todo/lists", scopes=TASKS_READ, params={"$select": _LIST_FIELDS},
                cursor=cursor, limit=clamp_limit(limit),
            )
            lists = [
                TaskList(id=str(i.get("id", "")), name=str(i.get("displayName") or ""),
                         is_default=i.get("wellknownListName") == "defaultList",
                         is_shared=bool(i.get("isShared")), is_owner=i.get("isOwner") is not False)
                for i in items
            ]
            return TaskLists(lists=lists, page=page)

        return await run_tool(ctx, body, consent_scopes=TASKS_READ)

    @graph_tool(
        server,
        settings,
        name="list_tasks",
        title="List To Do tasks",
        description=(
            "List the tasks in a Microsoft To Do list (default: your Tasks list): open (default), completed or all, "
            "optionally only those due before a date; each with title, status, importance, due date and notes."
        ),
        area="tasks",
        scopes=TASKS_READ,
    )
    async def list_tasks(
        ctx: Context,
        list_id: Annotated[str | None, LIST_ID_FIELD] = None,
        status: Annotated[Literal["open", "completed", "all"], Field(description="open (not completed; default), completed, or all")] = "open",
        due_before: Annotated[str | None, Field(description="only tasks due before this date, YYYY-MM-DD")] = None,
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
    ) -> TaskPage | InputRequiredResult:
        state = state_of(ctx)
        before = due_date(due_before, field="due_before")

        async def body() -> TaskPage:
            target = list_id.strip() if list_id and list_id.strip() else await default_list_id(state.graph)
            params = {"$select": _TASK_FIELDS}
            if expr := task_filter(status, before):
                params["$filter"] = expr
            items, page = await fetch_page(
                state.graph, _tasks_path(target), scopes=TASKS_READ, params=params, cursor=cursor, limit=clamp_limit(limit),
            )
            tasks = [task_of(i, target) for i in items]
            return TaskPage(list_id=target, status=status, due_before=before, tasks=tasks, page=page)

        return await run_tool(ctx, body, consent_scopes=TASKS_READ)

    @graph_tool(
        server,
        settings,
        name="create_task",
        title="Create a To Do task",
        description=(
            "Create a task in Microsoft To Do (default list: Tasks) with a title and optionally a due date, importance "
            "and notes; the user confirms first."
        ),
        area="tasks",
        scopes=TASKS_READ_WRITE,
        write=True,
        idempotent=False,
    )
    async def create_task(
        ctx: Context,
        title: Annotated[str, Field(min_length=1, description="what is to be done")],
        list_id: Annotated[str | None, LIST_ID_FIELD] = None,
        due: Annotated[str | None, Field(description="due date, YYYY-MM-DD")] = None,
        importance: Annotated[Importance | None, Field(description="low, normal (default) or high")] = None,
        notes: Annotated[str | None, Field(description="details, plain text")] = None,
        confirm: Annotated[bool, CONFIRM_FIELD] = False,
    ) -> TaskChange | InputRequiredResult:
        state = state_of(ctx)
        if not title.strip():
            raise ToolError("`title` must not be empty.")
        day = due_date(due, field="due")
        payload: dict[str, Any] = {"title": title.strip()}
        if day:
            payload["dueDateTime"] = _graph_due(day)
        if importance:
            payload["importance"] = importance
        if notes and notes.strip():
            payload["body"] = {"content": notes, "contentType": "text"}
        gate = ConfirmOnce(ctx, confirmed=confirm)

        async def body() -> TaskChange | InputRequiredResult:
            await state.tokens.get_token(state.settings.graph_resource, TASKS_READ_WRITE)  # sign in before asking
            target = list_id.strip() if list_id and list_id.strip() else await default_list_id(state.graph, TASKS_READ_WRITE)
            details = {"Title": payload["title"], "Due": day or "no due date", "Importance": importance or "normal"}
            asked = await gate.ask(f"Create the To Do task \"{payload['title']}\"", details)
            if asked is not None:
                return asked
            response = await state.graph.request("POST", _tasks_path(target), scopes=TASKS_READ_WRITE, json_body=payload, may_duplicate=True)
            created = task_of(response.body if isinstance(response.body, dict) else {}, target)
            return TaskChange(task=created, message=f"Created the task \"{created.title or payload['title']}\".")

        return await run_tool(ctx, body, consent_scopes=TASKS_READ_WRITE)

    @graph_tool(
        server,
        settings,
        name="update_task",
        title="Change or complete a To Do task",
        description=(
            "Change a Microsoft To Do task: its title, due date (or clear it), importance, or mark it completed or open "
            "again; the user confirms first."
        ),
        area="tasks",
        scopes=TASKS_READ_WRITE,
        write=True,
        destructive=True,  # it overwrites the task's title, due date or status
    )
    async def update_task(
        ctx: Context,
        list_id: Annotated[str, Field(description="the task's `list_id` from list_tasks")],
        task_id: Annotated[str, Field(description="the task's `id` from list_tasks")],
        title: Annotated[str | None, Field(description="a new title")] = None,
        due: Annotated[str | None, Field(description="a new due date, YYYY-MM-DD")] = None,
        clear_due: Annotated[bool, Field(description="true: remove the due date")] = False,
        importance: Annotated[Importance | None, Field(description="low, normal or high")] = None,
        completed: Annotated[bool | None, Field(description="true: mark completed; false: open again (not started)")] = None,
        confirm: Annotated[bool, CONFIRM_FIELD] = False,
    ) -> TaskChange | InputRequiredResult:
        state = state_of(ctx)
        address = f"{_tasks_path(list_id)}/{path_id(task_id, field='task_id')}"
        day = due_date(due, field="due")
        if day and clear_due:
            raise ToolError("Give `due` or `clear_due`, not both.")
        changes: dict[str, Any] = {}
        shown: dict[str, str] = {}
        if title is not None:
            if not title.strip():
                raise ToolError("`title` must not be empty; leave it out to keep the title.")
            changes["title"], shown["Title"] = title.strip(), title.strip()
        if day:
            changes["dueDateTime"], shown["Due"] = _graph_due(day), day
        elif clear_due:
            changes["dueDateTime"], shown["Due"] = None, "no due date"
        if importance:
            changes["importance"], shown["Importance"] = importance, importance
        if completed is not None:
            changes["status"] = "completed" if completed else "notStarted"
            shown["Status"] = "completed" if completed else "open (not started)"
        if not changes:
            raise ToolError("Nothing to change: give `title`, `due`, `clear_due`, `importance` or `completed`.")
        gate = ConfirmOnce(ctx, confirmed=confirm)

        async def body() -> TaskChange | InputRequiredResult:
            current = await state.graph.get_json(address, scopes=TASKS_READ_WRITE, params={"$select": "id,title"})
            name = str(current.get("title") or task_id)
            verb = "Complete" if completed and len(changes) == 1 else "Change"
            asked = await gate.ask(f"{verb} the To Do task \"{name}\"", shown)
            if asked is not None:
                return asked
            response = await state.graph.request("PATCH", address, scopes=TASKS_READ_WRITE, json_body=changes)
            task = task_of(response.body if isinstance(response.body, dict) else {}, list_id.strip())
            return TaskChange(task=task, message=f"{'Completed' if verb == 'Complete' else 'Changed'} the task \"{task.title or name}\".")

        return await run_tool(ctx, body, consent_scopes=TASKS_READ_WRITE)

