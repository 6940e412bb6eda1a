"""Every list tool's text, on the emulator's data: one line per item with its id, the cursor once,
at most half the bytes of the structured content on the same page (render.py).

Every tool whose result holds a `page` must be in PAGE_CALLS: a new list tool is audited too.
"""

from __future__ import annotations

import json
import ssl
from datetime import datetime, timedelta, timezone
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from mcp import Client

from local_mcp.config import Settings
from local_mcp.server import create_server
from tests.emulator import Emulator
from tests.graph_fake import text_of
from tests.test_tools_on_emulator import EmulatorApp

pytestmark = pytest.mark.integration

# tool -> its arguments; "<tool.field>" is the `id` of the first item another tool lists.
PAGE_CALLS: dict[str, dict[str, Any]] = {
    "list_messages": {},
    "search_messages": {"query": "the"},
    "list_mail_folders": {},
    "list_events": {"start": "<now-30d>", "end": "<now+30d>"},
    "list_calendars": {},
    "list_files": {"folder": "Documents"},
    "search_files": {"query": "report"},
    "search_people": {"query": "a"},
    "search": {"query": "the", "entity_type": "message"},
    "list_task_lists": {},
    "list_tasks": {"status": "all"},
    "search_contacts": {"query": "a"},
    "list_chats": {},
    "list_chat_messages": {"chat_id": "<list_chats.chats>"},
    "list_teams": {},
    "list_channels": {"team_id": "<list_teams.teams>"},
    "list_channel_messages": {"team_id": "<list_teams.teams>", "channel_id": "<list_channels.channels>"},
}


@pytest.fixture(scope="module")
def emu() -> Iterator[Emulator]:
    with Emulator() as emulator:
        yield emulator


@pytest.fixture
def server(emu: Emulator, make_provider, tmp_path) -> Any:
    settings = Settings(authority=emu.authority, graph_url=emu.graph_url, cache_dir=tmp_path / "cache",
                        auth_mode="browser", sign_in_timeout=30)
    app = EmulatorApp()
    app.emu = emu
    provider = make_provider(s=settings, app=app)
    http = httpx.AsyncClient(verify=ssl.create_default_context(cafile=emu.ca_bundle), timeout=30)
    return create_server(settings, tokens=provider, graph_http_client=http)


FULL_PAGE = 5  # items; on a smaller page the header and the ids weigh more (tests/test_render.py: 10-item pages)


async def test_every_list_tool_renders_a_page_compactly(server: Any) -> None:
    now = datetime.now(timezone.utc)
    stamps = {"<now-30d>": (now - timedelta(days=30)).isoformat(), "<now+30d>": (now + timedelta(days=30)).isoformat()}
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        paged = {name for name, tool in tools.items() if "page" in (tool.output_schema or {}).get("required", [])}
        assert paged == set(PAGE_CALLS), "every list tool needs a call in PAGE_CALLS"
        firsts: dict[str, str] = {}
        for name, args in PAGE_CALLS.items():
            resolved = {key: firsts[value.strip("<>")] if value.startswith("<") and "." in value else stamps.get(value, value)
                        for key, value in args.items()}
            result = await client.call_tool(name, resolved)
            assert not result.is_error, f"{name}: {text_of(result)}"
            structured = result.structured_content
            key, items = next((k, v) for k, v in structured.items() if isinstance(v, list))
            assert items, f"{name}: the emulator has nothing to list"
            firsts[f"{name}.{key}"] = items[0]["id"]
            text = text_of(result)
            lines = text.splitlines()
            for entry in items:  # one line per item, with its id
                assert sum(entry["id"] in line for line in lines) == 1, (name, entry["id"], text)
            cursor = structured["page"].get("cursor")
            assert text.count(cursor) == 1 if cursor else "cursor=" not in text, (name, text)
            size = len(json.dumps(structured, separators=(",", ":"), ensure_ascii=False).encode())
            assert len(text.encode()) < size, (name, text)
            if len(items) >= FULL_PAGE:
                assert len(text.encode()) <= size / 2, (name, len(text.encode()), size, text)
