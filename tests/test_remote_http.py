"""Remote mode, inbound: the real verifier and HTTP app in-process, tokens signed with the emulator's key.

Each refusal must come with the status and `WWW-Authenticate` challenge an MCP client acts on.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

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
        monkeypatch.setenv("REQUESTS_CA_BUNDLE", emulator.ca_bundle)  # MSAL (requests), for the OBO calls
        yield emulator


@pytest.fixture
def api(emu: Emulator) -> ApiRegistration:
    return emu.identity.obo.register_api(API_CLIENT_ID, SERVER_URL, secret="test-secret")


@asynccontextmanager
async def serving(emu: Emulator, **changes: object) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan running, and an httpx client on it (in one task: anyio needs that)."""
    settings = remote_settings(emu, **changes)
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


async def test_a_request_body_over_the_limit_gets_413(emu: Emulator, api: ApiRegistration) -> None:
    from local_mcp.remote.settings import MAX_REQUEST_BODY_BYTES

    async with serving(emu) as http:
        big = {**INITIALIZE, "params": {**INITIALIZE["params"], "padding": "x" * MAX_REQUEST_BODY_BYTES}}
        response = await http.post("/mcp", json=big, headers={**HEADERS, "Authorization": f"Bearer {api.user_token()}"})
        assert response.status_code == 413
        assert (await post(http, api.user_token())).status_code == 200  # the server goes on serving


async def test_a_foreign_origin_is_refused(emu: Emulator, api: ApiRegistration) -> None:
    """DNS rebinding: a web page elsewhere must not drive the server through the user's browser."""
    async with serving(emu) as http:
        auth = {"Authorization": f"Bearer {api.user_token()}"}
        refused = await http.post("/mcp", json=INITIALIZE, headers={**HEADERS, **auth, "Origin": "https://evil.example"})
        assert refused.status_code == 403
        allowed = await http.post("/mcp", json=INITIALIZE, headers={**HEADERS, **auth, "Origin": "http://127.0.0.1:8000"})
        assert allowed.status_code == 200, allowed.text


@pytest.mark.parametrize("case", ["hs256", "not_yet_valid", "no_oid"])
async def test_more_bad_tokens_get_401(emu: Emulator, api: ApiRegistration, case: str) -> None:
    import time

    import jwt

    async with serving(emu) as http:
        if case == "hs256":  # the public key's bytes as an HMAC secret: the classic algorithm confusion
            claims = jwt.decode(api.user_token(), options={"verify_signature": False})
            token = jwt.encode(claims, "a-shared-secret-of-enough-length-32b", algorithm="HS256",
                               headers={"kid": jwt.get_unverified_header(api.user_token())["kid"]})
        elif case == "not_yet_valid":
            token = api.user_token(nbf=int(time.time()) + 3600)
        else:
            token = api.user_token(oid=None)
        response = await post(http, token)
        assert response.status_code == 401, response.text
        assert 'error="invalid_token"' in challenge(response)


async def call_whoami(http: httpx.AsyncClient, token: str) -> dict:
    call = {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": "whoami", "arguments": {}}}
    response = await http.post("/mcp", json=call, headers={**HEADERS, "MCP-Protocol-Version": "2025-11-25",
                                                           "Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.text
    return response.json()["result"]


def self_signed_pem(tmp_path: Path) -> tuple[Path, bytes]:
    """A PEM file with a certificate and its private key (LOCAL_MCP_CLIENT_CERTIFICATE), and the certificate alone."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "local-mcp test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
                   .not_valid_after(now + datetime.timedelta(days=30)).sign(key, hashes.SHA256()))
    cert_pem = certificate.public_bytes(serialization.Encoding.PEM)
    key_pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    path = tmp_path / "server.pem"
    path.write_bytes(cert_pem + key_pem)
    return path, cert_pem


@pytest.mark.parametrize("credential", ["certificate", "secret_file"])
async def test_obo_with_a_certificate_or_a_secret_file(emu: Emulator, tmp_path: Path, credential: str) -> None:
    if credential == "certificate":
        path, cert_pem = self_signed_pem(tmp_path)
        emu.identity.obo.register_api(API_CLIENT_ID, SERVER_URL, certificate_pem=cert_pem)
        settings = remote_settings(emu, client_secret="", client_certificate=path)
    else:
        path = tmp_path / "secret.txt"
        path.write_text("file-secret\n", encoding="utf-8")
        emu.identity.obo.register_api(API_CLIENT_ID, SERVER_URL, secret="file-secret")
        settings = remote_settings(emu, client_secret="", client_secret_file=path)
    api = emu.identity.obo.apis[API_CLIENT_ID]
    app = build_http_app(settings, create_server(settings))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as http:
            result = await call_whoami(http, api.user_token())
    assert not result.get("isError"), result
    assert "adele@contoso.example" in json.dumps(result)
    assert emu.counts["token.obo"] == 1


async def test_organizations_accepts_only_the_allowed_tenants(emu: Emulator, api: ApiRegistration) -> None:
    settings = remote_settings(emu, tenant_id="organizations", allowed_tenants=(emu.user.tid,))
    stranger = EmulatorUser(name="Mallory", email="m@fabrikam.example", oid=str(uuid.uuid4()), tid=str(uuid.uuid4()))
    app = build_http_app(settings, create_server(settings))
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8000") as http:
            assert (await post(http, api.user_token())).status_code == 200
            assert (await post(http, api.user_token(stranger))).status_code == 401


async def test_an_unreachable_authority_is_named_not_blamed_on_a_file(emu: Emulator, api: ApiRegistration,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REQUESTS_CA_BUNDLE")  # MSAL cannot verify the emulator's TLS certificate
    async with serving(emu) as http:
        result = await call_whoami(http, api.user_token())
    text = json.dumps(result)
    assert result.get("isError") and "Could not reach the identity provider" in text and "SSLError" in text
    assert "file operation" not in text


def test_serve_flags_and_their_defaults(emu: Emulator) -> None:
    from local_mcp.cli import _overrides, build_parser

    defaults = Settings.load({})
    assert (defaults.transport, defaults.host, defaults.port) == ("stdio", "127.0.0.1", 8000)
    args = build_parser().parse_args([
        "serve", "--transport", "http", "--host", "0.0.0.0", "--port", "9001",
        "--server-url", "https://mcp.contoso.example/mcp/",
    ])
    env = {"LOCAL_MCP_CLIENT_ID": API_CLIENT_ID, "LOCAL_MCP_CLIENT_SECRET": "s", "LOCAL_MCP_TENANT_ID": emu.user.tid}
    settings = Settings.load(env, overrides=_overrides(args))
    assert (settings.transport, settings.host, settings.port) == ("http", "0.0.0.0", 9001)
    assert settings.server_url == "https://mcp.contoso.example/mcp"
    assert settings.required_scopes == ("user_impersonation",)
    from_env = Settings.load({**env, "LOCAL_MCP_TRANSPORT": "http", "LOCAL_MCP_SERVER_URL": SERVER_URL})
    assert (from_env.transport, from_env.host, from_env.port) == ("http", "127.0.0.1", 8000)


async def test_with_sessions_every_request_still_passes_auth_host_origin_and_size_checks(
    emu: Emulator, api: ApiRegistration,
) -> None:
    """LOCAL_MCP_HTTP_SESSIONS changes the transport, not the checks in front of it."""
    from local_mcp.remote.settings import MAX_REQUEST_BODY_BYTES

    async with serving(emu, http_sessions=True) as http:
        auth = {"Authorization": f"Bearer {api.user_token()}"}
        opened = await http.post("/mcp", json=INITIALIZE, headers={**HEADERS, **auth})
        assert opened.status_code == 200 and opened.headers["content-type"].startswith("text/event-stream")
        session = {"Mcp-Session-Id": opened.headers["mcp-session-id"], "MCP-Protocol-Version": "2025-11-25"}
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        for headers, status in [
            ({}, 401),
            ({"Authorization": f"Bearer {api.user_token(scopes=('Files.Read',))}"}, 403),
            ({**auth, "Host": "evil.example"}, 421),
            ({**auth, "Origin": "https://evil.example"}, 403),
        ]:
            response = await http.post("/mcp", json=ping, headers={**HEADERS, **session, **headers})
            assert response.status_code == status, (headers, response.text)
        big = {**ping, "params": {"padding": "x" * MAX_REQUEST_BODY_BYTES}}
        assert (await http.post("/mcp", json=big, headers={**HEADERS, **session, **auth})).status_code == 413
        assert (await http.get("/mcp", headers={"Accept": "text/event-stream", **session})).status_code == 401
        assert (await http.delete("/mcp", headers=session)).status_code == 401
        served = await http.post("/mcp", json=ping, headers={**HEADERS, **session, **auth})
        assert served.status_code == 200, served.text


def test_sessions_with_redis_warn_once_at_start(emu: Emulator, caplog: pytest.LogCaptureFixture) -> None:
    key = "k" * 32
    with caplog.at_level("WARNING", logger="local_mcp.remote.http_app"):
        settings = remote_settings(emu, redis_url="redis://127.0.0.1:6379/0", cache_key=key)
        build_http_app(settings, create_server(settings))
        assert not caplog.records  # stateless: nothing to say
        settings = remote_settings(emu, redis_url="redis://127.0.0.1:6379/0", cache_key=key, http_sessions=True)
        build_http_app(settings, create_server(settings))
    assert len(caplog.records) == 1
    message = caplog.records[0].getMessage()
    assert "LOCAL_MCP_HTTP_SESSIONS" in message and "sticky" in message and "Mcp-Session-Id" in message
    assert "\n" not in message
