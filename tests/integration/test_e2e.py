"""The real `local-mcp` process, the real MSAL, over stdio, against the local Entra ID + Graph emulator."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import anyio
import pytest
from mcp_types import ElicitResult

from tests.integration.conftest import USER, ServerSetup

pytestmark = pytest.mark.integration

GREETING = f"Hello, {USER.name} ({USER.email})"


def text_of(result) -> str:
    return " ".join(getattr(block, "text", "") for block in result.content)


def sign_ins(emu) -> int:
    return emu.counts["authorize"]


def token_calls(emu) -> int:
    return emu.counts["token"]


def secrets_issued(emu) -> list[str]:
    """Refresh tokens the emulator handed out (access tokens are JWTs: checked by their 'eyJ' prefix)."""
    return list(emu.refresh_tokens)


@pytest.mark.parametrize("mode", ["auto", "legacy"])  # 2026-07-28 discovery, and the initialize handshake
async def test_first_whoami_signs_in_once_in_the_browser(setup: ServerSetup, mode: str):
    emu = setup.emulator
    async with setup.client(mode=mode) as client:
        result = await client.call_tool("whoami", {})
    assert not result.is_error, text_of(result)
    assert result.structured_content["greeting"] == GREETING
    assert result.structured_content["email"] == USER.email
    assert sign_ins(emu) == 1
    assert emu.counts["token.authorization_code"] == 1
    assert emu.counts["graph GET /me"] == 1


async def test_cached_token_needs_no_authority_call_in_this_or_a_new_process(setup: ServerSetup):
    emu = setup.emulator
    async with setup.client() as client:
        assert not (await client.call_tool("whoami", {})).is_error
        emu.reset_counts()
        again = await client.call_tool("whoami", {})
    assert not again.is_error
    assert (sign_ins(emu), token_calls(emu)) == (0, 0)

    emu.reset_counts()
    async with setup.client() as client:  # a second process on the same cache dir
        result = await client.call_tool("whoami", {})
    assert result.structured_content["greeting"] == GREETING
    assert (sign_ins(emu), token_calls(emu)) == (0, 0)
    # MSAL's http_cache is persisted: not even the OpenID configuration is fetched again.
    assert emu.counts["openid_configuration"] == 0


async def test_expired_token_is_refreshed_once_and_a_revoked_refresh_token_means_a_new_sign_in(setup: ServerSetup):
    emu = setup.emulator
    emu.token_lifetime = 120  # MSAL treats under 5 minutes left as expired
    async with setup.client() as client:
        assert not (await client.call_tool("whoami", {})).is_error
        assert sign_ins(emu) == 1
        emu.reset_counts()
        assert not (await client.call_tool("whoami", {})).is_error
        assert emu.counts["token.refresh_token"] == 1
        assert sign_ins(emu) == 0

        emu.revoke_refresh_tokens()
        emu.reset_counts()
        result = await client.call_tool("whoami", {})
    assert not result.is_error, text_of(result)
    assert emu.counts["token.refresh_token"] == 1  # refused with invalid_grant
    assert sign_ins(emu) == 1 and emu.counts["token.authorization_code"] == 1


async def test_sign_out_then_whoami_signs_in_again_and_status_has_no_token(setup: ServerSetup):
    emu = setup.emulator
    async with setup.client() as client:
        await client.call_tool("whoami", {})
        status = await client.call_tool("auth_status", {})
        data = status.structured_content
        assert data["signed_in"] is True and data["username"] == USER.email
        assert data["cache"] == {
            "backend": "plaintext",
            "location": f"file {setup.cache_dir / 'token_cache.bin'}",
            "path": str(setup.cache_dir / "token_cache.bin"),
            "encrypted": False,
            "problem": None,
            "notice": None,
        }
        assert data["granted_scopes"] == {emu.graph_resource: ["User.Read"]}
        rendered = json.dumps(data) + text_of(status)
        assert "eyJ" not in rendered
        for secret in secrets_issued(emu):
            assert secret not in rendered

        out = await client.call_tool("sign_out", {})
        assert out.structured_content["signed_out"] is True
        after = (await client.call_tool("auth_status", {})).structured_content
        assert after["signed_in"] is False

        emu.reset_counts()
        again = await client.call_tool("whoami", {})
    assert not again.is_error
    assert sign_ins(emu) == 1
    assert "eyJ" not in setup.stderr_text()  # no token in any log line either


def _code_from(message: str) -> str:
    match = re.search(r"code ([A-Z0-9-]{6,})", message)
    assert match, message
    return match.group(1)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_device_code_reaches_the_client_by_url_elicitation(setup: ServerSetup, mode: str):
    emu = setup.emulator
    seen = []

    async def user_signs_in(context, params):
        seen.append(params)
        emu.approve_device_code(_code_from(params.message))
        return ElicitResult(action="accept")

    async with setup.client(mode=mode, elicitation_callback=user_signs_in, LOCAL_MCP_AUTH_MODE="device_code") as client:
        result = await client.call_tool("whoami", {})
    assert not result.is_error, text_of(result)
    assert result.structured_content["greeting"] == GREETING
    assert len(seen) == 1 and seen[0].mode == "url" and seen[0].url.startswith(emu.base_url)
    assert emu.counts["devicecode"] == 1 and emu.counts["token.device_code"] >= 1
    assert sign_ins(emu) == 0


async def test_device_code_without_elicitation_is_a_result_then_completes_in_background(setup: ServerSetup):
    emu = setup.emulator
    async with setup.client(LOCAL_MCP_AUTH_MODE="device_code") as client:
        first = await client.call_tool("whoami", {})
        assert first.is_error
        message = text_of(first)
        assert "call the tool again" in message
        emu.approve_device_code(_code_from(message))  # the user signs in elsewhere
        for _ in range(20):
            await anyio.sleep(0.25)
            if emu.counts["token.device_code"] and not (await client.call_tool("auth_status", {})).structured_content["sign_in_pending_at"]:
                break
        second = await client.call_tool("whoami", {})
    assert not second.is_error, text_of(second)
    assert emu.counts["devicecode"] == 1


async def test_ten_concurrent_calls_share_one_sign_in(setup: ServerSetup):
    emu = setup.emulator
    results = []
    async with setup.client() as client:

        async def call() -> None:
            results.append(await client.call_tool("whoami", {}))

        async with anyio.create_task_group() as group:
            for _ in range(10):
                group.start_soon(call)
    assert all(not r.is_error for r in results), [text_of(r) for r in results if r.is_error]
    assert len(results) == 10
    assert sign_ins(emu) == 1
    assert emu.counts["token.authorization_code"] == 1


async def test_no_encryption_and_no_opt_in_is_a_clear_error_and_writes_nothing(setup: ServerSetup):
    env = {"LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE": "0"}
    async with setup.client(**env) as client:  # no keyring reachable: no D-Bus session in this env
        result = await client.call_tool("whoami", {})
        assert result.is_error
        message = text_of(result)
        assert "cannot be encrypted" in message and "LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE=1" in message
        status = await client.call_tool("auth_status", {})  # the server keeps serving
        assert not status.is_error and status.structured_content["cache"]["problem"]
    assert not (setup.cache_dir / "token_cache.bin").exists()
    assert setup.emulator.counts["token"] == 0


async def test_opt_in_plaintext_cache_is_mode_0600(setup: ServerSetup):
    async with setup.client() as client:
        assert not (await client.call_tool("whoami", {})).is_error
    path = setup.cache_dir / "token_cache.bin"
    assert path.exists()
    if os.name == "posix":
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE((setup.cache_dir / "account.json").stat().st_mode) == 0o600
    assert "NOT encrypted" in setup.stderr_text()


async def test_a_browser_that_writes_to_stdout_cannot_corrupt_the_protocol(setup: ServerSetup, tmp_path: Path):
    noisy = tmp_path / "noisy-browser"
    launch = setup.emulator.browser_command.replace("%s", '"$1"')
    noisy.write_text("#!/bin/sh\necho 'NOISE FROM THE BROWSER LAUNCHER'\nexec " + launch + "\n")
    noisy.chmod(0o755)
    async with setup.client(BROWSER=f"{noisy} %s") as client:
        result = await client.call_tool("whoami", {})
    assert not result.is_error, text_of(result)
    # the fixture's teardown checks that the noise never reached stdout


async def test_bad_arguments_and_graph_errors_keep_the_server_serving(setup: ServerSetup):
    emu = setup.emulator
    async with setup.client() as client:
        bad = await client.call_tool("sign_in", {"scopes": 42})
        assert bad.is_error
        await client.call_tool("whoami", {})
        emu.inject("graph", status=500)
        failed = await client.call_tool("whoami", {})
        assert failed.is_error and "500 Internal Server Error" in text_of(failed)
        emu.inject("graph", status=429, retry_after=1)  # msgraph's middleware retries this one
        emu.reset_counts()
        ok = await client.call_tool("whoami", {})
    assert not ok.is_error, text_of(ok)
    assert emu.counts["graph GET /me"] == 2


async def test_cae_claims_challenge_gets_a_fresh_token_and_the_call_succeeds(setup: ServerSetup):
    emu = setup.emulator
    async with setup.client() as client:
        assert not (await client.call_tool("whoami", {})).is_error
        emu.reset_counts()
        emu.inject("graph", claims_challenge=True)  # Graph revokes the session: 401 + claims
        emu.claims_seen.clear()
        result = await client.call_tool("whoami", {})
    assert not result.is_error, text_of(result)
    assert emu.counts["token.refresh_token"] == 1
    assert any(c and '"nbf"' in c for c in emu.claims_seen)  # the challenge's claims reached the token endpoint
    assert emu.counts["graph GET /me"] == 2
    assert sign_ins(emu) == 0


async def test_identity_provider_outage_is_a_clear_error_without_a_new_sign_in(setup: ServerSetup):
    emu = setup.emulator
    emu.token_lifetime = 120  # the next call must refresh
    async with setup.client() as client:
        assert not (await client.call_tool("whoami", {})).is_error
        emu.inject("token", status=503, retry_after=1)
        emu.reset_counts()
        failed = await client.call_tool("whoami", {})
        assert failed.is_error
        assert "try again in a minute" in text_of(failed)
        assert sign_ins(emu) == 0  # an outage is not a reason to ask the user to sign in
        await anyio.sleep(1.2)  # MSAL replays the 503 for Retry-After seconds
        recovered = await client.call_tool("whoami", {})
    assert not recovered.is_error, text_of(recovered)
    assert sign_ins(emu) == 0
