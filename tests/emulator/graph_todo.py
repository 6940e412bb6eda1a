"""Microsoft To Do for the emulator: task lists and tasks, read, create and update.

Each rule follows its Microsoft page (microsoft-graph-docs-contrib, api-reference/v1.0/api/):
- todo-list-lists.md: GET /me/todo/lists, a todoTaskList collection (Tasks.Read or Tasks.ReadWrite).
- todotasklist-list-tasks.md: GET /me/todo/lists/{id}/tasks, a todoTask collection; "supports some of
  the OData query parameters" (no list): property names are checked against the model, and the
  $filter clauses the tools send (status, dueDateTime/dateTime) are evaluated.
- todotask-get.md: GET /me/todo/lists/{id}/tasks/{id}.
- todotasklist-post-tasks.md: POST .../tasks, 201 with the todoTask (Tasks.ReadWrite).
- todotask-update.md: PATCH .../tasks/{id}, 200 with the todoTask (Tasks.ReadWrite).
- resources/todotask.md: status is one of notStarted, inProgress, completed, waitingOnOthers,
  deferred; importance low, normal, high; dueDateTime a dateTimeTimeZone. To Do keeps a due *date*:
  whatever time is sent comes back as midnight (microsoft-graph-docs-contrib issue #2136).
An unknown list or task is 404 ErrorItemNotFound, Exchange's answer for an id not in the store.
Property names are msgraph-sdk's (msgraph.generated.models.todo_task.TodoTask, todo_task_list).
"""

from __future__ import annotations

import secrets
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from . import contract, data
from .graph import Call, GraphError, Route, _route
from .graph_mail_organise import _payload
from .web import Response

if TYPE_CHECKING:
    from .graph import GraphApi

Json = dict[str, Any]

TASKS_READ = ("Tasks.Read", "Tasks.ReadWrite")
TASKS_WRITE = ("Tasks.ReadWrite",)
STATUSES = ("notStarted", "inProgress", "completed", "waitingOnOthers", "deferred")  # taskStatus
IMPORTANCE = ("low", "normal", "high")
READ_ONLY = frozenset({"id", "createdDateTime", "lastModifiedDateTime", "bodyLastModifiedDateTime", "hasAttachments"})


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _midnight(value: Any) -> Json:
    if not isinstance(value, dict) or not value.get("dateTime") or not value.get("timeZone"):
        raise GraphError(400, "invalidRequest", "dueDateTime must be a dateTimeTimeZone with dateTime and timeZone.")
    day = str(value["dateTime"])[:10]
    try:
        datetime.strptime(day, "%Y-%m-%d")
    except ValueError:
        raise GraphError(400, "invalidRequest", f"Cannot convert the literal '{value['dateTime']}' to a DateTime.") from None
    return {"dateTime": f"{day}T00:00:00.0000000", "timeZone": str(value["timeZone"])}


class TodoApi:
    def __init__(self, api: GraphApi) -> None:
        self.api = api
        self.lists, self.tasks = data.seed_todo(datetime.now(timezone.utc))
        self.changes: list[Json] = []  # {"action": "create"|"update", "listId", "taskId", "payload"}

    def routes(self) -> list[Route]:
        return [
            _route("GET", "/me/todo/lists", TASKS_READ, self.list_lists),
            _route("GET", "/me/todo/lists/{list}/tasks", TASKS_READ, self.list_tasks),
            _route("POST", "/me/todo/lists/{list}/tasks", TASKS_WRITE, self.create_task),
            _route("GET", "/me/todo/lists/{list}/tasks/{id}", TASKS_READ, self.get_task),
            _route("PATCH", "/me/todo/lists/{list}/tasks/{id}", TASKS_WRITE, self.update_task),
        ]

    def _context(self, tail: str) -> str:
        return f"users('{self.api.emu.user.oid}')/todo/lists{tail}"

    def _list(self, call: Call) -> list[Json]:
        if call.params["list"] not in self.tasks:
            raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        return self.tasks[call.params["list"]]

    def _task(self, call: Call) -> Json:
        for task in self._list(call):
            if task["id"] == call.params["id"]:
                return task
        raise GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")

    def _fields(self, payload: Json) -> Json:
        known = contract.properties("todoTask")
        for name in payload:
            if not name.startswith("@") and name not in known:
                raise contract.unknown_property(name, "todoTask")
            if name in READ_ONLY:
                raise GraphError(400, "invalidRequest", f"The property '{name}' is read-only and cannot be set.")
        if "status" in payload and payload["status"] not in STATUSES:
            raise GraphError(400, "invalidRequest", f"Requested value '{payload['status']}' was not found (taskStatus).")
        if "importance" in payload and payload["importance"] not in IMPORTANCE:
            raise GraphError(400, "invalidRequest", f"Requested value '{payload['importance']}' was not found (importance).")
        fields = dict(payload)
        if fields.get("dueDateTime") is not None:
            fields["dueDateTime"] = _midnight(fields["dueDateTime"])
        return fields

    def _typed(self, task: Json, call: Call, status: int = 200) -> Response:
        context = self.api._context(self._context(f"('{call.params['list']}')/tasks/$entity"))
        return self.api.typed("todoTask", {"@odata.context": context, **task}, status)

    # ---- handlers ------------------------------------------------------------------------

    def list_lists(self, call: Call) -> Response:
        return self.api._collection(self.lists, call, "todoTaskList", self._context(""))

    def list_tasks(self, call: Call) -> Response:
        tasks = self._list(call)
        return self.api._collection(tasks, call, "todoTask", self._context(f"('{call.params['list']}')/tasks"))

    def get_task(self, call: Call) -> Response:
        return self.api._entity(self._task(call), call, "todoTask", self._context(f"('{call.params['list']}')/tasks/$entity"))

    def create_task(self, call: Call) -> Response:
        tasks = self._list(call)
        payload = _payload(call)
        fields = self._fields(payload)
        if not str(fields.get("title") or "").strip():
            raise GraphError(400, "invalidRequest", "The task's title is required.")
        now = _now()
        task: Json = {"@odata.etag": f'W/"emu-{secrets.token_hex(4)}"', "id": data._outlook_id("todotask", secrets.token_hex(8)),
                      "status": "notStarted", "importance": "normal", "isReminderOn": False, "hasAttachments": False,
                      "categories": [], "body": {"content": "", "contentType": "text"},
                      "createdDateTime": now, "lastModifiedDateTime": now, **fields}
        if task.get("dueDateTime") is None:
            task.pop("dueDateTime", None)
        tasks.append(task)
        self.changes.append({"action": "create", "listId": call.params["list"], "taskId": task["id"], "payload": payload})
        return self._typed(task, call, 201)

    def update_task(self, call: Call) -> Response:
        task = self._task(call)
        payload = _payload(call)
        fields = self._fields(payload)
        for name, value in fields.items():
            if value is None:
                task.pop(name, None)  # PATCH with null clears the property (e.g. the due date)
            else:
                task[name] = value
        if "status" in fields:  # To Do stamps completion itself; opening the task again clears it
            if fields["status"] == "completed":
                task["completedDateTime"] = _midnight({"dateTime": _now(), "timeZone": "UTC"})
            else:
                task.pop("completedDateTime", None)
        task["lastModifiedDateTime"] = _now()
        self.changes.append({"action": "update", "listId": call.params["list"], "taskId": task["id"], "payload": payload})
        return self._typed(task, call)
