"""One sign-in, not one per tool: the real `local-mcp` process against the emulator, without elicitation."""

from __future__ import annotations

import re

import pytest

from tests.integration.conftest import ServerSetup

pytestmark = pytest.mark.integration


def text_of(result) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def code_in(message: str) -> str:
    match = re.search(r"code ([A-Z0-9-]{6,})", message)
    assert match, message
    return match.group(1)


async def test_tools_needing_other_scopes_share_the_pending_device_code(setup: ServerSetup):
    emu = setup.emulator
    async with setup.client(LOCAL_MCP_AUTH_MODE="device_code") as client:
        first = await client.call_tool("whoami", {})  # User.Read
        assert first.is_error
        # Mail.Read, while the first sign-in still waits for the user: the same code, no second flow.
        # (It waits a while for the user first, then answers with the code again.)
        other = await client.call_tool("list_messages", {"limit": 1})
        assert other.is_error
        assert code_in(text_of(other)) == code_in(text_of(first))
        assert "local-mcp login" in text_of(other)
        assert emu.counts["devicecode"] == 1
        emu.approve_device_code(code_in(text_of(first)))  # the user enters the one code
        # Each call waits for the sign-in, then gets its own scopes silently (the new refresh token).
        mail = await client.call_tool("list_messages", {"limit": 1})
        me = await client.call_tool("whoami", {})
    assert not mail.is_error, text_of(mail)
    assert not me.is_error, text_of(me)
    assert emu.counts["devicecode"] == 1
