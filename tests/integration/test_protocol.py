"""What the server declares is what it does, in both protocol eras (Python SDK client, real process)."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.shared.exceptions import MCPError

from tests.integration.conftest import ServerSetup

pytestmark = pytest.mark.integration


# 2026-07-28 discovery (logs only for a client that opts in per request) and the initialize
# handshake (logs unless logging/setLevel raised the level above them).
LOG_CASES = [("auto", "info", True), ("auto", None, False), ("legacy", "warning", False), ("legacy", None, True)]


@pytest.mark.parametrize(("mode", "level", "hears"), LOG_CASES, ids=[f"{m}-{lv}" for m, lv, _ in LOG_CASES])
async def test_capabilities_logging_and_unknown_tools(setup: ServerSetup, mode: str, level: str | None, hears: bool):
    messages: list[Any] = []

    async def on_log(params: Any) -> None:
        messages.append(params)

    options: dict[str, Any] = {"logging_callback": on_log}
    if mode == "auto" and level:
        options["log_level"] = level  # the 2026-07-28 per-request opt-in
    async with setup.client(mode=mode, client_options=options) as client:
        caps = client.server_capabilities
        assert caps.tools is not None and not caps.tools.list_changed
        assert caps.resources is None or not (caps.resources.subscribe or caps.resources.list_changed)
        assert caps.prompts is None or not caps.prompts.list_changed
        if mode == "legacy":
            assert caps.logging is not None  # it sends notifications/message during sign-in
            if level:
                await client.set_logging_level(level)
        with pytest.raises(MCPError) as unknown:
            await client.call_tool("no_such_tool", {})
        assert unknown.value.code == -32602 and "no_such_tool" in unknown.value.message
        with pytest.raises(MCPError) as no_prompt:  # the SDK alone answers -32603 "Internal server error"
            await client.get_prompt("no_such_prompt")
        assert no_prompt.value.code == -32602 and "no_such_prompt" in no_prompt.value.message
        result = await client.call_tool("whoami", {})  # a browser sign-in, with its progress messages
        assert not result.is_error
    sign_in_logs = [m for m in messages if getattr(m, "logger", None) == "local-mcp.sign-in"]
    if hears:
        assert sign_in_logs and all(m.level == "info" for m in sign_in_logs), messages
    else:
        assert sign_in_logs == []  # below the level the client set, or a 2026-07-28 client that did not opt in


def test_a_request_whose_id_is_not_a_string_or_integer_gets_an_invalid_request_error(setup: ServerSetup):
    """The SDK reads such a request as a notification and answers nothing; JSON-RPC 2.0 asks for -32600."""
    import json
    import subprocess
    import sys

    from tests.integration.conftest import TAP

    stdout_copy, stderr_file = setup.root / "raw-stdout.bin", setup.root / "raw-stderr.log"
    setup.taps.append((stdout_copy, stderr_file))
    initialize = {
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    bad_ids: list[Any] = [None, 1.5, 2.0, {"a": 1}, [1], True, False]
    lines = [initialize, {"jsonrpc": "2.0", "method": "notifications/initialized"}]
    lines += [{"jsonrpc": "2.0", "id": bad, "method": "ping"} for bad in bad_ids]
    lines += [{"jsonrpc": "2.0", "id": None, "method": "tools/list"}, {"jsonrpc": "2.0", "id": "last", "method": "ping"}]
    # stdin stays open until the last answer is in: at EOF the SDK cancels requests still in
    # flight (the client has gone), so closing it at once would race the answer to "last".
    process = subprocess.Popen(
        [sys.executable, str(TAP), str(stdout_copy), str(stderr_file), "--", sys.executable, "-m", "local_mcp"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=setup.env,
    )
    assert process.stdin is not None and process.stdout is not None
    replies: list[dict[str, Any]] = []
    import threading

    watchdog = threading.Timer(60, process.kill)  # a server that neither answers nor exits fails the test
    watchdog.start()
    try:
        process.stdin.write(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
        process.stdin.flush()
        for raw in process.stdout:  # ends at EOF if the server dies; the asserts below then say what is missing
            if raw.strip():
                replies.append(json.loads(raw))
                if replies[-1].get("id") == "last":
                    break
    finally:
        watchdog.cancel()
        process.stdin.close()
        process.wait(timeout=60)
    errors = [r for r in replies if "error" in r]
    assert len(errors) == len(bad_ids) + 1, replies  # one answer per bad request, none dropped
    assert all(r["id"] is None and r["error"]["code"] == -32600 and "string or an integer" in r["error"]["message"]
               for r in errors), errors
    assert "decimal point" in errors[1]["error"]["message"] and "an object" in errors[3]["error"]["message"]
    assert replies[-1] == {"jsonrpc": "2.0", "id": "last", "result": {}}  # and it keeps serving, in order
