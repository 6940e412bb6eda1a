"""list_calendars through the real process against the emulator."""

from __future__ import annotations

import pytest

from tests.integration.conftest import USER, ServerSetup

pytestmark = pytest.mark.integration


async def test_list_calendars_shows_mine_and_the_shared_one(setup: ServerSetup):
    async with setup.client(LOCAL_MCP_TOOLSETS="calendar") as client:
        result = await client.call_tool("list_calendars", {})
    assert not result.is_error, result.content
    calendars = result.structured_content["calendars"]
    assert [(c["owner"], c["is_default"], c["shared_with_me"]) for c in calendars] == [
        (USER.email, True, False), ("megan@contoso.example", False, True)]
