"""Remote mode end to end: `local-mcp serve --transport http` as a real process, the SDK's
Streamable HTTP client with bearer tokens, Graph on behalf of each user through the emulator."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.emulator import Emulator, EmulatorUser
from tests.emulator.obo import ApiRegistration
from tests.integration.conftest import base_env

pytestmark = pytest.mark.integration

API_CLIENT_ID = "3f0c8a57-2d4b-4c8e-9a1f-6b7e5d4c3b2a"
SECRET = "remote-test-secret"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(emu: Emulator, root: Path, port: int, **extra: str) -> subprocess.Popen[bytes]:
    env = base_env(emu, root)
    env.update({
        "LOCAL_MCP_TRANSPORT": "http", "LOCAL_MCP_PORT": str(port), "LOCAL_MCP_CLIENT_ID": API_CLIENT_ID,
        "LOCAL_MCP_TENANT_ID": emu.user.tid, "LOCAL_MCP_SERVER_URL": f"http://127.0.0.1:{port}/mcp",
        "LOCAL_MCP_CLIENT_SECRET": SECRET, **extra,
    })
    log = open(root / f"server-{port}.log", "wb")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen([sys.executable, "-m", "local_mcp", "serve"], env=env, stdout=log, stderr=log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            pass
        if process.poll() is not None:
            break
        time.sleep(0.2)
    process.kill()
    raise AssertionError((root / f"server-{port}.log").read_text(errors="replace"))


@pytest.fixture
def remote(tmp_path: Path) -> Iterator[tuple[Emulator, ApiRegistration, int, Path]]:
    with Emulator() as emu:
        port = free_port()
        api = emu.identity.obo.register_api(API_CLIENT_ID, f"http://127.0.0.1:{port}/mcp", secret=SECRET)
        process = start_server(emu, tmp_path, port)
        try:
            yield emu, api, port, tmp_path
        finally:
            process.terminate()
            process.wait(10)


async def whoami(port: int, token: str) -> tuple[bool, str]:
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=60)
    async with http, Client(streamable_http_client(f"http://127.0.0.1:{port}/mcp", http_client=http)) as client:
        result = await client.call_tool("whoami", {})
        text = " ".join(getattr(block, "text", "") for block in result.content)
        return bool(result.is_error), text


async def test_two_users_at_once_each_get_their_own_data(remote: tuple[Emulator, ApiRegistration, int, Path]) -> None:
    emu, api, port, root = remote
    grace = EmulatorUser(name="Grace Hopper", email="grace@contoso.example", oid=str(uuid.uuid4()), tid=emu.user.tid)
    tokens = {"adele": api.user_token(), "grace": api.user_token(grace)}
    answers: dict[str, tuple[bool, str]] = {}

    async def ask(name: str) -> None:
        answers[name] = await whoami(port, tokens[name])

    async with anyio.create_task_group() as tg:
        for name in tokens:
            tg.start_soon(ask, name)
    assert not answers["adele"][0] and "adele@contoso.example" in answers["adele"][1]
    assert not answers["grace"][0] and "grace@contoso.example" in answers["grace"][1]
    assert "grace@" not in answers["adele"][1] and "adele@" not in answers["grace"][1]
    # The inbound tokens went to Entra as OBO assertions, never to Graph.
    import hashlib

    inbound = {hashlib.sha256(t.encode()).hexdigest() for t in tokens.values()}
    assert inbound <= set(emu.identity.obo.assertions_seen)
    assert not inbound & set(emu.identity.obo.graph_tokens_seen)
    assert emu.counts["token.obo"] == 2
    # A second call of one user is served from the per-user cache: no new OBO request.
    assert not (await whoami(port, tokens["adele"]))[0]
    assert emu.counts["token.obo"] == 2
    log = (root / f"server-{port}.log").read_text(errors="replace")
    assert f"user={emu.user.oid} tool=whoami status=ok" in log
    assert tokens["adele"] not in log and SECRET not in log


async def test_missing_consent_and_claims_challenge_are_clear_tool_errors(
    remote: tuple[Emulator, ApiRegistration, int, Path],
) -> None:
    emu, api, port, root = remote
    api.unconsented.add("user.read")
    failed, text = await whoami(port, api.user_token())
    assert failed and "AADSTS65001" in text and "/v2.0/adminconsent?client_id=" in text
    api.unconsented.clear()
    api.claims_challenge_next = 1
    failed, text = await whoami(port, api.user_token())
    assert failed and "Conditional Access" in text and "Sign in again in your MCP client" in text
    log = (root / f"server-{port}.log").read_text(errors="replace")
    audit = [line for line in log.splitlines() if " tool=whoami " in line]
    assert len(audit) == 2  # one line per tool call
    for line in audit:
        assert re.search(rf"audit tenant={emu.user.tid} user={emu.user.oid} tool=whoami status=error duration_ms=\d+$", line), line


async def test_unauthenticated_request_gets_the_challenge(remote: tuple[Emulator, ApiRegistration, int, Path]) -> None:
    _, _, port, _ = remote
    response = httpx.post(f"http://127.0.0.1:{port}/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                          headers={"Accept": "application/json, text/event-stream"})
    assert response.status_code == 401
    assert f'resource_metadata="http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp"' in \
        response.headers["www-authenticate"]


async def test_each_bad_token_gets_its_status_and_challenge_over_real_http(
    remote: tuple[Emulator, ApiRegistration, int, Path],
) -> None:
    emu, api, port, root = remote
    url = f"http://127.0.0.1:{port}/mcp"
    other_tenant = EmulatorUser(name="Mallory", email="m@fabrikam.example", oid=str(uuid.uuid4()), tid=str(uuid.uuid4()))
    cases = {
        "none": (None, 401, None),
        "expired": (api.user_token(lifetime=-600), 401, "invalid_token"),
        "other tenant": (api.user_token(other_tenant), 401, "invalid_token"),
        "wrong audience": (api.user_token(audience="00000003-0000-0000-c000-000000000000"), 401, "invalid_token"),
        "ID token": (api.user_token(id_token=True), 401, "invalid_token"),
        "app-only": (api.user_token(id_token=True, roles=["Mail.Read"], idtyp="app"), 401, "invalid_token"),
        "no scope": (api.user_token(scopes=("Files.Read",)), 403, "insufficient_scope"),
    }
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    for name, (token, status, error) in cases.items():
        headers = {"Accept": "application/json, text/event-stream"}
        if token is not None:
            headers["Authorization"] = f"Bearer {token}"
        response = httpx.post(url, json=ping, headers=headers)
        challenge = response.headers.get("www-authenticate", "")
        assert response.status_code == status, name
        assert challenge.startswith("Bearer "), name
        assert f'resource_metadata="http://127.0.0.1:{port}/.well-known/oauth-protected-resource/mcp"' in challenge, name
        assert f'scope="{url}/user_impersonation"' in challenge, name
        assert (f'error="{error}"' in challenge) if error else ("error=" not in challenge), name
    assert emu.counts["token.obo"] == 0  # nothing refused reached Entra ID as an assertion
    log = (root / f"server-{port}.log").read_text(errors="replace")
    assert all(token not in log for token, _, _ in cases.values() if token)


async def test_a_client_signs_in_with_entra_for_the_servers_scope_then_calls_it(
    remote: tuple[Emulator, ApiRegistration, int, Path], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """As VS Code does: a public client asks Entra ID for `<server url>/user_impersonation` (device code here)."""
    import jwt
    import msal

    emu, api, port, _ = remote
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", emu.ca_bundle)
    client = msal.PublicClientApplication("aebc6443-996d-45c2-90f0-388ff96faa56", authority=emu.authority,
                                          instance_discovery=False)
    flow = client.initiate_device_flow([f"http://127.0.0.1:{port}/mcp/user_impersonation"])
    emu.approve_device_code(flow["user_code"])
    result = client.acquire_token_by_device_flow(flow)
    token = result["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["aud"] == API_CLIENT_ID and claims["scp"] == "user_impersonation"  # a v2 token for the API
    failed, text = await whoami(port, token)
    assert not failed and "adele@contoso.example" in text, text
