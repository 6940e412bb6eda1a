"""list_calendars on the fake Graph."""

from __future__ import annotations

from mcp import Client

from tests.fakes import USER, FakeApp, token_result
from tests.graph_fake import page, query, text_of, tool_server

OWN = {"id": "c1", "name": "Calendar", "isDefaultCalendar": True, "canEdit": True,
       "owner": {"name": "Adele Vance", "address": USER["username"]}}
SHARED = {"id": "c2", "name": "Megan Bowen", "isDefaultCalendar": False, "canEdit": False,
          "owner": {"name": "Megan Bowen", "address": "megan@contoso.example"}}


async def test_list_calendars_marks_the_ones_shared_with_me(make_provider, settings, graph):
    graph.answer("GET", "/me/calendars", page([OWN, SHARED], "/me/calendars?$skip=2"))
    app = FakeApp(accounts=[dict(USER)])
    app.tokens[("https://graph.example/Calendars.Read",)] = token_result(["https://graph.example/Calendars.Read"])
    async with Client(tool_server(make_provider, settings, graph, app)) as client:
        result = await client.call_tool("list_calendars", {"limit": 5})
    assert not result.is_error, text_of(result)
    calendars = result.structured_content["calendars"]
    assert [(c["id"], c["shared_with_me"], c["can_edit"]) for c in calendars] == [("c1", False, True), ("c2", True, False)]
    assert result.structured_content["page"]["has_more"] is True
    sent = query(graph.only("GET", "/me/calendars"))
    assert sent["$top"] == "5" and "owner" in sent["$select"]
