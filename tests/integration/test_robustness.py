"""Bad input and failures get clear errors, and the server keeps serving."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.integration.conftest import TAP, ServerSetup

pytestmark = pytest.mark.integration


def text_of(result) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def test_malformed_json_rpc_gets_an_error_and_the_server_keeps_serving(setup: ServerSetup):
    stdout_copy, stderr_file = setup.root / "raw-stdout.bin", setup.root / "raw-stderr.log"
    setup.taps.append((stdout_copy, stderr_file))
    initialize = {
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}},
    }
    lines = [b"this is not json\n", b'{"jsonrpc": "2.0", "id": 7, "method": 42}\n', json.dumps(initialize).encode() + b"\n"]
    done = subprocess.run(
        [sys.executable, str(TAP), str(stdout_copy), str(stderr_file), "--", sys.executable, "-m", "local_mcp"],
        input=b"".join(lines), capture_output=True, env=setup.env, timeout=60,
    )
    replies = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assert any(r.get("id") == 1 and "result" in r for r in replies), replies
    errors = {(r.get("id"), r["error"]["code"]) for r in replies if "error" in r}
    assert (None, -32700) in errors  # parse error for the non-JSON line
    assert (7, -32600) in errors  # invalid request, answered with its id so the client stops waiting


async def test_corrupt_cache_is_set_aside_and_the_user_signs_in_again(setup: ServerSetup):
    setup.cache_dir.mkdir(parents=True)
    (setup.cache_dir / "token_cache.bin").write_text("{ this is not a token cache")
    async with setup.client() as client:
        result = await client.call_tool("whoami", {})
    assert not result.is_error, text_of(result)
    aside = [p for p in setup.cache_dir.iterdir() if ".corrupt-" in p.name]
    assert len(aside) == 1 and aside[0].read_text() == "{ this is not a token cache"
    assert setup.emulator.counts["authorize"] == 1
    assert "corrupt" in setup.stderr_text()


async def test_declined_sign_in_is_a_clear_error_and_a_retry_works(setup: ServerSetup):
    setup.emulator.deny_next_authorize()
    async with setup.client() as client:
        first = await client.call_tool("whoami", {})
        assert first.is_error
        assert "access_denied" in text_of(first) and "sign_in" in text_of(first)
        second = await client.call_tool("whoami", {})
    assert not second.is_error, text_of(second)


async def test_sign_in_that_never_completes_times_out_clearly(setup: ServerSetup):
    # A "browser" that opens nothing: the loopback listener waits until the timeout.
    async with setup.client(BROWSER="/bin/true %s", LOCAL_MCP_SIGN_IN_TIMEOUT="10") as client:
        result = await client.call_tool("whoami", {})
        assert result.is_error
        assert "not completed in time" in text_of(result)
        status = await client.call_tool("auth_status", {})
    assert not status.is_error


def test_server_exits_when_stdin_closes_during_a_sign_in(setup: ServerSetup):
    """A client that goes away (closes stdin) mid sign-in must not leave the server running."""
    import time

    env = {**setup.env, "BROWSER": "/bin/true %s", "LOCAL_MCP_SIGN_IN_TIMEOUT": "60"}  # never completes
    stdout_copy, stderr_file = setup.root / "exit-stdout.bin", setup.root / "exit-stderr.log"
    setup.taps.append((stdout_copy, stderr_file))
    server = subprocess.Popen(
        [sys.executable, "-m", "local_mcp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=open(stderr_file, "wb"), env=env,
    )
    messages = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize",
         "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}},
    ]
    try:
        for message in messages:
            server.stdin.write(json.dumps(message).encode() + b"\n")
        server.stdin.flush()
        server.stdout.readline()  # the initialize answer
        deadline = time.monotonic() + 20  # wait until MSAL is built and the sign-in is waiting
        while not (setup.cache_dir / "msal_http_cache.json").exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.0)
        started = time.monotonic()
        server.stdin.close()
        server.wait(timeout=15)
        assert time.monotonic() - started < 10, "the server waited for the abandoned sign-in"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        stdout_copy.write_bytes(server.stdout.read() if server.stdout else b"")
