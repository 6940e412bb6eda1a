"""OboTokenProvider: Graph tokens on behalf of the MCP caller (OAuth 2.0 On-Behalf-Of, MSAL).

Same `get_token(resource, scopes, ...)` as auth.tokens.TokenProvider, so GraphClient and the
tools work unchanged. The caller is the inbound bearer token the SDK's auth middleware
verified (`get_access_token()`); it is sent to Entra ID as the OBO assertion, never to Graph.

    get_token(resource, scopes)
      1. the per-user cache (cache_store.py): partition <tenant id>.<object id>, valid 5+ min
      2. MSAL ConfidentialClientApplication.acquire_token_on_behalf_of (one app per server)

MSAL 1.39's OBO call does not read its own cache, and a cache shared by all users is the
wrong place for their tokens, so MSAL's cache keeps nothing here; the store above does.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

import anyio
import anyio.to_thread
from mcp.server.auth.middleware.auth_context import get_access_token

from ..auth.msal_errors import error_codes, first_line, translate_exception
from ..auth.resource import build_token_request
from ..auth.tokens import EXPIRY_MARGIN_SECONDS, AccessToken, AuthStatus
from ..errors import AuthenticationRequiredError, AuthError, SignInFailedError
from .cache_store import CachedToken, TokenStore, open_store
from .settings import authority_base, client_secret

if TYPE_CHECKING:
    from ..config import Settings

logger = logging.getLogger(__name__)

# Conditional Access wants more (MFA, compliant device, sign-in frequency): the user must sign in again.
_CLAIMS_CODES = frozenset({50076, 50079, 50158, 53003, 70043})


class OboTokenProvider:
    """Tokens for the current MCP caller, through one MSAL confidential client per server."""

    def __init__(self, settings: Settings, *, store: TokenStore | None = None, app: Any = None) -> None:
        self.settings = settings
        self._store = store
        self._app = app
        self._app_lock = anyio.Lock()
        self._key_locks: dict[tuple[str, str], anyio.Lock] = {}
        self.obo_requests = 0  # how many times Entra ID was asked (tests, diagnostics)

    async def __aenter__(self) -> OboTokenProvider:
        if self._store is None:
            self._store = open_store(self.settings)
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._store is not None:
            await self._store.close()

    async def get_token(
        self,
        resource: str | None,
        scopes: Iterable[str],
        *,
        claims: str | None = None,
        extra_query_params: Mapping[str, Any] | None = None,
        extra_body_params: Mapping[str, Any] | None = None,
        interactive: bool = True,
    ) -> AccessToken:
        """A token for `resource` with `scopes`, for the caller of this MCP request."""
        request = build_token_request(
            resource, scopes, extra_query_params=extra_query_params, extra_body_params=extra_body_params
        )
        caller = get_access_token()
        facts = (caller.claims or {}) if caller is not None else {}
        if caller is None or not facts.get("tid") or not facts.get("oid"):
            raise AuthenticationRequiredError("This request carries no verified user; connect with a bearer token.")
        user = f"{facts['tid']}.{facts['oid']}"
        entry = " ".join((request.resource, *request.scopes))
        store = self._store if self._store is not None else open_store(self.settings)
        self._store = store
        if claims is None:
            held = await store.get(user, entry)
            if held is not None and held.expires_on - _now() > EXPIRY_MARGIN_SECONDS:
                return AccessToken(held.token, held.expires_on, request.resource, request.scopes)
        lock = self._key_locks.setdefault((user, entry), anyio.Lock())
        async with lock:
            if claims is None:  # another request of this user may have just fetched it
                held = await store.get(user, entry)
                if held is not None and held.expires_on - _now() > EXPIRY_MARGIN_SECONDS:
                    return AccessToken(held.token, held.expires_on, request.resource, request.scopes)
            try:
                app = await self._ensure_app()
                self.obo_requests += 1
                result = await anyio.to_thread.run_sync(
                    lambda: app.acquire_token_on_behalf_of(
                        user_assertion=caller.token, scopes=request.msal_scopes, claims_challenge=claims)
                )
            except Exception as exc:  # the authority unreachable, TLS, 5xx: our error with a next step
                translated = translate_exception(exc, self.settings)
                if translated is exc:
                    raise
                raise translated from exc
            if not isinstance(result, dict) or "access_token" not in result:
                raise self._failure(result if isinstance(result, dict) else {}, request.msal_scopes, str(facts["tid"]))
            expires_on = _now() + float(result.get("expires_in", 0))
            await store.put(user, entry, CachedToken(result["access_token"], expires_on))
            return AccessToken(result["access_token"], expires_on, request.resource, request.scopes)

    # ----- what run_tool and the account tools may call ------------------------------------------

    async def sign_in(self, resource: str, scopes: Iterable[str], *, force: bool = False) -> AccessToken:
        """No local sign-in in remote mode: the MCP client signs the user in; consent is the admin's."""
        wanted = list(scopes)
        caller = get_access_token()
        tenant = str((caller.claims or {}).get("tid", "")) if caller is not None else self.settings.tenant_id
        raise AuthError(
            f"Microsoft Graph refused for lack of the permission {' '.join(wanted)}. In remote mode the server "
            "cannot ask you for consent itself; an administrator of your tenant can grant it here: "
            f"{self.admin_consent_url(tenant, [f'{resource}/{s}' for s in wanted])}"
        )

    async def status(self) -> AuthStatus:
        """The caller, from the verified inbound token (no network, no token): who is asking, which tenant.

        The tools use the username to mark external recipients and shared calendars, as in stdio.
        """
        caller = get_access_token()
        facts = (caller.claims or {}) if caller is not None else {}
        redis = bool(self.settings.redis_url)
        return AuthStatus(
            signed_in=caller is not None,
            username=str(facts.get("username") or "") or None,
            authority=self.settings.authority,
            auth_mode="on_behalf_of",
            effective_auth_mode="on_behalf_of",
            cache_backend="redis" if redis else "memory",
            cache_path=None,
            cache_encrypted=True if redis else None,
            cache_problem=None,
            granted_scopes={},
            pending_sign_in=None,
            cache_location="Redis (LOCAL_MCP_REDIS_URL), per user" if redis else "this process's memory, per user",
            tenant_id=str(facts.get("tid") or "") or None,
            account_count=1 if caller is not None else 0,
        )

    async def sign_out(self) -> list[str]:
        raise AuthError("Remote mode has no local sign-in; sign out in your MCP client.")

    def pending_device_flow(self) -> None:
        return None

    async def wait_for_device_flow(self, pending: Any, timeout: float, *, label: str = "") -> None:
        return None

    def admin_consent_url(self, tenant: str, scopes: list[str]) -> str:
        """Entra v2 admin consent: scope and redirect_uri are required, `common` must not be used."""
        origin = "{0.scheme}://{0.netloc}".format(urlsplit(self.settings.server_url))
        return (f"{authority_base(self.settings)}/{tenant}/v2.0/adminconsent?client_id={self.settings.client_id}"
                f"&scope={quote(' '.join(scopes))}&redirect_uri={quote(origin, safe='')}")

    # ----- internals -------------------------------------------------------------------------------

    async def _ensure_app(self) -> Any:
        if self._app is None:
            async with self._app_lock:
                if self._app is None:
                    self._app = await anyio.to_thread.run_sync(self._build_app)
        return self._app

    def _build_app(self) -> Any:
        import msal

        from ..auth.msal_app import CLIENT_CAPABILITIES

        class _KeepNothing(msal.TokenCache):
            def add(self, event: Any, now: Any = None) -> None:
                return None  # tokens go to the per-user store, never to a cache shared by users

        kwargs: dict[str, Any] = {}
        if not self.settings.authority_is_known_to_microsoft:
            kwargs["instance_discovery"] = False
        return msal.ConfidentialClientApplication(
            self.settings.client_id,
            client_credential=client_credential(self.settings),
            authority=self.settings.authority,
            token_cache=_KeepNothing(),
            client_capabilities=CLIENT_CAPABILITIES,
            app_name="local-mcp",
            **kwargs,
        )

    def _failure(self, result: Mapping[str, Any], scopes: list[str], tenant: str) -> AuthError:
        codes = error_codes(result)
        error = str(result.get("error") or "unknown_error")
        described = first_line(str(result.get("error_description") or ""))
        if 65001 in codes:
            return SignInFailedError(
                f"Your tenant has not consented to this server using {' '.join(scopes)} on your behalf "
                f"(AADSTS65001). Ask an administrator to grant consent: {self.admin_consent_url(tenant, scopes)}",
                error=error, codes=codes,
            )
        if result.get("claims") or _CLAIMS_CODES & set(codes) or error == "interaction_required":
            return SignInFailedError(
                "Conditional Access needs more from you before this server may call Microsoft Graph for you "
                f"({described or error}). Sign in again in your MCP client (it may ask for MFA), then retry.",
                error=error, codes=codes,
            )
        if 500133 in codes:  # the inbound token expired while we used it
            return SignInFailedError("Your session with this server expired; reconnect your MCP client and retry.",
                                     error=error, codes=codes)
        return SignInFailedError(
            f"Getting a Microsoft Graph token on your behalf failed: {error}"
            f"{f' ({described})' if described else ''}. Check the server's app registration "
            "(client id, secret or certificate, Graph permissions).",
            error=error, codes=codes,
        )


def client_credential(settings: Settings) -> Any:
    """A secret, or MSAL's certificate dict from a PEM holding the certificate and its private key."""
    secret = client_secret(settings)
    if secret is not None:
        return secret
    assert settings.client_certificate is not None  # validate_remote demands one credential
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    pem = settings.client_certificate.read_bytes()
    certificate = x509.load_pem_x509_certificate(pem)
    key = serialization.load_pem_private_key(pem, password=None)
    return {
        "private_key": key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode("ascii"),
        "thumbprint": hashlib.sha1(certificate.public_bytes(serialization.Encoding.DER)).hexdigest(),  # noqa: S324
        "public_certificate": certificate.public_bytes(serialization.Encoding.PEM).decode("ascii"),
    }


def _now() -> float:
    import time

    return time.time()
