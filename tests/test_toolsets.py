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


async def test_tool_icons_give_every_tool_its_area_icon_a_plain_svg(settings):
    import base64
    from xml.etree import ElementTree

    from local_mcp.tools.icons import AREAS

    assert all(not t.icons for t in await _tools(settings.with_changes(allow_writes=True)))  # off by default
    assert Settings.load({"LOCAL_MCP_TOOL_ICONS": "1"}).tool_icons
    tools = await _tools(settings.with_changes(allow_writes=True, tool_icons=True))
    by_area: dict[str, set[str]] = {}
    svg_ns = "{http://www.w3.org/2000/svg}"
    for tool in tools:
        area = DECLARED[tool.name].area if tool.name in DECLARED else "account"
        assert tool.icons and len(tool.icons) == 1, tool.name
        icon = tool.icons[0]
        assert icon.mime_type == "image/svg+xml" and icon.sizes == ["any"], tool.name
        assert icon.src.startswith("data:image/svg+xml;base64,"), tool.name
        svg = ElementTree.fromstring(base64.b64decode(icon.src.split(",", 1)[1], validate=True))
        assert svg.tag == f"{svg_ns}svg" and [child.tag for child in svg] == [f"{svg_ns}path"], tool.name
        assert {"href", "{http://www.w3.org/1999/xlink}href"}.isdisjoint(svg.attrib), tool.name  # no external reference
        by_area.setdefault(area, set()).add(icon.src)
    assert set(by_area) <= set(AREAS) and len(by_area) >= 9
    assert all(len(srcs) == 1 for srcs in by_area.values())  # one icon per area
    assert len({next(iter(srcs)) for srcs in by_area.values()}) == len(by_area)  # and each area its own
