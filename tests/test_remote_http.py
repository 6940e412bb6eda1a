"""Remote mode, inbound: the real verifier and HTTP app in-process, tokens signed with the emulator's key.

Each refusal must come with the status and `WWW-Authenticate` challenge an MCP client acts on.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import httpx
import pytest

from local_mcp.config import Settings
from local_mcp.errors import ConfigError
from local_mcp.remote import verifier as verifier_module
from local_mcp.remote.http_app import build_http_app
from local_mcp.server import create_server
from tests.emulator import Emulator, EmulatorUser
from tests.emulator.obo import ApiRegistration
from tests.emulator.tokens import SigningKey

API_CLIENT_ID = "3f0c8a57-2d4b-4c8e-9a1f-6b7e5d4c3b2a"
SERVER_URL = "http://127.0.0.1:8000/mcp"
INITIALIZE = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
    "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}}
HEADERS = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}


def remote_settings(emu: Emulator, **changes: object) -> Settings:
    values: dict[str, object] = dict(
        client_id=API_CLIENT_ID, tenant_id=emu.user.tid, authority=emu.authority, graph_url=emu.graph_url,
        transport="http", server_url=SERVER_URL, client_secret="test-secret",
    )
    values.update(changes)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
def emu(monkeypatch: pytest.MonkeyPatch) -> Iterator[Emulator]:
    with Emulator() as emulator:
        monkeypatch.setenv("SSL_CERT_FILE", emulator.ca_bundle)
        yield emulator


@pytest.fixture
def api(emu: Emulator) -> ApiRegistration:
    return emu.identity.obo.register_api(API_CLIENT_ID, SERVER_URL, secret="test-secret")


@asynccontextmanager
async def serving(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, and an httpx client on it (in one task: anyio needs that)."""
    settings = remote_settings(emu)
    app = build_http_app(settings, create_server(settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as client:
            yield client


async def post(http: httpx.AsyncClient, token: str | None) -> httpx.Response:
    headers = dict(HEADERS)
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return await http.post("/mcp", json=INITIALIZE, headers=headers)


def challenge(response: httpx.Response) -> str:
    return response.headers.get("www-authenticate", "")


async def test_no_token_gets_401_with_metadata_and_scope(emu: Emulator) -> None:
    async with serving(emu) as http:
        response = await post(http, None)
        assert response.status_code == 401
        value = challenge(response)
        assert value.startswith("Bearer ")
        assert 'resource_metadata="http://127.0.0.1:8000/.well-known/oauth-protected-resource/mcp"' in value
        assert f'scope="{SERVER_URL}/user_impersonation"' in value
        assert "error=" not in value


async def test_valid_v2_token_is_served(emu: Emulator, api: ApiRegistration) -> None:
    async with serving(emu) as http:
        response = await post(http, api.user_token())
        assert response.status_code == 200, response.text
        assert response.json()["result"]["serverInfo"]["name"] == "local-mcp"


async def test_v1_style_audience_app_id_uri_is_accepted(emu: Emulator, api: ApiRegistration) -> None:
    async with serving(emu) as http:
        response = await post(http, api.user_token(audience=SERVER_URL))
        assert response.status_code == 200, response.text


@pytest.mark.parametrize("case", ["expired", "other_tenant", "wrong_audience", "id_token", "app_only", "v1_issuer",
                                  "garbage"])
async def test_bad_tokens_get_401_invalid_token(api: ApiRegistration, emu: Emulator,
                                                case: str) -> None:
    async with serving(emu) as http:
        other = EmulatorUser(name="Mallory", email="m@fabrikam.example", oid=str(uuid.uuid4()), tid=str(uuid.uuid4()))
        token = {
            "expired": lambda: api.user_token(lifetime=-600),
            "other_tenant": lambda: api.user_token(other),
            "wrong_audience": lambda: api.user_token(audience="00000003-0000-0000-c000-000000000000"),
            "id_token": lambda: api.user_token(id_token=True),
            "app_only": lambda: api.user_token(id_token=True, roles=["Mail.Read"], idtyp="app"),
            "v1_issuer": lambda: api.user_token(issuer=f"https://sts.windows.net/{emu.user.tid}/"),
            "garbage": lambda: "not-a-jwt",
        }[case]()
        response = await post(http, token)
        assert response.status_code == 401, response.text
        assert 'error="invalid_token"' in challenge(response)
        assert "resource_metadata=" in challenge(response)


async def test_token_without_the_scope_gets_403(emu: Emulator, api: ApiRegistration) -> None:
    async with serving(emu) as http:
        response = await post(http, api.user_token(scopes=("Files.Read",)))
        assert response.status_code == 403
        assert 'error="insufficient_scope"' in challenge(response)
        assert f'scope="{SERVER_URL}/user_impersonation"' in challenge(response)


async def test_token_signed_by_another_key_is_refused(api: ApiRegistration,
                                                       emu: Emulator) -> None:
    async with serving(emu) as http:
        real, emu.key = emu.key, SigningKey()
        forged = api.user_token()
        emu.key = real
        response = await post(http, forged)
        assert response.status_code == 401


async def test_unknown_kid_refetches_the_keys_once(api: ApiRegistration, emu: Emulator,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    async with serving(emu) as http:
        monkeypatch.setattr(verifier_module, "JWKS_REFRESH_COOLDOWN_SECONDS", 0.0)
        assert (await post(http, api.user_token())).status_code == 200
        assert (await post(http, api.user_token())).status_code == 200
        assert emu.counts["jwks"] == 1  # cached
        emu.key = SigningKey()  # the tenant rolled its signing key
        assert (await post(http, api.user_token())).status_code == 200
        assert emu.counts["jwks"] == 2


async def test_protected_resource_metadata_on_both_paths(emu: Emulator) -> None:
    async with serving(emu) as http:
        for path in ("/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"):
            response = await http.get(path)
            assert response.status_code == 200
            body = response.json()
            assert body["resource"] == SERVER_URL
            assert body["authorization_servers"] == [emu.issuer]
            assert body["scopes_supported"] == [f"{SERVER_URL}/user_impersonation"]
            assert body["bearer_methods_supported"] == ["header"]


async def test_health_and_host_check(emu: Emulator, api: ApiRegistration) -> None:
    async with serving(emu) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        response = await http.post("/mcp", json=INITIALIZE, headers={**HEADERS, "Host": "evil.example",
                                                                      "Authorization": f"Bearer {api.user_token()}"})
        assert response.status_code == 421


async def test_sign_in_tools_are_not_listed_in_http_mode(emu: Emulator) -> None:
    names = {tool.name for tool in await create_server(remote_settings(emu)).list_tools()}
    assert "whoami" in names
    assert not names & {"sign_in", "sign_out", "auth_status"}


@pytest.mark.parametrize(("changes", "fragment"), [
    ({"server_url": ""}, "LOCAL_MCP_SERVER_URL"),
    ({"server_url": "http://mcp.contoso.com/mcp"}, "https"),
    ({"client_secret": ""}, "exactly one credential"),
    ({"client_id": "14d82eec-204b-4c2f-b7e8-296a70dab67e"}, "own app registration"),
    ({"tenant_id": "organizations"}, "LOCAL_MCP_ALLOWED_TENANTS"),
    ({"redis_url": "redis://127.0.0.1:6379/0"}, "LOCAL_MCP_CACHE_KEY"),
])
def test_remote_settings_are_checked(emu: Emulator, changes: dict[str, object], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        remote_settings(emu, **changes)


def test_stdio_settings_do_not_need_remote_values() -> None:
    settings = Settings.load({"LOCAL_MCP_TRANSPORT": "stdio", "LOCAL_MCP_PORT": "9000"})
    assert settings.transport == "stdio" and settings.port == 9000
