"""Self-tests of tests/emulator: the real msal signs in against it, and Graph behaves.

These double as executable documentation of how a test drives the emulator.
"""

from __future__ import annotations

import base64
import json
import os
import select
import signal
import ssl
import subprocess
import sys
import threading
import time
import webbrowser
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import msal
import pytest

from tests.emulator import GRAPH_APP_ID, Emulator, EmulatorUser
from tests.emulator.server import BROWSER_SCRIPT

pytestmark = pytest.mark.integration

REPO_ROOT = Path(__file__).resolve().parent.parent
USER = EmulatorUser(name="Adele Vance", email="adele@contoso.example",
                    oid="0b7e2c4f-1d3a-4e5b-8c9d-2f1e0a3b4c5d", tid="c1a2b3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d")


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(user=USER, token_lifetime=3600, device_code_interval=1) as emulator:
        yield emulator


@pytest.fixture
def msal_env(emu: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    """Point msal's `requests`, httpx and $BROWSER at the emulator."""
    for name, value in emu.env().items():
        monkeypatch.setenv(name, value)
    # `webbrowser` reads $BROWSER once per process and caches the result;
    # make it read ours even if another test opened a "browser" already.
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    return emu


@pytest.fixture
def graph(emu: Emulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.graph_url, verify=tls(emu.ca_bundle), timeout=10) as client:
        yield client


def tls(ca_bundle: str) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_bundle)  # httpx 0.28 deprecates verify=<path>


def make_app(emu: Emulator) -> msal.PublicClientApplication:
    return msal.PublicClientApplication(emu.client_id, authority=emu.authority, instance_discovery=False)


def scopes(emu: Emulator, *names: str) -> list[str]:
    return [f"{emu.graph_resource}/{name}" for name in names]


def sign_in(app: msal.PublicClientApplication, emu: Emulator, *names: str) -> dict:
    result = app.acquire_token_interactive(scopes(emu, *(names or ("User.Read",))), timeout=30)
    assert "access_token" in result, result
    return result


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# ---- Entra ID with the real msal --------------------------------------------------------


def test_interactive_sign_in_through_headless_browser(msal_env: Emulator) -> None:
    emu = msal_env
    app = make_app(emu)
    result = sign_in(app, emu, "User.Read", "Mail.Read")

    assert result["id_token_claims"]["name"] == "Adele Vance"
    assert result["id_token_claims"]["tid"] == USER.tid
    accounts = app.get_accounts()
    assert [a["username"] for a in accounts] == ["adele@contoso.example"]
    claims = jwt.decode(result["access_token"], options={"verify_signature": False})
    assert claims["aud"] == emu.graph_resource
    assert set(claims["scp"].split()) == {"User.Read", "Mail.Read"}
    assert claims["oid"] == USER.oid
    assert emu.counts["authorize"] == 1
    assert emu.counts["token.authorization_code"] == 1
    assert emu.client_ids_seen == {emu.client_id}


def test_silent_uses_cache_and_refreshes_short_lived_tokens(msal_env: Emulator) -> None:
    emu = msal_env
    app = make_app(emu)
    first = sign_in(app, emu)
    account = app.get_accounts()[0]

    emu.reset_counts()
    cached = app.acquire_token_silent(scopes(emu, "User.Read"), account=account)
    assert cached and cached["access_token"] == first["access_token"]
    assert emu.counts["token"] == 0

    # MSAL treats a token with < 5 minutes left as expired.
    emu.token_lifetime = 120
    short = app.acquire_token_silent(scopes(emu, "User.Read"), account=account, force_refresh=True)
    assert short and short["expires_in"] <= 120

    emu.reset_counts()
    refreshed = app.acquire_token_silent(scopes(emu, "User.Read"), account=account)
    assert refreshed and refreshed["access_token"] != short["access_token"]
    assert emu.counts["token.refresh_token"] == 1


def test_revoked_refresh_tokens_fail_with_invalid_grant(msal_env: Emulator) -> None:
    emu = msal_env
    emu.token_lifetime = 120
    app = make_app(emu)
    sign_in(app, emu)
    assert len(emu.refresh_tokens) == 1
    emu.revoke_refresh_tokens()

    result = app.acquire_token_silent_with_error(scopes(emu, "User.Read"), account=app.get_accounts()[0])
    assert result and result["error"] == "invalid_grant"
    assert result["error_description"].startswith("AADSTS50173:")
    assert emu.counts["token.refresh_token"] == 1


def test_injected_token_error_reaches_msal(msal_env: Emulator) -> None:
    emu = msal_env
    emu.token_lifetime = 120
    app = make_app(emu)
    sign_in(app, emu)
    emu.inject("token.refresh_token", error="invalid_grant")

    result = app.acquire_token_silent_with_error(scopes(emu, "User.Read"), account=app.get_accounts()[0])
    assert result and result["error"] == "invalid_grant"
    assert "AADSTS70008" in result["error_description"]
    assert result["error_codes"] == [70008]


def test_denied_consent_returns_access_denied(msal_env: Emulator) -> None:
    emu = msal_env
    emu.deny_next_authorize()
    result = make_app(emu).acquire_token_interactive(scopes(emu, "User.Read"), timeout=30)
    assert result["error"] == "access_denied"
    assert "AADSTS65004" in result["error_description"]


def test_device_code_flow(msal_env: Emulator) -> None:
    emu = msal_env
    app = make_app(emu)
    flow = app.initiate_device_flow(scopes(emu, "User.Read"))
    assert flow["user_code"] in flow["message"]
    assert flow["verification_uri"] == f"{emu.base_url}/devicelogin"
    assert flow["interval"] == 1

    approver = threading.Timer(1.0, emu.approve_device_code, args=[flow["user_code"]])
    approver.start()
    result = app.acquire_token_by_device_flow(flow)
    approver.join()

    assert "access_token" in result, result
    assert app.get_accounts()[0]["username"] == USER.email
    assert emu.counts["token.device_code"] >= 2  # at least one authorization_pending first


def test_device_verification_page_over_http(emu: Emulator) -> None:
    with httpx.Client(verify=tls(emu.ca_bundle)) as http:
        token_url = f"{emu.authority}/oauth2/v2.0/token"
        flow = http.post(f"{emu.authority}/oauth2/v2.0/devicecode",
                         data={"client_id": "any-client", "scope": f"openid {emu.graph_resource}/User.Read"}).json()
        poll = {"grant_type": "urn:ietf:params:oauth:grant-type:device_code",
                "client_id": "any-client", "device_code": flow["device_code"]}

        assert http.post(token_url, data=poll).json()["error"] == "authorization_pending"
        page = http.get(flow["verification_uri"])
        assert page.status_code == 200 and 'name="user_code"' in page.text
        assert http.post(flow["verification_uri"], data={"user_code": "NOPE-NOPE"}).status_code == 400
        approved = http.post(flow["verification_uri"], data={"user_code": flow["user_code"].lower()})
        assert approved.status_code == 200

        tokens = http.post(token_url, data=poll).json()
        assert tokens["token_type"] == "Bearer" and "id_token" in tokens
        assert "refresh_token" not in tokens  # offline_access was not requested
        assert http.post(token_url, data=poll).json()["error"] == "invalid_grant"


def test_token_endpoint_status_fault(emu: Emulator) -> None:
    emu.inject("token", status=503, retry_after=2)
    with httpx.Client(verify=tls(emu.ca_bundle)) as http:
        response = http.post(f"{emu.authority}/oauth2/v2.0/token",
                             data={"grant_type": "refresh_token", "client_id": "c", "refresh_token": "x"})
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "2"
        assert response.json()["error"] == "temporarily_unavailable"
        again = http.post(f"{emu.authority}/oauth2/v2.0/token",
                          data={"grant_type": "refresh_token", "client_id": "c", "refresh_token": "x"})
        assert again.status_code == 400 and again.json()["error_codes"] == [9002313]
    assert emu.counts["token.refresh_token"] == 2


def test_discovery_document(emu: Emulator) -> None:
    with httpx.Client(verify=tls(emu.ca_bundle)) as http:
        config = http.get(f"{emu.base_url}/organizations/v2.0/.well-known/openid-configuration").json()
        assert config["token_endpoint"] == f"{emu.base_url}/organizations/oauth2/v2.0/token"
        assert config["issuer"] == f"{emu.base_url}/{{tenantid}}/v2.0"
        own = http.get(f"{emu.authority}/v2.0/.well-known/openid-configuration").json()
        assert own["issuer"] == emu.issuer
        keys = http.get(own["jwks_uri"]).json()["keys"]
    token = emu.issue_access_token(["User.Read"])
    key = jwt.PyJWK(keys[0])
    claims = jwt.decode(token, key.key, algorithms=["RS256"], audience=emu.graph_resource, issuer=emu.issuer)
    assert claims["scp"] == "User.Read"


# ---- Graph ----------------------------------------------------------------------------


def test_graph_me_with_msal_token(msal_env: Emulator, graph: httpx.Client) -> None:
    emu = msal_env
    app = make_app(emu)
    flow = app.initiate_device_flow(scopes(emu, "User.Read"))
    emu.approve_device_code(flow["user_code"])  # before polling: the first poll succeeds
    token = app.acquire_token_by_device_flow(flow)["access_token"]

    response = graph.get("/me", headers={**bearer(token), "client-request-id": "abc-123"})
    assert response.status_code == 200
    assert response.json()["displayName"] == "Adele Vance"
    assert response.json()["id"] == USER.oid
    assert response.headers["client-request-id"] == "abc-123"
    assert response.headers["request-id"]

    selected = graph.get("/me", params={"$select": "displayName,mail"}, headers=bearer(token)).json()
    assert {k for k in selected if not k.startswith("@")} == {"displayName", "mail"}


def test_graph_missing_scope_is_403(emu: Emulator, graph: httpx.Client) -> None:
    response = graph.get("/me/messages", headers=bearer(emu.issue_access_token(["User.Read"])))
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "ErrorAccessDenied"
    assert error["innerError"]["request-id"] == response.headers["request-id"]


def test_graph_rejects_bad_tokens_with_401(emu: Emulator, graph: httpx.Client) -> None:
    with Emulator(user=USER) as other:
        foreign = other.issue_access_token(["User.Read"])
    cases = {
        "garbage": "Bearer not-a-jwt",
        "expired": f"Bearer {emu.issue_access_token(['User.Read'], lifetime=-10)}",
        "foreign signature": f"Bearer {foreign}",
        "missing": "",
    }
    for label, header in cases.items():
        response = graph.get("/me", headers={"Authorization": header} if header else {})
        assert response.status_code == 401, label
        assert response.json()["error"]["code"] == "InvalidAuthenticationToken", label
        challenge = response.headers["WWW-Authenticate"]
        assert challenge.startswith('Bearer realm=""'), label
        assert f'authorization_uri="{emu.authority}/oauth2/v2.0/authorize"' in challenge, label
        assert f'client_id="{GRAPH_APP_ID}"' in challenge, label


def test_graph_accepts_graph_app_id_audience(emu: Emulator, graph: httpx.Client) -> None:
    token, _ = emu.identity.mint_access_token("c", ["User.Read"], 600)  # bare scope -> aud = Graph app id
    assert jwt.decode(token, options={"verify_signature": False})["aud"] == GRAPH_APP_ID
    assert graph.get("/me", headers=bearer(token)).status_code == 200


def test_graph_message_paging(emu: Emulator, graph: httpx.Client) -> None:
    headers = bearer(emu.issue_access_token(["Mail.Read"]))
    ids: list[str] = []
    url: str | None = "/me/messages?$top=5&$select=subject,receivedDateTime"
    while url:
        page = graph.get(url, headers=headers).json()
        url = page.get("@odata.nextLink")
        assert len(page["value"]) == 5 or url is None
        ids += [m["id"] for m in page["value"]]
        assert url is None or url.startswith(emu.graph_url + "/me/messages?")
    # 25 mails and 2 Teams chats: Graph's /me/messages includes chats (a documented known issue)
    assert len(ids) == len(set(ids)) == len(emu.graph.messages) + len(emu.graph.mail.chats) == 27
    assert emu.counts["graph GET /me/messages"] == 6
    assert graph.get("/me/messages", headers=headers).json()["value"].__len__() == 10  # default $top


def test_graph_message_queries(emu: Emulator, graph: httpx.Client) -> None:
    headers = bearer(emu.issue_access_token(["Mail.Read"]))
    unread = graph.get("/me/messages", params={"$filter": "isRead eq false", "$top": "50"}, headers=headers)
    assert unread.status_code == 200
    assert unread.json()["value"] and all(not m["isRead"] for m in unread.json()["value"])

    first = graph.get("/me/messages", params={"$top": "1"}, headers=headers).json()["value"][0]
    assert {"subject", "from", "toRecipients", "receivedDateTime", "body", "webLink"} <= first.keys()
    assert first["receivedDateTime"].endswith("Z") and first["body"]["contentType"] == "html"
    one = graph.get(f"/me/messages/{first['id']}", headers=headers)
    assert one.json()["subject"] == first["subject"]
    assert emu.counts["graph GET /me/messages/{id}"] == 1
    assert graph.get("/me/messages/AAMkNope", headers=headers).json()["error"]["code"] == "ErrorItemNotFound"

    inbox = graph.get("/me/mailFolders/inbox/messages", params={"$top": "100"}, headers=headers).json()
    assert 0 < len(inbox["value"]) < 25
    folders = graph.get("/me/mailFolders", headers=headers).json()["value"]
    assert "Inbox" in [f["displayName"] for f in folders]
    bad_select = graph.get("/me/messages", params={"$select": "nonsense"}, headers=headers)
    assert bad_select.status_code == 400

    basic = graph.get("/me/messages", headers=bearer(emu.issue_access_token(["Mail.ReadBasic"]))).json()
    assert "body" not in basic["value"][0] and "subject" in basic["value"][0]


def test_graph_calendar_and_drive(emu: Emulator, graph: httpx.Client) -> None:
    calendar = bearer(emu.issue_access_token(["Calendars.Read"]))
    today = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime())
    tomorrow = time.strftime("%Y-%m-%dT00:00:00Z", time.gmtime(time.time() + 86400))
    view = graph.get("/me/calendarView", params={"startDateTime": today, "endDateTime": tomorrow},
                     headers=calendar).json()["value"]
    assert "Design review: Project Falcon" in [e["subject"] for e in view]
    assert all(e["start"]["timeZone"] == "UTC" and e["start"]["dateTime"] >= today[:10] for e in view)
    assert graph.get("/me/calendarView", headers=calendar).status_code == 400
    events = graph.get("/me/events", params={"$top": "100"}, headers=calendar).json()["value"]
    assert len(events) > len(view)

    files = bearer(emu.issue_access_token(["Files.Read"]))
    root = graph.get("/me/drive/root/children", headers=files).json()["value"]
    assert {"Documents", "Projects", "Notes.txt"} <= {i["name"] for i in root}
    assert all(("folder" in i) != ("file" in i) for i in root)
    falcon = graph.get("/me/drive/root:/Projects/Falcon:/children", headers=files).json()["value"]
    assert {i["name"] for i in falcon} == {"Falcon spec.docx", "Launch timeline.xlsx"}
    assert emu.counts["graph GET /me/drive/root:/{path}:/children"] == 1
    spaced = graph.get("/me/drive/root:/Documents/Travel policy.pdf", headers=files).json()
    assert spaced["size"] > 0 and spaced["file"]["mimeType"] == "application/pdf"

    missing = graph.get("/me/nothing-here", headers=files)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "Request_ResourceNotFound"


def test_graph_send_mail(emu: Emulator, graph: httpx.Client) -> None:
    mail = {"message": {"subject": "Hi", "body": {"contentType": "Text", "content": "Hello"},
                        "toRecipients": [{"emailAddress": {"address": "megan@contoso.example"}}]},
            "saveToSentItems": False}
    headers = bearer(emu.issue_access_token(["Mail.Send"]))
    assert graph.post("/me/sendMail", json=mail, headers=headers).status_code == 202
    assert emu.sent_mail == [mail]
    assert graph.post("/me/sendMail", json={"message": {"subject": "x"}}, headers=headers).status_code == 400
    read_only = bearer(emu.issue_access_token(["Mail.Read"]))
    assert graph.post("/me/sendMail", json=mail, headers=read_only).status_code == 403


def test_graph_fault_injection(emu: Emulator, graph: httpx.Client) -> None:
    headers = bearer(emu.issue_access_token(["User.Read"]))

    emu.inject("graph", status=429, retry_after=1)
    throttled = graph.get("/me", headers=headers)
    assert throttled.status_code == 429
    assert throttled.headers["Retry-After"] == "1"
    assert throttled.json()["error"]["code"] == "TooManyRequests"
    assert graph.get("/me", headers=headers).status_code == 200

    emu.inject("graph GET /me", status=503, times=2)
    assert [graph.get("/me", headers=headers).status_code for _ in range(3)] == [503, 503, 200]

    emu.inject("graph", claims_challenge=True)
    challenged = graph.get("/me", headers=headers)
    assert challenged.status_code == 401
    challenge = challenged.headers["WWW-Authenticate"]
    assert 'error="insufficient_claims"' in challenge
    encoded = challenge.split('claims="', 1)[1].split('"', 1)[0]
    claims = json.loads(base64.b64decode(encoded))
    assert claims["access_token"]["nbf"]["essential"] is True
    assert emu.counts["graph GET /me"] == 6


# ---- helpers that run as separate processes ------------------------------------------------


def test_browser_script_is_silent_and_returns_at_once() -> None:
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(BROWSER_SCRIPT), "https://127.0.0.1:9/unreachable"],
                          capture_output=True, timeout=10)
    assert done.returncode == 0
    assert done.stdout == b"" and done.stderr == b""
    assert time.monotonic() - started < 5


def _start_runner(*args: str) -> tuple[subprocess.Popen[str], dict]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.emulator", *args], cwd=REPO_ROOT, text=True,
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    ready, _, _ = select.select([proc.stdout], [], [], 30)
    if not ready:
        proc.kill()
        pytest.fail("python -m tests.emulator printed nothing within 30 s")
    assert proc.stdout is not None
    return proc, json.loads(proc.stdout.readline())


def test_runner_prints_json_and_stops_on_sigterm() -> None:
    proc, info = _start_runner("--token-lifetime", "120")
    try:
        assert {"authority", "graph_url", "graph_resource", "ca_bundle", "browser_command", "client_id"} <= info.keys()
        with httpx.Client(verify=tls(info["ca_bundle"])) as http:
            config = http.get(f"{info['authority']}/v2.0/.well-known/openid-configuration")
            assert config.status_code == 200
            assert http.get(f"{info['control_url']}/counts").json() == {"openid_configuration": 1}
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stdout is not None and proc.stdout.read() == ""  # exactly one line on stdout
        assert proc.stderr is not None and '"openid_configuration": 1' in proc.stderr.read()
        assert not os.path.exists(info["ca_bundle"])
    finally:
        if proc.poll() is None:
            proc.kill()


def test_runner_stops_when_stdin_closes() -> None:
    proc, _ = _start_runner()
    try:
        assert proc.stdin is not None
        proc.stdin.close()
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
