"""The real tools, in process, against the emulator's Graph (its documented rules, tests/emulator/README.md).

Faster than tests/integration (no server process, no browser sign-in): a fake MSAL app hands out
real emulator access tokens, and the tools' Graph client talks HTTPS to the emulator.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from local_mcp.config import Settings
from local_mcp.server import create_server
from tests.emulator import Emulator
from tests.fakes import FakeApp, token_result
from tests.graph_fake import call, text_of

pytestmark = pytest.mark.integration


class EmulatorApp(FakeApp):
    """The fake MSAL app, signing in with real tokens of the emulator."""

    emu: Emulator | None = None

    def _sign_in(self, scopes: list[str]) -> dict[str, Any]:
        assert self.emu is not None
        self.interactive_results.append(token_result(scopes, token=self.emu.issue_access_token(scopes)))
        return super()._sign_in(scopes)


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def server(emu: Emulator, make_provider, tmp_path) -> Any:
    settings = Settings(authority=emu.authority, graph_url=emu.graph_url, cache_dir=tmp_path / "cache",
                        auth_mode="browser", sign_in_timeout=30, allow_writes=True)
    app = EmulatorApp()
    app.emu = emu
    provider = make_provider(s=settings, app=app)
    http = httpx.AsyncClient(verify=ssl.create_default_context(cafile=emu.ca_bundle), timeout=30)
    return create_server(settings, tokens=provider, graph_http_client=http)


async def ok(server: Any, tool: str, args: dict[str, Any]) -> Any:
    result = await call(server, tool, args)
    assert not result.is_error, f"{tool}: {text_of(result)}"
    return result.structured_content


async def test_unread_and_sender_filters_lead_with_received_date_time(server: Any, emu: Emulator) -> None:
    """Bug 1: Exchange's InefficientFilter rule ($orderby properties first in $filter)."""
    unread = await ok(server, "list_messages", {"unread_only": True, "limit": 50})
    assert unread["messages"] and all(m["is_read"] is False for m in unread["messages"])
    assert len(unread["messages"]) == sum(1 for m in emu.graph.messages if not m["isRead"])
    megan = await ok(server, "list_messages", {"sender": "megan@contoso.example", "since": "2000-01-01", "unread_only": True})
    assert all(m["sender"]["email"] == "megan@contoso.example" and not m["is_read"] for m in megan["messages"])


async def test_list_and_search_mail_leave_out_teams_chats(server: Any, emu: Emulator) -> None:
    """Bug 8: /me/messages also returns Teams chats (subject "IM"); the mail tools show mail only."""
    seen = (await ok(server, "list_messages", {"limit": 50}))["messages"]
    assert [m["id"] for m in seen] == [m["id"] for m in emu.graph.messages]
    assert not {c["id"] for c in emu.graph.mail.chats} & {m["id"] for m in seen}
    found = (await ok(server, "search_messages", {"query": "Fabrikam"}))["messages"]
    assert found and all(m["subject"] != "IM" for m in found)


async def test_a_comment_without_telling_the_organizer_is_refused_up_front(server: Any, emu: Emulator) -> None:
    """Bug 2: Graph rejects a response comment with sendResponse=false."""
    invitation = next(e for e in emu.graph.events if e["responseStatus"]["response"] == "notResponded")
    before = emu.counts["graph POST /me/events/{id}/tentativelyAccept"]
    result = await call(server, "respond_to_event", {"event_id": invitation["id"], "response": "tentativelyAccept",
                                                    "comment": "Maybe", "send_response": False})
    assert result.is_error and "send_response" in text_of(result) and "comment" in text_of(result)
    assert emu.counts["graph POST /me/events/{id}/tentativelyAccept"] == before  # refused before calling Graph


async def test_message_search_total_is_the_count_on_the_page(server: Any) -> None:
    """Bug 6: for messages the Search API's total counts the page, not all matches."""
    result = await ok(server, "search", {"query": "falcon", "entity_type": "message", "limit": 2})
    assert len(result["hits"]) == 2 and result["page"]["has_more"] is True
    assert result["total"] is None  # not presented as the number of all matches
    assert "page" in result["total_note"]


async def test_a_new_description_keeps_an_online_meeting_online(server: Any, emu: Emulator) -> None:
    """event-update.md: removing the meeting blob from the body disables the online meeting; update_event keeps it."""
    made = await ok(server, "create_event", {"subject": "Focus sync", "start": "2030-05-02T09:00:00Z",
                                             "end": "2030-05-02T09:30:00Z", "body": "Agenda", "online_meeting": True})
    join = made["online_meeting_url"]
    event = next(e for e in emu.graph.events if e["id"] == made["id"])
    assert join and join in event["body"]["content"]  # Outlook puts the join blob into the body
    changed = await ok(server, "update_event", {"event_id": made["id"], "body": "New agenda"})
    assert changed["changed"] == ["body"]
    after = await ok(server, "get_event", {"event_id": made["id"]})
    assert after["online_meeting_url"] == join and "New agenda" in after["body"]
    # without the guard: a PATCH of the body alone (what a plain-text update sends) takes the meeting offline
    token = emu.issue_access_token(["Calendars.ReadWrite"])
    async with httpx.AsyncClient(verify=ssl.create_default_context(cafile=emu.ca_bundle)) as http:
        plain = await http.patch(f"{emu.graph_url}/me/events/{made['id']}", headers={"Authorization": f"Bearer {token}"},
                                 json={"body": {"contentType": "text", "content": "Plain"}})
    assert plain.status_code == 200 and event["isOnlineMeeting"] is False and event["onlineMeeting"] is None
