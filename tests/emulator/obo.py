"""The On-Behalf-Of grant, and the tokens a remote MCP server receives, for remote-mode tests.

Entra's OBO request (Microsoft identity platform, "OAuth 2.0 On-Behalf-Of flow"):

    POST /{tenant}/oauth2/v2.0/token
    grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer, requested_token_use=on_behalf_of,
    assertion=<the access token the API received>, scope=<downstream scopes>,
    client_id + (client_secret | client_assertion_type=...jwt-bearer + client_assertion)

Checked like Entra: the confidential client's secret or certificate-signed client assertion
(aud = the token endpoint, iss = sub = client id; AADSTS7000215 / 700027), the assertion's
signature, audience (the API: Application ID URI or client id; AADSTS50013), expiry
(AADSTS500133), tenant; consent for the downstream scopes (AADSTS65001). The answer is a
Graph token for the assertion's user (same oid/tid). APIs and extra users are registered
by the test (`register_api`, `user_token`). Several users: each token's `oid` picks
that user's Graph data (Emulator.users).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jwt

from .identity import NBF_BACKDATE, OAuthError, resolve_scopes
from .model import EmulatorUser
from .web import Response

if TYPE_CHECKING:
    from .server import Emulator

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
CLIENT_ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@dataclass
class ApiRegistration:
    """A confidential client exposing an API (the remote MCP server's app registration)."""

    client_id: str
    app_id_uri: str  # = LOCAL_MCP_SERVER_URL
    secret: str | None = None
    certificate_pem: bytes | None = None  # public certificate; client assertions must verify with it
    unconsented: set[str] = field(default_factory=set)  # lower-cased Graph scopes nobody consented to
    claims_challenge_next: int = 0  # next N OBO requests answer interaction_required (AADSTS50076)
    grant: OboGrant | None = field(default=None, repr=False)

    def user_token(self, user: EmulatorUser | None = None, **options: Any) -> str:
        """A token for this API; see OboGrant.user_token."""
        assert self.grant is not None
        return self.grant.user_token(self, user, **options)


class OboGrant:
    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self._lock = threading.Lock()
        self.apis: dict[str, ApiRegistration] = {}
        self.assertions_seen: list[str] = []  # sha256 of each OBO assertion (never the token)
        self.graph_tokens_seen: list[str] = []  # sha256 of each bearer token Graph received

    # ---- test controls -----------------------------------------------------------------

    def register_api(self, client_id: str, app_id_uri: str, *, secret: str | None = None,
                     certificate_pem: bytes | None = None) -> ApiRegistration:
        api = ApiRegistration(client_id, app_id_uri.rstrip("/"), secret, certificate_pem, grant=self)
        with self._lock:
            self.apis[client_id] = api
        return api

    def audience_of(self, resource: str) -> str:
        """The `aud` Entra puts in a user token requested for `resource` (`<resource>/user_impersonation`).

        Microsoft identity platform, *Access tokens* (claims): "aud ... In v2.0 tokens, this value
        is always the client ID of the API"; an API registration asks for v2 tokens with
        `requestedAccessTokenVersion: 2`, as README's Entra setup says. Unknown resources keep
        their URI (v1-style).
        """
        with self._lock:
            api = next((a for a in self.apis.values() if a.app_id_uri == resource.rstrip("/")), None)
        return api.client_id if api is not None else resource

    def user_for(self, oid: str | None) -> EmulatorUser:
        return next((u for u in self.emu.users if u.oid == oid), self.emu.user)

    def user_token(self, api: ApiRegistration, user: EmulatorUser | None = None, *,
                   scopes: tuple[str, ...] = ("user_impersonation",), lifetime: int = 3600,
                   version: str = "2.0", issuer: str | None = None, audience: str | None = None,
                   client_id: str = "aebc6443-996d-45c2-90f0-388ff96faa56", id_token: bool = False,
                   **extra: Any) -> str:
        """A token for the API, as the MCP client (VS Code by default) would send it.

        v2 tokens carry the API's client id as `aud`, v1 its Application ID URI.
        `id_token=True`: an ID token for the API's client id instead (no `scp`).
        """
        user = user or self.emu.user
        if all(u.oid != user.oid for u in self.emu.users):
            self.emu.users.append(user)  # Graph then answers for this user's own data
        now = int(time.time())
        claims: dict[str, Any] = {
            "aud": audience or (api.client_id if version == "2.0" else api.app_id_uri),
            "iss": issuer or f"{self.emu.base_url}/{user.tid}/v2.0",
            "iat": now, "nbf": now - NBF_BACKDATE, "exp": now + lifetime,
            "name": user.name, "oid": user.oid, "preferred_username": user.email, "tid": user.tid,
            "sub": hashlib.sha256(f"{user.oid}|{api.client_id}".encode()).hexdigest()[:43],
            "uti": secrets.token_urlsafe(16), "ver": version,
        }
        if not id_token:
            claims.update(azp=client_id, azpacr="0", scp=" ".join(scopes))
        claims.update(extra)
        return self.emu.key.sign(claims)

    # ---- the grant -----------------------------------------------------------------------

    def redeem(self, client_id: str, form: dict[str, str], token_endpoint: str) -> Response:
        api = self.apis.get(client_id)
        if api is None:
            raise OAuthError("unauthorized_client", 700016, f"Application with identifier '{client_id}' was "
                             "not found in the directory.")
        self._check_credential(api, form, token_endpoint)
        if form.get("requested_token_use") != "on_behalf_of":
            raise OAuthError("invalid_request", 900144, "The request body must contain the following "
                             "parameter: 'requested_token_use'.")
        assertion = form.get("assertion", "")
        self.assertions_seen.append(hashlib.sha256(assertion.encode()).hexdigest())
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
            tid = str(unverified.get("tid", ""))
            claims = self.emu.key.verify(assertion, audiences=(api.client_id, api.app_id_uri),
                                         issuer=f"{self.emu.base_url}/{tid}/v2.0")
        except jwt.ExpiredSignatureError:
            raise OAuthError("invalid_grant", 500133, "Assertion is not within its valid time range.") from None
        except jwt.InvalidAudienceError:
            raise OAuthError("invalid_grant", 50013, "Assertion failed signature validation. [Reason - The "
                             "provided audience does not match the application.]") from None
        except jwt.InvalidTokenError:
            raise OAuthError("invalid_grant", 50013, "Assertion failed signature validation.") from None
        if "scp" not in claims:
            raise OAuthError("invalid_grant", 50013, "Assertion is not a delegated access token.")
        grant = resolve_scopes(form.get("scope", "").split())
        missing = [s for s in grant.scp if s.lower() in api.unconsented]
        if missing:
            raise OAuthError("invalid_grant", 65001, f"The user or administrator has not consented to use the "
                             f"application with ID '{client_id}'. Send an interactive authorization request for "
                             "this user and resource.")
        with self._lock:
            challenge = api.claims_challenge_next > 0
            api.claims_challenge_next -= 1 if challenge else 0
        if challenge:
            raise _ClaimsChallenge()
        user = self.user_for(str(claims["oid"]))
        lifetime, now = int(self.emu.token_lifetime), int(time.time())
        token = self.emu.key.sign({
            "aud": grant.audience, "iss": claims["iss"], "iat": now, "nbf": now - NBF_BACKDATE,
            "exp": now + lifetime, "azp": client_id, "azpacr": "1" if api.secret else "2", "appid": client_id,
            "name": user.name, "oid": user.oid, "preferred_username": user.email, "scp": " ".join(grant.scp),
            "sub": hashlib.sha256(f"{user.oid}|{client_id}".encode()).hexdigest()[:43], "tid": user.tid,
            "uti": secrets.token_urlsafe(16), "ver": "2.0",
        })
        return Response.of_json({
            "token_type": "Bearer", "scope": " ".join(grant.echoed), "expires_in": lifetime,
            "ext_expires_in": lifetime, "access_token": token,
        }, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})

    def _check_credential(self, api: ApiRegistration, form: dict[str, str], token_endpoint: str) -> None:
        if form.get("client_assertion"):
            if form.get("client_assertion_type") != CLIENT_ASSERTION_TYPE or api.certificate_pem is None:
                raise OAuthError("invalid_client", 700027, "Client assertion failed signature validation.")
            from cryptography import x509

            public_key = x509.load_pem_x509_certificate(api.certificate_pem).public_key()
            try:
                claims = jwt.decode(form["client_assertion"], public_key, algorithms=["RS256", "PS256"],  # type: ignore[arg-type]
                                    audience=token_endpoint, options={"require": ["exp", "aud", "iss", "sub"]})
            except jwt.InvalidTokenError:
                raise OAuthError("invalid_client", 700027, "Client assertion failed signature validation.") from None
            if claims.get("iss") != api.client_id or claims.get("sub") != api.client_id:
                raise OAuthError("invalid_client", 700023, "Client assertion audience or issuer is invalid.")
            return
        secret = form.get("client_secret")
        if not secret:
            raise OAuthError("invalid_client", 7000218, "The request body must contain the following parameter: "
                             "'client_assertion' or 'client_secret'.")
        if api.secret is None or not secrets.compare_digest(secret, api.secret):
            raise OAuthError("invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being "
                             f"sent in the request is the client secret value, not the client secret ID, for a "
                             f"secret added to app '{api.client_id}'.", status=401)


class _ClaimsChallenge(OAuthError):
    """Conditional Access wants MFA (AADSTS50076): the user must sign in again at the client."""

    def __init__(self) -> None:
        super().__init__("interaction_required", 50076, "Due to a configuration change made by your "
                         "administrator, or because you moved to a new location, you must use multi-factor "
                         "authentication to access this resource.")
