"""Toolsets (LOCAL_MCP_TOOLSETS / --toolsets), the tool cap, icons and a stable tools/list order."""

from __future__ import annotations

import pytest
from mcp import Client

from local_mcp.config import TOOLSETS, Settings
from local_mcp.errors import ConfigError
from local_mcp.server import create_server
from local_mcp.tools._common import DECLARED

ACCOUNT = {"whoami", "sign_in", "sign_out", "auth_status"}
CURSOR_CAP = 40  # Cursor sends the first ~40 tools; the default read-only list must fit


async def _tools(settings: Settings) -> list:
    async with Client(create_server(settings)) as client:
        return list((await client.list_tools()).tools)


async def test_the_default_lists_every_area_and_fits_the_cap_read_only(settings):
    tools = await _tools(settings)
    names = {t.name for t in tools}
    assert len(tools) <= CURSOR_CAP, len(tools)
    assert ACCOUNT <= names
    areas = {DECLARED[n].area for n in names if n in DECLARED}
    assert areas == {info.area for info in DECLARED.values()}  # every area that has tools


async def test_a_toolset_lists_its_area_and_the_account_tools_only(settings):
    tools = await _tools(settings.with_changes(toolsets=("calendar",), allow_writes=True))
    names = {t.name for t in tools}
    assert ACCOUNT <= names
    assert {"list_events", "create_event"} <= names
    assert not names & {"list_messages", "send_message", "list_files", "graph_request"}


def test_toolsets_are_read_from_the_environment_and_checked():
    loaded = Settings.load({"LOCAL_MCP_TOOLSETS": " Mail , files"})
    assert loaded.toolsets == ("mail", "files")
    assert Settings.load({"LOCAL_MCP_TOOLSETS": "all"}).toolsets == TOOLSETS
    assert Settings.load({}).toolsets == TOOLSETS
    assert Settings.load({}, {"toolsets": "teams,mail"}).toolsets == ("mail", "teams")  # stable order
    with pytest.raises(ConfigError, match="unknown tool areas onenote"):
        Settings.load({"LOCAL_MCP_TOOLSETS": "mail,onenote"})


async def test_the_order_is_stable(settings):
    first = await _tools(settings.with_changes(allow_writes=True))
    second = await _tools(settings.with_changes(allow_writes=True))
    assert [t.name for t in first] == [t.name for t in second]
    # areas come in one block each, account first
    areas = [DECLARED[t.name].area if t.name in DECLARED else "account" for t in first]
    blocks = [a for i, a in enumerate(areas) if i == 0 or areas[i - 1] != a]
    assert blocks[0] == "account" and len(blocks) == len(set(blocks)), blocks
