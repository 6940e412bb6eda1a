"""Issue 10, "Confirmation belongs to the person": the class, not the example.

Every write tool (everything registered with write=True, and graph_request with a method
other than GET) is called with the model's confirm=true:
- with a client that can ask, the person is asked every time, and a "no" changes nothing;
- with a client that cannot ask, the call is refused unless the user opted in
  (LOCAL_MCP_CONFIRM_WRITES=model).
"Changes nothing" is checked at the HTTP seam: no request but GET reached Graph.
A new write tool fails this module until it is added to WRITE_CALLS.
"""

from __future__ import annotations

import re

import pytest
from mcp import Client
from mcp_types import ElicitResult

from local_mcp.tools._common import DECLARED
from tests.graph_fake import text_of, tool_server

# One Graph object that satisfies every tool's read before it asks (a message, an event, a task list...).
ANYTHING = {
    "id": "x1", "subject": "Quarterly plan", "title": "Quarterly plan", "displayName": "Tasks",
    "from": {"emailAddress": {"address": "lynne@contoso.example", "name": "Lynne"}},
    "toRecipients": [{"emailAddress": {"address": "megan@contoso.example"}}],
    "isDraft": True, "isOrganizer": False, "isCancelled": False, "responseRequested": True,
    "organizer": {"emailAddress": {"address": "lynne@contoso.example", "name": "Lynne"}},
    "start": {"dateTime": "2030-03-02T14:00:00", "timeZone": "UTC"},
    "end": {"dateTime": "2030-03-02T15:00:00", "timeZone": "UTC"},
    "attendees": [{"emailAddress": {"address": "megan@contoso.example"}, "type": "required"}],
    "timeZone": "UTC", "status": "notStarted", "wellknownListName": "defaultList",
    "value": [{"id": "L1", "displayName": "Tasks", "wellknownListName": "defaultList"}],
}


def write_calls(upload: str) -> dict[str, dict]:
    return {
        "send_message": {"to": ["megan@contoso.example"], "subject": "Hi", "body": "Hello"},
        "reply_to_message": {"message_id": "x1", "comment": "Thanks"},
        "create_draft": {"to": ["megan@contoso.example"], "subject": "Hi", "body": "Hello"},
        "send_draft": {"message_id": "x1"},
        "forward_message": {"message_id": "x1", "to": ["alex@fabrikam.example"]},
        "move_message": {"message_id": "x1", "destination": "deleteditems"},
        "delete_message": {"message_id": "x1"},
        "update_message": {"message_id": "x1", "is_read": True},
        "upload_file": {"local_path": upload},
        "create_event": {"subject": "Focus", "start": "2030-03-02T09:00:00Z", "end": "2030-03-02T10:00:00Z"},
        "respond_to_event": {"event_id": "x1", "response": "decline", "send_response": False},
        "update_event": {"event_id": "mine", "subject": "Renamed"},
        "cancel_event": {"event_id": "mine"},
        "create_task": {"title": "Call Lynne"},
        "update_task": {"list_id": "L1", "task_id": "x1", "title": "Call Lynne back"},
        "send_chat_message": {"chat_id": "x1", "text": "On my way"},
        "send_channel_message": {"team_id": "x1", "channel_id": "x1", "text": "Shipped", "subject": "Release"},
    }


RAW_WRITES = [
    {"path": "/me/sendMail", "method": "POST", "scopes": ["Mail.Send"], "body": {"message": {"subject": "x"}}},
    {"path": "/me/messages/x1", "method": "PATCH", "scopes": ["Mail.ReadWrite"], "body": {"isRead": True}},
    {"path": "/me/drive/root:/a.txt:/content", "method": "PUT", "scopes": ["Files.ReadWrite"], "body": {"a": 1}},
    {"path": "/me/messages/x1", "method": "DELETE", "scopes": ["Mail.ReadWrite"]},
]


@pytest.fixture
def writes(settings, tmp_path):
    uploads = tmp_path / "uploads"
    uploads.mkdir()
    (uploads / "report.txt").write_text("numbers")
    return settings.with_changes(allow_writes=True, download_dir=tmp_path / "downloads", upload_dirs=(uploads,))


@pytest.fixture
def calls(writes):
    return write_calls(str(writes.upload_dirs[0] / "report.txt"))


@pytest.fixture
def anything(graph):
    graph.answer("GET", "/me/events/mine", {**ANYTHING, "id": "mine", "isOrganizer": True, "attendees": []})
    graph.answer("GET", re.compile(r".*"), ANYTHING)
    for method in ("POST", "PATCH", "PUT", "DELETE"):
        graph.answer(method, re.compile(r".*"), ANYTHING)
    return graph


def changes(graph) -> list[str]:
    return [f"{r.method} {r.url.path}" for r in graph.requests if r.method != "GET"]


def test_every_write_tool_is_in_this_module():
    declared = {name for name, info in DECLARED.items() if info.write}
    missing = declared - set(write_calls("/x"))
    assert not missing, f"add these write tools to write_calls() in {__name__}: {sorted(missing)}"


async def test_with_elicitation_every_write_asks_the_person_and_confirm_true_cannot_skip_it(
    make_provider, writes, anything, calls
):
    asked: list[str] = []

    async def no(context, params):
        if getattr(params, "mode", "form") == "url":  # the browser sign-in's address, not a question
            return ElicitResult(action="accept")
        asked.append(params.message)
        return ElicitResult(action="decline")

    async with Client(tool_server(make_provider, writes, anything), elicitation_callback=no) as client:
        listed = {t.name for t in (await client.list_tools()).tools}
        assert set(calls) <= listed
        for name, arguments in [*calls.items(), *(("graph_request", raw) for raw in RAW_WRITES)]:
            before = len(asked)
            result = await client.call_tool(name, {**arguments, "confirm": True})
            assert result.is_error and "Not done" in text_of(result), (name, text_of(result))
            assert len(asked) == before + 1, f"{name} did not ask the person"
    assert changes(anything) == []


async def test_without_elicitation_every_write_is_refused_unless_the_user_opted_in(make_provider, writes, anything, calls):
    async with Client(tool_server(make_provider, writes, anything)) as client:
        for name, arguments in [*calls.items(), *(("graph_request", raw) for raw in RAW_WRITES)]:
            result = await client.call_tool(name, {**arguments, "confirm": True})
            assert result.is_error and "LOCAL_MCP_CONFIRM_WRITES=model" in text_of(result), (name, text_of(result))
    assert changes(anything) == []


async def test_opted_in_model_confirmation_needs_confirm_true_for_every_write(make_provider, writes, anything, calls):
    async with Client(tool_server(make_provider, writes.with_changes(confirm_writes="model"), anything)) as client:
        for name, arguments in calls.items():
            result = await client.call_tool(name, {**arguments, "confirm": False})
            assert result.is_error and "confirm=true" in text_of(result), (name, text_of(result))
        assert changes(anything) == []
        done = await client.call_tool("move_message", {**calls["move_message"], "confirm": True})
    assert not done.is_error, text_of(done)
    assert changes(anything) == ["POST /v1.0/me/messages/x1/move"]


async def test_every_question_that_reaches_people_marks_other_domains_external(make_provider, writes, graph, calls):
    """The person checks at a glance who gets it: an outside address is marked in each mail question."""
    asked: dict[str, str] = {}

    async def no(context, params):
        asked[current] = params.message
        return ElicitResult(action="decline")

    outside = "drop@attacker.example"
    reaching = {
        "send_message": {**calls["send_message"], "to": [outside]},
        "create_draft": {**calls["create_draft"], "to": [outside]},
        "forward_message": {**calls["forward_message"], "to": [outside]},
        "create_event": {**calls["create_event"], "attendees": [outside]},
        "graph_request": {**RAW_WRITES[0], "body": {"message": {"toRecipients": [{"emailAddress": {"address": outside}}]}}},
    }
    graph.answer("GET", "/me/messages/draft", {**ANYTHING, "toRecipients": [{"emailAddress": {"address": outside}}]})
    graph.answer("GET", re.compile(r".*"), ANYTHING)
    reaching["send_draft"] = {"message_id": "draft"}
    async with Client(tool_server(make_provider, writes, graph), elicitation_callback=no) as client:
        for current, arguments in reaching.items():
            await client.call_tool(current, arguments)
    for name in reaching:
        assert f"{outside} (EXTERNAL: attacker.example)" in asked.get(name, ""), (name, asked.get(name))
    assert changes(graph) == []


@pytest.mark.parametrize("content", [{"confirm": "true"}, {"confirm": 1}, {}, {"confirm": False}, {"confirm": None}])
async def test_only_an_exact_json_true_counts_as_yes_on_the_2025_wire_too(make_provider, writes, graph, content):
    graph.answer("POST", "/me/sendMail", status=202)
    asked: list[str] = []

    async def answer(context, params):
        asked.append(getattr(params, "mode", "form"))
        return ElicitResult(action="accept", content=content)

    async with Client(tool_server(make_provider, writes, graph), mode="legacy", elicitation_callback=answer) as client:
        result = await client.call_tool("send_message", {"to": ["megan@contoso.example"], "subject": "Hi", "body": "x"})
    assert result.is_error and "Not done" in text_of(result), text_of(result)
    assert "form" in asked and graph.sent("POST", "/me/sendMail") == []


async def test_graph_request_never_shows_file_text_that_holds_a_token(make_provider, writes, graph):
    token_text = '{"refresh_token": "' + "r" * 40 + '"}\n'
    graph.answer("GET", re.compile(r"/attachments/a1/\$value$"), content=("not json " + token_text).encode())
    async with Client(tool_server(make_provider, writes, graph)) as client:
        result = await client.call_tool("graph_request", {"path": "/me/messages/m1/attachments/a1/$value", "scopes": ["Mail.Read"]})
    assert result.is_error and "download_file" in text_of(result) and "r" * 40 not in text_of(result), text_of(result)
