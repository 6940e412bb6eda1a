"""The Microsoft Search tool through the SDK's in-memory client, with a fake MSAL app and a fake Graph."""

from __future__ import annotations

import re

import httpx
import pytest
from mcp import Client

from tests.graph_fake import body_of, call, scopes_asked, text_of, tool_server

MESSAGE_HIT = {
    "hitId": "AAMk-1", "rank": 1, "summary": "Re: <c0>Falcon</c0> launch checklist<ddd/>rows 12-18 &amp; owners",
    "resource": {
        "@odata.type": "#microsoft.graph.message", "id": "AAMk-1", "subject": "Re: Falcon launch checklist",
        "receivedDateTime": "2026-11-21T09:15:00Z", "webLink": "https://outlook.office365.com/owa/?ItemID=AAMk-1",
        "from": {"emailAddress": {"name": "Alex Wilber", "address": "alex@contoso.example"}},
    },
}
EVENT_HIT = {
    "hitId": "AAMk-ev", "rank": 1, "summary": "",
    "resource": {
        "@odata.type": "#microsoft.graph.event", "subject": "Daily standup", "bodyPreview": "Daily standup. Agenda to follow.",
        "start": {"dateTime": "2026-11-22T09:00:00.0000000", "timeZone": "UTC"},
        "end": {"dateTime": "2026-11-22T09:15:00.0000000", "timeZone": "UTC"},
        "organizer": {"emailAddress": {"name": "Adele Vance", "address": "adele@contoso.example"}},
    },
}
FILE_HIT = {
    "hitId": "01EMU-1", "rank": 1, "summary": "<c0>Falcon</c0> spec",
    "resource": {
        "@odata.type": "#microsoft.graph.driveItem", "id": "01EMU-1", "name": "Falcon spec.docx", "size": 120448,
        "webUrl": "https://contoso-my.sharepoint.com/personal/adele/Documents/Falcon%20spec.docx",
        "lastModifiedDateTime": "2026-11-01T10:00:00Z", "lastModifiedBy": {"user": {"displayName": "Megan Bowen"}},
    },
}


def answer(hits: list, *, total: int = 0, more: bool = False) -> dict:
    container = {"total": total, "moreResultsAvailable": more}
    if hits:
        container["hits"] = hits
    return {"value": [{"searchTerms": ["falcon"], "hitsContainers": [container]}]}


@pytest.fixture
def server(make_provider, settings, graph):
    return tool_server(make_provider, settings, graph)


async def test_search_is_listed_read_only_with_the_scopes_of_all_three_types(server):
    async with Client(server) as client:
        tool = {t.name: t for t in (await client.list_tools()).tools}["search"]
    assert tool.annotations.read_only_hint is True
    assert tool.input_schema["properties"]["entity_type"]["enum"] == ["message", "event", "driveItem"]
    from local_mcp.tools._common import DECLARED

    assert DECLARED["search"].scopes == ("Mail.Read", "Calendars.Read", "Files.Read.All")


async def test_message_search_asks_only_for_mail_read_and_pages_with_from(server, graph, fake_app):
    graph.answer("POST", re.compile(r"/v1\.0/search/query$"), lambda r: httpx.Response(200, json=answer(
        [MESSAGE_HIT] * 2 if body_of(r)["requests"][0]["from"] == 0 else [MESSAGE_HIT], total=3,
        more=body_of(r)["requests"][0]["from"] == 0)))
    first = await call(server, "search", {"query": " falcon ", "limit": 2})
    assert not first.is_error, text_of(first)
    assert body_of(graph.requests[0]) == {
        "requests": [{"entityTypes": ["message"], "query": {"queryString": "falcon"}, "from": 0, "size": 2}]}
    assert scopes_asked(fake_app) == {"Mail.Read"}
    data = first.structured_content
    # for messages Graph's total is the count on the page, so it is not passed on as "all matches"
    assert data["total"] is None and "page" in data["total_note"] and data["entity_type"] == "message"
    hit = data["hits"][0]
    assert hit == {
        "type": "message", "id": "AAMk-1", "title": "Re: Falcon launch checklist",
        "summary": "Re: Falcon launch checklist … rows 12-18 & owners", "date": "2026-11-21T09:15:00+00:00",
        "person": "Alex Wilber", "web_url": "https://outlook.office365.com/owa/?ItemID=AAMk-1", "size": None,
    }
    assert data["page"]["has_more"] is True

    second = await call(server, "search", {"query": "falcon", "limit": 2, "cursor": data["page"]["cursor"]})
    assert not second.is_error, text_of(second)
    assert body_of(graph.requests[-1])["requests"][0]["from"] == 2
    assert second.structured_content["page"] == {"has_more": False, "cursor": None}

    other = await call(server, "search", {"query": "budget", "cursor": data["page"]["cursor"]})
    assert other.is_error and "another search" in text_of(other)
    assert len(graph.requests) == 2


async def test_event_search_asks_for_calendars_read_and_caps_the_page_at_25(server, graph, fake_app):
    graph.answer("POST", re.compile(r"/search/query$"), answer([EVENT_HIT], total=1))
    result = await call(server, "search", {"query": "standup", "entity_type": "event", "limit": 50})
    assert not result.is_error, text_of(result)
    assert body_of(graph.requests[0])["requests"][0] == {
        "entityTypes": ["event"], "query": {"queryString": "standup"}, "from": 0, "size": 25}
    assert scopes_asked(fake_app) == {"Calendars.Read"}
    hit = result.structured_content["hits"][0]
    assert hit["id"] == "AAMk-ev" and hit["date"] == "2026-11-22T09:00:00+00:00" and hit["person"] == "Adele Vance"
    assert hit["summary"] == "Daily standup. Agenda to follow."  # Graph's summary was empty


async def test_file_search_asks_for_files_read_all(server, graph, fake_app):
    graph.answer("POST", re.compile(r"/search/query$"), answer([FILE_HIT], total=1))
    result = await call(server, "search", {"query": "falcon", "entity_type": "driveItem", "limit": 80})
    assert not result.is_error, text_of(result)
    assert body_of(graph.requests[0])["requests"][0]["size"] == 50
    assert scopes_asked(fake_app) == {"Files.Read.All"}
    hit = result.structured_content["hits"][0]
    assert (hit["title"], hit["size"], hit["person"], hit["summary"]) == ("Falcon spec.docx", 120448, "Megan Bowen", "Falcon spec")


async def test_no_hits_and_bad_cursors(server, graph):
    graph.answer("POST", re.compile(r"/search/query$"), answer([], total=0))
    empty = await call(server, "search", {"query": "nothing matches this"})
    assert not empty.is_error and empty.structured_content["hits"] == []
    assert empty.structured_content["page"] == {"has_more": False, "cursor": None}
    bad = await call(server, "search", {"query": "x", "cursor": "not-a-cursor"})
    assert bad.is_error and "cursor is not valid" in text_of(bad)
    wrong_type = await call(server, "search", {"query": "x", "entity_type": "chatMessage"})
    assert wrong_type.is_error
    assert len(graph.requests) == 1
