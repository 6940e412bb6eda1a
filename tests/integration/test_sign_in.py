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


# ----- the browser sign-in's address reaches the client too -----------------------------------

NO_WINDOW = "true %s"  # a $BROWSER that "opens" nothing: the window never appears


def person_opens(setup: ServerSetup, url: str) -> None:
    """The person opens the address the client showed, in a browser of their own."""
    import os
    import subprocess
    import sys

    from tests.emulator.server import BROWSER_SCRIPT

    assert url.startswith("http://localhost:") and url.endswith("?welcome=true"), url
    subprocess.run([sys.executable, str(BROWSER_SCRIPT), url], env={**os.environ, **setup.emulator.env()}, check=True)


async def test_browser_sign_in_address_by_url_elicitation_when_no_window_appeared(setup: ServerSetup):
    from mcp_types import ElicitResult

    seen = []

    async def on_elicit(context, params):
        seen.append(params)
        person_opens(setup, params.url)
        return ElicitResult(action="accept")

    async with setup.client(mode="legacy", elicitation_callback=on_elicit, BROWSER=NO_WINDOW) as client:
        result = await client.call_tool("whoami", {})
    assert not result.is_error, text_of(result)
    assert len(seen) == 1 and seen[0].mode == "url"
    assert setup.emulator.counts["authorize"] == 1


async def test_browser_sign_in_address_in_the_progress_message_when_no_window_appeared(setup: ServerSetup):
    opened = []

    async def on_progress(progress, total, message):
        match = re.search(r"open (http://localhost:\d+\?welcome=true)", message or "")
        if match and not opened:
            opened.append(match.group(1))
            person_opens(setup, match.group(1))

    async with setup.client(BROWSER=NO_WINDOW) as client:  # 2026-07-28: no elicitation mid-call
        result = await client.call_tool("whoami", {}, progress_callback=on_progress)
    assert not result.is_error, text_of(result)
    assert len(opened) == 1
    assert setup.emulator.counts["authorize"] == 1


async def test_browser_sign_in_address_as_input_required_for_2026_07_28_clients(setup: ServerSetup):
    """2026-07-28 cannot elicit mid-call: the call ends with the address, the sign-in goes on, the retry waits."""
    from mcp_types import ElicitResult

    seen = []

    async def on_elicit(context, params):
        seen.append(params)
        person_opens(setup, params.url)  # from the client's prompt: no window had appeared
        return ElicitResult(action="accept")

    async with setup.client(elicitation_callback=on_elicit, BROWSER=NO_WINDOW) as client:
        me = await client.call_tool("whoami", {})
        again = await client.call_tool("whoami", {})  # signed in now: no question
    assert not me.is_error, text_of(me)
    assert not again.is_error, text_of(again)
    assert [p.mode for p in seen] == ["url"] and "open http://localhost:" in seen[0].message
    assert setup.emulator.counts["authorize"] == 1


async def test_a_declined_browser_address_still_waits_for_the_window_then_says_how_to_go_on(setup: ServerSetup):
    """Declining the address is not declining the sign-in (the window works either way), as mid-call."""
    from mcp_types import ElicitResult

    async def on_elicit(context, params):
        return ElicitResult(action="decline")

    async with setup.client(elicitation_callback=on_elicit, BROWSER=NO_WINDOW, LOCAL_MCP_SIGN_IN_TIMEOUT="10") as client:
        result = await client.call_tool("whoami", {})  # nobody signs in: the wait ends at the time-out
    assert result.is_error and "not completed in time" in text_of(result), text_of(result)
    assert "LOCAL_MCP_AUTH_MODE=device_code" in text_of(result)
    assert setup.emulator.counts["token"] == 0  # nobody signed in


# ----- a client that runs one call per process (the Inspector CLI) -----------------------------


async def test_one_call_per_process_finishes_a_device_sign_in(setup: ServerSetup):
    emu = setup.emulator
    async with setup.client(LOCAL_MCP_AUTH_MODE="device_code") as client:  # process 1: shows the code, stops
        first = await client.call_tool("whoami", {})
    assert first.is_error
    code = code_in(text_of(first))
    async with setup.client(LOCAL_MCP_AUTH_MODE="device_code") as client:  # process 2, before the person signed in
        again = await client.call_tool("whoami", {})
    assert again.is_error and code_in(text_of(again)) == code  # the same code, no new flow
    emu.approve_device_code(code)  # the person enters it
    async with setup.client(LOCAL_MCP_AUTH_MODE="device_code") as client:  # process 3: signed in
        me = await client.call_tool("whoami", {})
    assert not me.is_error, text_of(me)
    assert emu.counts["devicecode"] == 1
    record = (setup.cache_dir / "device_sign_in.json").read_text()
    assert '"state": "done"' in record and "device_code" not in record


async def test_signing_out_cancels_a_handed_off_device_sign_in(setup: ServerSetup):
    """The person signs out while a background process still waits for the code: entering it later signs nobody in."""
    import json
    import time

    emu = setup.emulator
    async with setup.client(LOCAL_MCP_AUTH_MODE="device_code") as client:  # shows the code, stops: handed off
        first = await client.call_tool("whoami", {})
    code = code_in(text_of(first))
    record_path = setup.cache_dir / "device_sign_in.json"
    async with setup.client(LOCAL_MCP_AUTH_MODE="device_code") as client:
        out = await client.call_tool("sign_out", {})
    assert not out.is_error, text_of(out)
    assert json.loads(record_path.read_text())["state"] == "cancelled"
    emu.approve_device_code(code)  # too late: the person had signed out
    deadline = time.monotonic() + 20
    pid = json.loads(record_path.read_text())["pid"]
    while time.monotonic() < deadline and _alive(pid):
        time.sleep(0.2)
    assert not _alive(pid), "the background sign-in should stop once cancelled"
    assert json.loads(record_path.read_text())["state"] == "cancelled"
    cache = setup.cache_dir / "token_cache.bin"
    assert not cache.exists() or not json.loads(cache.read_text() or "{}").get("RefreshToken")
    async with setup.client(LOCAL_MCP_AUTH_MODE="device_code") as client:  # not signed in: a new code
        again = await client.call_tool("whoami", {})
    assert again.is_error and code_in(text_of(again)) != code
    assert emu.counts["devicecode"] == 2


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie (exited, not yet reaped by its parent) counts as gone
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][0] != "Z"
    except OSError:
        return True
    return True
