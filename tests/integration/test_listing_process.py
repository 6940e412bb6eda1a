"""The tools/list cache in the real process: the second start lists from it and builds the tools at the first call."""

from __future__ import annotations

import json

import pytest

from tests.integration.conftest import USER, ServerSetup

pytestmark = pytest.mark.integration

DEBUG = {"LOCAL_MCP_LOG_LEVEL": "DEBUG", "LOCAL_MCP_PRELOAD": "0"}  # no preloader: the first call builds


def _tools_list_answer(setup: ServerSetup, n: int) -> bytes:
    """The bytes of the `result` of the tools/list answer process `n` wrote to stdout."""
    stdout_copy, _ = setup.taps[n]
    for line in stdout_copy.read_bytes().split(b"\n"):
        if b'"result":' in line and b'"inputSchema"' in line:
            return line.split(b'"result":', 1)[1]
    raise AssertionError(f"process {n} wrote no tools/list answer")


def _stderr(setup: ServerSetup, n: int) -> str:
    return setup.taps[n][1].read_text(errors="replace")


async def test_the_second_start_lists_from_the_cache_and_builds_the_tools_at_the_first_call(setup: ServerSetup):
    async with setup.client(mode="legacy", **DEBUG) as client:  # no listing cache yet: built at start-up
        first = await client.list_tools()
    cold = _stderr(setup, 0)
    assert "Tools built at start-up" in cold and "no listing cache yet" in cold
    assert list(setup.cache_dir.glob("tools-list-*.json"))

    async with setup.client(mode="legacy", **DEBUG) as client:
        second = await client.list_tools()
        warm_before_call = _stderr(setup, 1)
        result = await client.call_tool("whoami", {})
    assert not result.is_error, result
    assert result.structured_content["email"] == USER.email

    assert [t.name for t in second.tools] == [t.name for t in first.tools]
    assert _tools_list_answer(setup, 1) == _tools_list_answer(setup, 0)  # byte for byte

    assert "tools/list comes from the listing cache" in warm_before_call
    assert "loaded before initialize: none of local_mcp.tools, local_mcp.auth.tokens, local_mcp.graph" in warm_before_call
    assert "tools/list answered from the listing cache" in warm_before_call
    assert "Tools built" not in warm_before_call  # not even for tools/list
    warm = _stderr(setup, 1)
    assert warm.index("tools/list answered from the listing cache") < warm.index("Tools built for a tools/call")


async def test_other_settings_do_not_use_the_cached_listing(setup: ServerSetup):
    async with setup.client(mode="legacy", **DEBUG) as client:
        read_only = await client.list_tools()
    async with setup.client(mode="legacy", LOCAL_MCP_ALLOW_WRITES="1", **DEBUG) as client:
        writes = await client.list_tools()
    assert "no listing cache yet" in _stderr(setup, 1)  # built, not the read-only listing
    assert {t.name for t in read_only.tools} < {t.name for t in writes.tools}
    files = list(setup.cache_dir.glob("tools-list-*.json"))
    assert len(files) == 2
    assert all(json.loads(f.read_text())["format"] == 1 for f in files)
