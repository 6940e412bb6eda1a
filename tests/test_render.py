"""The text content is a compact rendering of the structured content, at most half its bytes on a page."""

from __future__ import annotations

import json
import re

import pytest
from mcp import Client

from local_mcp.tools.render import render
from tests.graph_fake import page, person, text_of, tool_server
from tests.test_tools_calendar import EVENT
from tests.test_tools_files import item
from tests.test_tools_calendar_manage import SHARED
from tests.test_tools_contacts import NICK
from tests.test_tools_mail import SUMMARY
from tests.test_tools_people import PERSON
from tests.test_tools_tasks import LISTS, TASK
from tests.test_tools_teams import CHANNEL_ID, CHANNEL_PATH, CHAT, CHAT_ID, CHAT_PATH, MENTION, TEAM


# Graph answers these in one piece (no $top); the tool pages them itself, so the answer holds more.
PAGED_HERE = {"list_teams", "list_channels"}


def _page_of(items, n=10, next_link="/me/next?$skiptoken=abc"):
    out = []
    for i in range(n):
        copy = json.loads(json.dumps(items))
        copy["id"] = f"AAMkAGEmu{i:032x}AAA="  # the emulator's id shape
        out.append(copy)
    return page(out, next_link)


FOLDER = {"id": "f1", "displayName": "Projects", "parentFolderId": "p0", "unreadItemCount": 3, "totalItemCount": 41,
          "childFolderCount": 2}
TEAM_INFO = {"id": "t1", "displayName": "Mark 8 Project Team", "description": "Everything about the Mark 8 launch"}
CHANNEL = {"id": "c1", "displayName": "General", "description": "Announcements and questions", "membershipType": "standard"}

# Every list tool on a full default page (10 items) of Graph's answer; tests/test_render_every_tool.py
# checks them all again on the emulator's data.
CASES = [
    ("list_messages", {}, "GET", "/me/messages", SUMMARY),
    ("search_messages", {"query": "falcon"}, "GET", "/me/messages", SUMMARY),
    ("list_mail_folders", {}, "GET", "/me/mailFolders", FOLDER),
    ("list_files", {}, "GET", "/me/drive/root/children", item("report.docx")),
    ("search_files", {"query": "report"}, "GET", re.compile(r"/me/drive/root/search"), item("report.docx")),
    ("list_events", {"start": "2026-03-01T00:00:00Z", "end": "2026-03-08T00:00:00Z"}, "GET", "/me/calendarView", EVENT),
    ("list_calendars", {}, "GET", "/me/calendars", SHARED),
    ("search_people", {"query": "meg"}, "GET", "/me/people", PERSON),
    ("list_task_lists", {}, "GET", "/me/todo/lists", LISTS[1]),
    ("list_tasks", {"list_id": "L1"}, "GET", "/me/todo/lists/L1/tasks", TASK),
    ("search_contacts", {"query": "nick"}, "GET", "/me/contacts", NICK),
    ("list_chats", {}, "GET", "/me/chats", CHAT),
    ("list_chat_messages", {"chat_id": CHAT_ID}, "GET", CHAT_PATH + "/messages", MENTION),
    ("list_teams", {}, "GET", "/me/joinedTeams", TEAM_INFO),
    ("list_channels", {"team_id": TEAM}, "GET", f"/teams/{TEAM}/channels", CHANNEL),
    ("list_channel_messages", {"team_id": TEAM, "channel_id": CHANNEL_ID}, "GET", CHANNEL_PATH + "/messages", MENTION),
]


@pytest.mark.parametrize(("tool", "args", "verb", "path", "sample"), CASES, ids=[c[0] for c in CASES])
async def test_a_page_renders_in_at_most_half_the_bytes(make_provider, settings, graph, tool, args, verb, path, sample):
    graph.answer(verb, path, _page_of(sample, 15, None) if tool in PAGED_HERE else _page_of(sample))
    async with Client(tool_server(make_provider, settings, graph)) as client:
        result = await client.call_tool(tool, args)
    assert not result.is_error, text_of(result)
    structured = json.dumps(result.structured_content, separators=(",", ":"))
    text = text_of(result)
    assert len(result.structured_content[_list_key(result)]) == 10  # a full default page
    assert len(text.encode()) <= len(structured.encode()) / 2, text
    assert text.count(result.structured_content["page"]["cursor"]) == 1  # the cursor, once
    items = next(v for v in result.structured_content.values() if isinstance(v, list))
    for entry in items:  # one line per item, with its id
        assert sum(entry["id"] in line for line in text.splitlines()) == 1


def _list_key(result) -> str:
    return next(k for k, v in result.structured_content.items() if isinstance(v, list))


def test_render_shapes():
    text = render({
        "messages": [
            {"id": "m1", "subject": "Hi | there", "sender": {"name": "Megan", "email": "m@x.example"}, "received": "2026-03-02T09:15:00+00:00", "is_read": False, "note": None},
            {"id": "m2", "subject": "Again", "sender": {"name": "", "email": "a@x.example"}, "received": "2026-03-03T09:15:00+00:00", "is_read": True, "note": None},
        ],
        "page": {"has_more": False, "cursor": None},
    })
    assert text.splitlines() == [
        "messages (2), tab-separated: id\tsubject\tsender\treceived\tis_read",
        "m1\tHi | there\tMegan <m@x.example>\t2026-03-02 09:15+00:00\t",
        "m2\tAgain\ta@x.example\t2026-03-03 09:15+00:00\tyes",
    ]
    assert render({"subject": "Q3", "body": "line 1\nline 2", "to": [{"name": "A", "email": "a@x.example"}], "cc": []}) == (
        "subject: Q3\nbody:\nline 1\nline 2\nto: A <a@x.example>"
    )
    assert render({"page": {"has_more": True, "cursor": "abc"}, "files": []}) == "more: pass cursor=abc"


async def test_limit_publishes_its_bounds_and_zero_gets_our_message(make_provider, settings, graph):
    async with Client(tool_server(make_provider, settings, graph)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        for name in ("list_messages", "list_files", "list_events", "search_people", "search", "find_free_time"):
            schema = tools[name].input_schema["properties"]["limit"]
            assert (schema.get("minimum"), schema.get("maximum")) == (1, 50), name
        result = await client.call_tool("list_messages", {"limit": 0})
    assert result.is_error
    assert "`limit` must be at least 1 (got 0)" in text_of(result)


async def test_graph_request_schemas_have_no_empty_schema(make_provider, settings, graph):
    async with Client(tool_server(make_provider, settings, graph)) as client:
        tool = {t.name: t for t in (await client.list_tools()).tools}["graph_request"]

    def empties(node, path=""):
        if isinstance(node, dict):
            if path.rsplit("/", 1)[-1] != "properties" and (node == {} or set(node) <= {"description", "title", "default"}):
                yield path
            for key, value in node.items():
                yield from empties(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                yield from empties(value, f"{path}[{i}]")

    assert list(empties(tool.input_schema)) == [] and list(empties(tool.output_schema)) == []


async def test_a_404_names_the_tool_that_finds_the_right_id(make_provider, settings, graph):
    graph.fail("GET", "/me/messages/nope", 404, "ErrorItemNotFound", "The specified object was not found in the store.")
    async with Client(tool_server(make_provider, settings, graph)) as client:
        result = await client.call_tool("get_message", {"message_id": "nope"})
    assert result.is_error and "To find the right id, call list_mail_folders" in text_of(result)


NOT_FOUND = [
    ("get_message", {"message_id": "nope"}, "/me/messages/nope", "list_mail_folders"),
    ("get_event", {"event_id": "nope"}, "/me/events/nope", "list_events"),
    ("list_events", {"calendar_id": "nope"}, "/me/calendars/nope/calendarView", "list_calendars"),
    ("get_file", {"item_id": "nope"}, "/me/drive/items/nope", "list_files"),
    ("list_tasks", {"list_id": "nope"}, "/me/todo/lists/nope/tasks", "list_task_lists"),
    ("get_contact", {"contact_id": "nope"}, "/me/contacts/nope", "search_contacts"),
    ("list_chat_messages", {"chat_id": "nope"}, "/chats/nope/messages", "list_chats"),
    ("list_channels", {"team_id": "nope"}, "/teams/nope/channels", "list_teams"),
]


@pytest.mark.parametrize(("tool", "args", "path", "finder"), NOT_FOUND, ids=[c[0] for c in NOT_FOUND])
async def test_a_404_in_every_area_names_the_tool_that_finds_the_id(make_provider, settings, graph, tool, args, path, finder):
    graph.fail("GET", path, 404, "ErrorItemNotFound", "The specified object was not found in the store.")
    async with Client(tool_server(make_provider, settings, graph)) as client:
        result = await client.call_tool(tool, args)
    assert result.is_error and "To find the right id, call" in text_of(result) and finder in text_of(result), text_of(result)


def test_every_finder_is_a_tool_and_every_area_with_ids_has_one(settings):
    import re as _re

    from local_mcp.server import create_server
    from local_mcp.tools._common import DECLARED, ID_FINDERS

    create_server(settings.with_changes(allow_writes=True))
    for area, finders in ID_FINDERS.items():
        named = set(_re.findall(r"[a-z]+_[a-z_]+|\bsearch\b", finders)) - {"drive_id"}
        assert named and named <= set(DECLARED), (area, named - set(DECLARED))
        assert all(DECLARED[n].area in (area, "search") for n in named), area
    taking_ids = {"mail", "files", "calendar", "people", "tasks", "contacts", "teams"}
    assert taking_ids <= set(ID_FINDERS) and {info.area for info in DECLARED.values()} - set(ID_FINDERS) <= {"search", "graph", "account"}
