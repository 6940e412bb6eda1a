"""Microsoft Entra ID v2.0 endpoints, just enough for MSAL's public-client flows.

Routes live under /<tenant>/... and any tenant segment is accepted (a GUID,
"organizations", "common", ...). Who signs in: the user named by `login_hint`,
else with `prompt=select_account` the one picked on an account picker page
(`Emulator.choose_account`), else the browser's session (the last one signed in). Error bodies copy Entra's shape (error, error_description
starting with "AADSTSnnnn:", error_codes, trace_id, correlation_id, ...)
because MSAL and apps surface those fields to users.
"""

from __future__ import annotations

import hashlib
import html
import json
import re
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from urllib.parse import urlencode, urlsplit

from .model import GRAPH_APP_ID, EmulatorUser, Fault
from .tokens import b64url, b64url_json
from .web import Request, Response

if TYPE_CHECKING:
    from .server import Emulator

OIDC_SCOPES = frozenset({"openid", "profile", "offline_access", "email"})
# What "<resource>/.default" expands to: the permissions "configured on the
# app registration". The emulator auto-consents to whatever is requested.
DEFAULT_CONSENTED_SCOPES = ("User.Read", "Mail.Read", "Mail.Send", "Calendars.Read", "Files.Read")
AUTH_CODE_LIFETIME = 600  # Entra's codes live ~10 minutes
ID_TOKEN_LIFETIME = 3600
NBF_BACKDATE = 300  # like Entra, tolerate clients whose clocks run a little behind
DEVICE_FLOW_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
_GRANT_NAMES = {
    "authorization_code": "authorization_code",
    "refresh_token": "refresh_token",
    DEVICE_FLOW_GRANT: "device_code",
    "urn:ietf:params:oauth:grant-type:jwt-bearer": "obo",  # On-Behalf-Of: see obo.py
}
# Letters only, no vowels (no accidental words), none that look like digits.
_USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"

# Default AADSTS code and text per OAuth error, used by fault injection.
# Texts follow Entra's wording closely enough for apps to show something real.
AADSTS: dict[str, tuple[int, str]] = {
    "invalid_grant": (70008, "The provided authorization code or refresh token has expired due to "
                      "inactivity. Send a new interactive authorization request for this user and resource."),
    "interaction_required": (50076, "Due to a configuration change made by your administrator, or because "
                             "you moved to a new location, you must use multi-factor authentication to access "
                             f"'{GRAPH_APP_ID}'."),
    "consent_required": (65001, "The user or administrator has not consented to use the application. "
                         "Send an interactive authorization request for this user and resource."),
    "access_denied": (65004, "User declined to consent to access the app."),
    "invalid_client": (7000218, "The request body must contain the following parameter: "
                       "'client_assertion' or 'client_secret'."),
    "unauthorized_client": (700016, "Application was not found in the directory."),
    "invalid_request": (900144, "The request body must contain the following parameter: 'grant_type'."),
    "invalid_scope": (70011, "The provided value for the input parameter 'scope' is not valid."),
    "temporarily_unavailable": (90033, "A transient error has occurred. Please try again."),
    "server_error": (50000, "There was an error issuing a token or an issue with our sign-in service."),
}


class OAuthError(Exception):
    """Raised inside a handler; rendered as an Entra-style OAuth error body."""

    def __init__(self, error: str, aadsts: int, message: str, status: int = 400, suberror: str | None = None) -> None:
        super().__init__(f"{error}: AADSTS{aadsts}: {message}")
        self.error, self.aadsts, self.message, self.status = error, aadsts, message, status
        self.suberror = suberror  # e.g. "bad_token"; Entra sends it next to invalid_grant


@dataclass(frozen=True)
class ScopeGrant:
    audience: str  # `aud` of the access token
    scp: tuple[str, ...]  # short permission names, e.g. ("User.Read", "Mail.Read")
    echoed: tuple[str, ...]  # non-OIDC scopes exactly as requested (the response's `scope`)


def resolve_scopes(requested: list[str]) -> ScopeGrant:
    """Split requested scopes into one resource (the audience) and its permissions.

    "https://host:port/User.Read" -> audience "https://host:port", scp "User.Read".
    A bare "User.Read" means Microsoft Graph, for which Entra uses the Graph
    app id as `aud`. Like Entra, one token serves exactly one resource.
    """
    echoed = tuple(s for s in requested if s not in OIDC_SCOPES)
    if not echoed:
        # Only OIDC scopes: Entra still returns a Graph token. Its scp is moot.
        return ScopeGrant(GRAPH_APP_ID, ("openid", "profile"), ("openid", "profile"))
    audiences: list[str] = []
    scp: list[str] = []
    for scope in echoed:
        resource, _, name = scope.rpartition("/") if "://" in scope else ("", "", scope)
        audience = resource or GRAPH_APP_ID
        if audience not in audiences:
            audiences.append(audience)
        names = DEFAULT_CONSENTED_SCOPES if name == ".default" else (name,)
        scp.extend(n for n in names if n not in scp)
    if len(audiences) > 1:
        raise OAuthError("invalid_scope", 28000, "Provided value for the input parameter scope is not "
                         "valid because it contains more than one resource. Scope "
                         f"{' '.join(echoed)} is not valid.")
    return ScopeGrant(audiences[0], tuple(scp), echoed)


@dataclass
class _AuthCode:
    user: EmulatorUser
    tenant: str  # the authority's tenant segment the sign-in went through (a GUID, "common", ...)
    client_id: str
    redirect_uri: str
    scopes: list[str]
    code_challenge: str | None
    code_challenge_method: str | None
    nonce: str | None
    claims: str | None
    expires_at: float


@dataclass
class _RefreshGrant:
    client_id: str
    scopes: list[str]
    revoked: bool = False
    user: EmulatorUser | None = None
    tenant: str = ""  # where it was issued


@dataclass
class _DeviceAuthorization:
    client_id: str
    scopes: list[str]
    user_code: str
    claims: str | None
    expires_at: float
    status: str = "pending"  # -> "approved" | "denied" -> "redeemed"
    user: EmulatorUser | None = None  # who approved it
    tenant: str = ""


@dataclass(frozen=True)
class _Route:
    methods: tuple[str, ...]
    pattern: re.Pattern[str]
    name: str  # the key counted in emu.counts and used by emu.inject
    handler: Callable[[Request, re.Match[str]], Response]


def _normalize_user_code(user_code: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", user_code.upper())


def _verify_pkce(verifier: str, challenge: str, method: str | None) -> bool:
    if (method or "plain").upper() == "S256":
        computed = b64url(hashlib.sha256(verifier.encode("ascii")).digest())
    else:
        computed = verifier
    return secrets.compare_digest(computed, challenge)


def _page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"</head><body><h1>{html.escape(title)}</h1>{body}</body></html>")


def autosubmit_form(action: str, fields: dict[str, str]) -> str:
    """The form_post response: what Entra returns to the browser after sign-in.

    A real browser submits it by script; tests/emulator/browser.py parses the
    form and POSTs it, because MSAL's loopback listener only accepts POST.
    """
    inputs = "".join(
        f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}" />'
        for k, v in fields.items()
    )
    return (
        "<!DOCTYPE html><html><head><title>Working...</title></head>"
        '<body onload="document.forms[0].submit()">'
        f'<form method="POST" name="hiddenform" action="{html.escape(action)}">{inputs}'
        "<noscript><p>Script is disabled. Click Submit to continue.</p>"
        '<input type="submit" value="Submit" /></noscript></form></body></html>'
    )


class IdentityProvider:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self._lock = threading.RLock()
        self._codes: dict[str, _AuthCode] = {}
        self._redeemed_codes: set[str] = set()
        self._refresh_tokens: dict[str, _RefreshGrant] = {}
        self._device_codes: dict[str, _DeviceAuthorization] = {}
        self._user_codes: dict[str, str] = {}  # normalized user code -> device code
        self._deny_next_authorize = False
        self._next_account: str | None = None  # email picked at the next account picker
        self._session_user: EmulatorUser | None = None  # the browser's signed-in session
        self.token_tenants: list[str] = []  # the tenant segment of each token request, in order
        from .obo import OboGrant

        self.obo = OboGrant(emu)  # remote-mode tests: the OBO grant, APIs, several users
        tenant = r"^/(?P<tenant>[^/]+)"
        self.routes = [
            _Route(("GET",), re.compile(tenant + r"/v2\.0/\.well-known/openid-configuration$"),
                   "openid_configuration", self.openid_configuration),
            _Route(("GET",), re.compile(tenant + r"/discovery/v2\.0/keys$"), "jwks", self.jwks),
            _Route(("GET",), re.compile(r"^/common/discovery/instance$"),
                   "instance_discovery", self.instance_discovery),
            _Route(("GET", "POST"), re.compile(tenant + r"/oauth2/v2\.0/authorize$"), "authorize", self.authorize),
            _Route(("POST",), re.compile(tenant + r"/oauth2/v2\.0/authorize/pick$"), "account_picker", self.authorize),
            _Route(("POST",), re.compile(tenant + r"/oauth2/v2\.0/token$"), "token", self.token),
            _Route(("POST",), re.compile(tenant + r"/oauth2/v2\.0/devicecode$"), "devicecode", self.devicecode),
            _Route(("GET", "POST"), re.compile(r"^/devicelogin$"), "device_verify", self.device_verify),
            _Route(("GET",), re.compile(tenant + r"/oauth2/v2\.0/logout$"), "end_session", self.end_session),
        ]

    # ---- dispatch -------------------------------------------------------

    def handle(self, req: Request) -> Response | None:
        """Serve `req` if it is an identity endpoint, else return None."""
        for route in self.routes:
            match = route.pattern.match(req.path)
            if match:
                self.emu.count(route.name)
                if req.method not in route.methods:
                    return Response.of_json({"error": "invalid_request",
                                             "error_description": f"{req.method} not supported"}, 405)
                return route.handler(req, match)
        return None

    # ---- operations the test drives in-process ---------------------------

    def issued_refresh_tokens(self) -> list[str]:
        with self._lock:
            return list(self._refresh_tokens)

    def revoke_refresh_tokens(self) -> None:
        with self._lock:
            for grant in self._refresh_tokens.values():
                grant.revoked = True

    def deny_next_authorize(self) -> None:
        with self._lock:
            self._deny_next_authorize = True

    def choose_next_account(self, email: str) -> None:
        with self._lock:
            self._next_account = email

    def session_user(self) -> EmulatorUser:
        with self._lock:
            return self._session_user or self.emu.user

    def _picked_user(self) -> EmulatorUser:
        """Who the user picks: the queued choice, else the account the browser is signed in to."""
        with self._lock:
            email, self._next_account = self._next_account, None
        return (self.emu.user_by_email(email) if email else None) or self.session_user()

    def set_device_code_status(self, user_code: str, status: str) -> None:
        """What the user does at the verification page: approve or deny."""
        with self._lock:
            device_code = self._user_codes.get(_normalize_user_code(user_code))
            auth = self._device_codes.get(device_code or "")
            if auth is None or auth.status != "pending":
                raise ValueError(f"no pending device authorization for user code {user_code!r}")
            if time.time() > auth.expires_at:
                raise ValueError(f"user code {user_code!r} has expired")
            auth.status = status
        if status == "approved":
            auth.user = self._picked_user()
        if status == "approved":  # the user signed in interactively
            self.emu.stop_withholding()

    def mint_access_token(self, client_id: str, scopes: list[str], lifetime: int,
                          claims: str | None = None, omit: frozenset[str] = frozenset(),
                          user: EmulatorUser | None = None) -> tuple[str, ScopeGrant]:
        """`omit`: lower-cased permissions left out of `scp` (the response's `scope` still echoes them)."""
        grant = resolve_scopes(scopes)
        self.emu.claims_seen.append(claims)  # what the client sent as `claims` (CAE, capabilities)
        user, now = user or self.emu.user, int(time.time())
        payload: dict[str, object] = {
            "aud": self.obo.audience_of(grant.audience), "iss": self._issuer(user),  # a registered API: its client id
            "iat": now, "nbf": now - NBF_BACKDATE, "exp": now + lifetime,
            "azp": client_id, "azpacr": "0", "appid": client_id,
            "name": user.name, "given_name": user.given_name, "family_name": user.surname,
            "oid": user.oid, "preferred_username": user.email,
            "scp": " ".join(s for s in grant.scp if s.lower() not in omit), "sub": self._pairwise_sub(client_id, user),
            "tid": user.tid, "uti": secrets.token_urlsafe(16), "ver": "2.0",
        }
        capabilities = _client_capabilities(claims)
        if capabilities:
            payload["xms_cc"] = capabilities  # e.g. ["cp1"]: client can handle CAE challenges
        return self.emu.key.sign(payload), grant

    # ---- discovery --------------------------------------------------------

    def openid_configuration(self, req: Request, m: re.Match[str]) -> Response:
        if fault := self.emu.take_fault("openid_configuration"):
            return self._fault_response(req, fault)
        tenant = m["tenant"]
        base = f"{self.emu.base_url}/{tenant}"
        # Entra publishes a templated issuer for multi-tenant authorities.
        # MSAL does not validate it for Entra authorities (only for oidc_authority).
        issuer = self.emu.issuer if tenant == self.emu.user.tid else f"{self.emu.base_url}/{{tenantid}}/v2.0"
        return Response.of_json({
            "issuer": issuer,
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "jwks_uri": f"{base}/discovery/v2.0/keys",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_modes_supported": ["query", "fragment", "form_post"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "acr", "nonce",
                                 "preferred_username", "name", "tid", "ver", "at_hash", "c_hash", "email"],
            "code_challenge_methods_supported": ["plain", "S256"],
            "request_uri_parameter_supported": False,
            "http_logout_supported": True,
            "frontchannel_logout_supported": True,
            "tenant_region_scope": "NA",
            "cloud_instance_name": "127.0.0.1",
            "msgraph_host": urlsplit(self.emu.base_url).netloc,
        })

    def jwks(self, req: Request, m: re.Match[str]) -> Response:
        if fault := self.emu.take_fault("jwks"):
            return self._fault_response(req, fault)
        return Response.of_json(self.emu.key.jwks(self.emu.issuer))

    def instance_discovery(self, req: Request, m: re.Match[str]) -> Response:
        # Only reached when a client passes instance_discovery="<this URL>";
        # with instance_discovery=False MSAL skips it entirely.
        path = urlsplit(req.query.get("authorization_endpoint", "")).path.strip("/")
        tenant = path.split("/", 1)[0] or "common"
        host = urlsplit(self.emu.base_url).hostname or "127.0.0.1"
        return Response.of_json({
            "tenant_discovery_endpoint": f"{self.emu.base_url}/{tenant}/v2.0/.well-known/openid-configuration",
            "api-version": "1.1",
            "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
        })

    # ---- interactive sign-in -------------------------------------------------

    def authorize(self, req: Request, m: re.Match[str]) -> Response:
        params = dict(req.query)
        if req.method == "POST":
            params.update(req.form())
        client_id, redirect_uri = params.get("client_id"), params.get("redirect_uri")
        for name, value in (("client_id", client_id), ("redirect_uri", redirect_uri)):
            if not value:  # nowhere to send an error to, so show it to the "user"
                return Response.of_html(_page("Sign in", f"<p>AADSTS900144: The request body must contain "
                                              f"the following parameter: '{name}'.</p>"), 400)
        assert client_id and redirect_uri
        if self.emu.strict_client_id and client_id != self.emu.client_id:
            return Response.of_html(_page("Sign in", f"<p>AADSTS700016: Application with identifier "
                                          f"'{html.escape(client_id)}' was not found in the directory.</p>"), 400)
        self.emu.note_client(client_id)

        error: tuple[str, int, str] | None = None
        fault = self.emu.take_fault("authorize")
        with self._lock:
            deny, self._deny_next_authorize = self._deny_next_authorize, False
        if fault and not fault.error:
            return Response(fault.status or 500, b"", "text/html", fault.retry_after_header())
        if fault and fault.error:
            error = (fault.error, *AADSTS.get(fault.error, AADSTS["server_error"]))
        elif deny:
            error = ("access_denied", *AADSTS["access_denied"])
        elif params.get("response_type") != "code":
            error = ("unsupported_response_type", 700054,
                     f"response_type '{params.get('response_type')}' is not enabled for the application.")

        user = self.emu.user_by_email(params.get("login_hint") or "") or (
            self.emu.user_by_email(params["account"]) if params.get("account") else None)
        if not error and user is None and params.get("prompt") == "select_account" and len(self.emu.users) > 1:
            return Response.of_html(self._account_picker(req, params))
        user = user or self.session_user()

        fields: dict[str, str] = {}
        if error:
            fields.update(error=error[0], error_description=f"AADSTS{error[1]}: {error[2]}")
        else:
            code = "1.AEMU" + secrets.token_urlsafe(48)
            with self._lock:
                self._session_user = user
                self._codes[code] = _AuthCode(
                    user=user, tenant=m["tenant"], client_id=client_id, redirect_uri=redirect_uri,
                    scopes=params.get("scope", "").split(),
                    code_challenge=params.get("code_challenge"),
                    code_challenge_method=params.get("code_challenge_method"),
                    nonce=params.get("nonce"), claims=params.get("claims"),
                    expires_at=time.time() + AUTH_CODE_LIFETIME,
                )
            fields["code"] = code
            self.emu.stop_withholding()  # an interactive sign-in consents again
            # MSAL asks for client_info=1 and uses it for routing hints.
            fields["client_info"] = self._client_info(user)
        if "state" in params:
            fields["state"] = params["state"]
        if not error:
            fields["session_state"] = str(uuid.uuid4())

        mode = params.get("response_mode") or "query"
        if mode == "form_post":
            return Response.of_html(autosubmit_form(redirect_uri, fields))
        separator = "#" if mode == "fragment" else ("&" if "?" in redirect_uri else "?")
        return Response.redirect(redirect_uri + separator + urlencode(fields))

    def _account_picker(self, req: Request, params: dict[str, str]) -> str:
        """Entra's "Pick an account" page: one radio per account, the one the user will pick checked.

        `prompt=select_account` "interrupts single sign-on providing account selection experience"
        (Microsoft identity platform docs, "OAuth 2.0 authorization code flow": the prompt parameter).

        Submitting it POSTs the original authorize parameters back with `account`.
        """
        picked = self._picked_user()
        hidden = "".join(f'<input type="hidden" name="{html.escape(k)}" value="{html.escape(v)}" />'
                         for k, v in params.items() if k not in ("account", "prompt"))
        radios = "".join(
            f'<label><input type="radio" name="account" value="{html.escape(u.email)}"'
            f'{" checked" if u.oid == picked.oid else ""} />{html.escape(u.name)} ({html.escape(u.email)})</label><br />'
            for u in self.emu.users)
        action = html.escape(f"{self.emu.base_url}{req.path}/pick")
        return _page("Pick an account", f'<form method="POST" action="{action}">{hidden}{radios}'
                     '<input type="submit" value="Next" /></form>')

    def end_session(self, req: Request, m: re.Match[str]) -> Response:
        target = req.query.get("post_logout_redirect_uri")
        if target:
            return Response.redirect(target)
        return Response.of_html(_page("Sign out", "<p>You signed out of your account.</p>"))

    # ---- device code flow ------------------------------------------------------

    def devicecode(self, req: Request, m: re.Match[str]) -> Response:
        if fault := self.emu.take_fault("devicecode"):
            return self._fault_response(req, fault)
        form = req.form()
        try:
            client_id = self._check_client(form.get("client_id"))
            scopes = form.get("scope", "").split()
            if not scopes:
                raise OAuthError("invalid_request", 900144,
                                 "The request body must contain the following parameter: 'scope'.")
            resolve_scopes(scopes)  # reject bad scopes now, like Entra does
        except OAuthError as exc:
            return self._oauth_error(req, exc)
        device_code = "DAQABAAEAAAEmu" + secrets.token_urlsafe(48)
        lifetime = self.emu.device_code_lifetime
        with self._lock:
            while True:
                raw = "".join(secrets.choice(_USER_CODE_ALPHABET) for _ in range(8))
                if raw not in self._user_codes:
                    break
            user_code = f"{raw[:4]}-{raw[4:]}"
            self._user_codes[raw] = device_code
            self._device_codes[device_code] = _DeviceAuthorization(
                client_id=client_id, scopes=scopes, user_code=user_code,
                claims=form.get("claims"), expires_at=time.time() + lifetime,
            )
        uri = f"{self.emu.base_url}/devicelogin"
        return Response.of_json({
            "user_code": user_code,
            "device_code": device_code,
            "verification_uri": uri,
            "expires_in": lifetime,
            "interval": self.emu.device_code_interval,
            "message": (f"To sign in, use a web browser to open the page {uri} "
                        f"and enter the code {user_code} to authenticate."),
        })

    def device_verify(self, req: Request, m: re.Match[str]) -> Response:
        form_html = ('<form method="post" action="/devicelogin"><label>Code '
                     '<input name="user_code" autofocus /></label>'
                     '<button type="submit">Next</button></form>')
        if req.method == "GET":
            return Response.of_html(_page("Enter code", "<p>Enter the code displayed on your app or device.</p>"
                                          + form_html))
        form = req.form()
        action = "denied" if form.get("action") == "deny" else "approved"
        try:
            self.set_device_code_status(form.get("user_code", ""), action)
        except ValueError:
            return Response.of_html(_page("Enter code", "<p>That code didn't work. Check the code and "
                                          "try again.</p>" + form_html), 400)
        return Response.of_html(_page("Signed in", "<p>You have signed in to the application on your "
                                      "device. You may now close this window.</p>"))

    # ---- token endpoint ------------------------------------------------------

    def token(self, req: Request, m: re.Match[str]) -> Response:
        form = req.form()
        grant_type = form.get("grant_type", "")
        grant_name = _GRANT_NAMES.get(grant_type, grant_type or "missing")
        self.emu.count(f"token.{grant_name}")
        self.emu.pause_if_held(f"token.{grant_name}")
        with self._lock:
            self.token_tenants.append(m["tenant"])
        if fault := self.emu.take_fault(f"token.{grant_name}", "token"):
            return self._fault_response(req, fault)
        try:
            client_id = self._check_client(form.get("client_id"))
            if grant_type == "authorization_code":
                return self._redeem_code(client_id, form)
            if grant_type == "refresh_token":
                return self._redeem_refresh_token(client_id, form, m["tenant"])
            if grant_type == DEVICE_FLOW_GRANT:
                return self._redeem_device_code(client_id, form, m["tenant"])
            if grant_name == "obo":
                return self.obo.redeem(client_id, form, f"{self.emu.base_url}{req.path}")
            if not grant_type:
                raise OAuthError("invalid_request", *AADSTS["invalid_request"])
            raise OAuthError("unsupported_grant_type", 70003,
                             f"The app requested an unsupported grant type '{grant_type}'.")
        except OAuthError as exc:
            return self._oauth_error(req, exc)

    def _redeem_code(self, client_id: str, form: dict[str, str]) -> Response:
        code = form.get("code", "")
        with self._lock:
            auth = self._codes.pop(code, None)  # single use, even if the checks below fail
            already_redeemed = code in self._redeemed_codes
            self._redeemed_codes.add(code)
        if auth is None:
            if already_redeemed:
                raise OAuthError("invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, "
                                 "please retry with a new valid code or use an existing refresh token.")
            raise OAuthError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        if time.time() > auth.expires_at:
            raise OAuthError("invalid_grant", *AADSTS["invalid_grant"])
        if auth.client_id != client_id:
            raise OAuthError("invalid_grant", 70000, "Provided grant is invalid or malformed: the "
                             "authorization code was issued to a different client.")
        if form.get("redirect_uri") != auth.redirect_uri:
            raise OAuthError("invalid_grant", 50011, f"The redirect URI '{form.get('redirect_uri')}' does not "
                             "match the redirect URI used in the authorization request.")
        if auth.code_challenge and not _verify_pkce(form.get("code_verifier", ""), auth.code_challenge,
                                                    auth.code_challenge_method):
            raise OAuthError("invalid_grant", 501481, "The Code_Verifier does not match the code_challenge "
                             "supplied in the authorization request.")
        scopes = form.get("scope", "").split() or auth.scopes
        return self._issue(client_id, scopes, nonce=auth.nonce, claims=form.get("claims") or auth.claims,
                           user=auth.user, tenant=auth.tenant)

    def _redeem_refresh_token(self, client_id: str, form: dict[str, str], tenant: str = "") -> Response:
        with self._lock:
            grant = self._refresh_tokens.get(form.get("refresh_token", ""))
        if grant is None:
            raise OAuthError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        if grant.revoked:
            raise OAuthError("invalid_grant", 50173, "The provided grant has expired due to it being revoked, "
                             "a fresh auth token is needed. The user might have changed or reset their password.")
        if grant.client_id != client_id:
            raise OAuthError("invalid_grant", 70000, "Provided grant is invalid or malformed: the refresh "
                             "token was issued to a different client.")
        if grant.user is not None and grant.user.is_personal and grant.tenant.lower() == tenant.lower() == "common":
            # Reported against Entra (2026): a personal account's refresh token issued through /common
            # is rejected at its first refresh on /common, while /consumers keeps refreshing
            # (github.com/Softeria/ms-365-mcp-server issue 522 and pull request 528).
            raise OAuthError("invalid_grant", 70000, "The user could not be authenticated as the grant is "
                             "expired. The user must sign in again.", suberror="bad_token")
        # Entra refresh tokens are not bound to a resource: any scope may be asked for.
        scopes = form.get("scope", "").split() or grant.scopes
        return self._issue(client_id, scopes, claims=form.get("claims"), user=grant.user, tenant=grant.tenant)

    def _redeem_device_code(self, client_id: str, form: dict[str, str], tenant: str = "") -> Response:
        with self._lock:
            auth = self._device_codes.get(form.get("device_code", ""))
            status = auth.status if auth else None
            if auth and status == "approved":
                auth.status = "redeemed"
        if auth is None:
            raise OAuthError("invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
        if time.time() > auth.expires_at and status != "approved":
            raise OAuthError("expired_token", 70020, "The provided value for the input parameter "
                             "'device_code' is not valid. This device code has expired.")
        if status == "pending":
            raise OAuthError("authorization_pending", 70016,
                             "OAuth 2.0 device flow error. Authorization is pending. Continue polling.")
        if status == "denied":
            raise OAuthError("authorization_declined", 70000,
                             "The user has declined the authorization request.")
        if status == "redeemed":
            raise OAuthError("invalid_grant", 70000, "Provided grant is invalid or malformed: the "
                             "device code was already redeemed.")
        return self._issue(auth.client_id, auth.scopes, claims=form.get("claims") or auth.claims,
                           user=auth.user, tenant=tenant)

    def _issue(self, client_id: str, scopes: list[str], *, nonce: str | None = None,
               claims: str | None = None, user: EmulatorUser | None = None, tenant: str = "") -> Response:
        lifetime = int(self.emu.token_lifetime)
        user = user or self.emu.user
        access_token, grant = self.mint_access_token(client_id, scopes, lifetime, claims, self.emu.withheld(), user)
        body: dict[str, object] = {
            "token_type": "Bearer",
            # Echo the requested scopes verbatim: MSAL caches the token under
            # this string and later looks it up with the caller's scope list.
            "scope": " ".join(grant.echoed),
            "expires_in": lifetime,
            "ext_expires_in": lifetime,
            "access_token": access_token,
            # Without client_info MSAL cannot build an account (get_accounts() is empty).
            "client_info": self._client_info(user),
        }
        if "offline_access" in scopes:
            refresh_token = "0.AEMU" + secrets.token_urlsafe(64)
            with self._lock:
                self._refresh_tokens[refresh_token] = _RefreshGrant(client_id, list(scopes), user=user, tenant=tenant)
            body["refresh_token"] = refresh_token
        if "openid" in scopes:
            body["id_token"] = self._id_token(client_id, nonce, with_email="email" in scopes, user=user)
        return Response.of_json(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    # ---- helpers ----------------------------------------------------------------

    def _id_token(self, client_id: str, nonce: str | None, with_email: bool, user: EmulatorUser | None = None) -> str:
        user, now = user or self.emu.user, int(time.time())
        claims: dict[str, object] = {
            "aud": client_id, "iss": self._issuer(user),
            "iat": now, "nbf": now - NBF_BACKDATE, "exp": now + ID_TOKEN_LIFETIME,
            "name": user.name, "oid": user.oid, "preferred_username": user.email,
            "sub": self._pairwise_sub(client_id, user), "tid": user.tid,
            "uti": secrets.token_urlsafe(16), "ver": "2.0",
        }
        if nonce:
            claims["nonce"] = nonce  # MSAL sends sha256(nonce) and compares it verbatim
        if with_email:
            claims["email"] = user.email
        return self.emu.key.sign(claims)

    def _client_info(self, user: EmulatorUser | None = None) -> str:
        user = user or self.emu.user
        return b64url_json({"uid": user.oid, "utid": user.tid})

    def _issuer(self, user: EmulatorUser) -> str:
        # Entra's `iss` names the user's own tenant (for personal accounts the MSA tenant).
        return self.emu.issuer if user.oid == self.emu.user.oid else f"{self.emu.base_url}/{user.tid}/v2.0"

    def _pairwise_sub(self, client_id: str, user: EmulatorUser | None = None) -> str:
        # Entra's `sub` is unique per user *and* app; `oid` is the stable user id.
        oid = (user or self.emu.user).oid
        return b64url(hashlib.sha256(f"{oid}|{client_id}".encode()).digest())

    def _check_client(self, client_id: str | None) -> str:
        if not client_id:
            raise OAuthError("invalid_request", 900144,
                             "The request body must contain the following parameter: 'client_id'.")
        if self.emu.strict_client_id and client_id != self.emu.client_id:
            raise OAuthError("unauthorized_client", 700016, f"Application with identifier '{client_id}' "
                             "was not found in the directory.")
        self.emu.note_client(client_id)
        return client_id

    def _oauth_error(self, req: Request, exc: OAuthError, headers: dict[str, str] | None = None) -> Response:
        trace_id = str(uuid.uuid4())
        correlation_id = req.headers.get("client-request-id") or str(uuid.uuid4())
        stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M:%SZ")
        extra = {"suberror": exc.suberror} if exc.suberror else {}
        return Response.of_json({
            **extra,
            "error": exc.error,
            "error_description": (f"AADSTS{exc.aadsts}: {exc.message} Trace ID: {trace_id} "
                                  f"Correlation ID: {correlation_id} Timestamp: {stamp}"),
            "error_codes": [exc.aadsts],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"{self.emu.base_url}/error?code={exc.aadsts}",
        }, exc.status, headers)

    def _fault_response(self, req: Request, fault: Fault) -> Response:
        if fault.error:
            status = fault.status or 400
            error = fault.error
        else:
            status = fault.status or 500
            error = "server_error" if status == 500 else "temporarily_unavailable"
        aadsts, message = AADSTS.get(error, AADSTS["server_error"])
        return self._oauth_error(req, OAuthError(error, aadsts, message, status), fault.retry_after_header())


def _client_capabilities(claims: str | None) -> list[str]:
    """MSAL sends client_capabilities=["cp1"] as claims={"access_token":{"xms_cc":{"values":["cp1"]}}}."""
    if not claims:
        return []
    try:
        values = json.loads(claims).get("access_token", {}).get("xms_cc", {}).get("values", [])
    except (ValueError, AttributeError):
        return []  # be lenient with malformed claims; this is a test double
    return [str(v) for v in values] if isinstance(values, list) else []
