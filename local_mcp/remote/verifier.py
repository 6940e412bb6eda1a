"""EntraTokenVerifier: is this bearer token an Entra ID v2 access token for our API, from a user?

    keys      the authority's OpenID configuration names the JWKS; PyJWT's PyJWKClient caches
              the keys and fetches them again once when a token names an unknown `kid`
    checks    RS256 only; `iss` = the v2.0 issuer of an accepted tenant (and `tid` matches);
              `aud` = LOCAL_MCP_SERVER_URL (Application ID URI, v1-style) or the server's
              client id (v2 tokens); `exp`/`nbf` with LEEWAY_SECONDS of clock skew;
              a delegated token: `scp` present and not app-only (ID tokens carry no `scp`)

A refusal returns None (the SDK's middleware answers 401) and logs why, never the token.
A token without the required scope passes here; the middleware answers 403 for it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import anyio
import anyio.to_thread
from mcp.server.auth.provider import AccessToken, TokenVerifier

from .settings import accepted_tenants, authority_base, issuer_for

if TYPE_CHECKING:
    from ..config import Settings

logger = logging.getLogger(__name__)

LEEWAY_SECONDS = 60
JWKS_CACHE_SECONDS = 3600
# At most one forced JWKS fetch per this many seconds for unknown key ids (PyJWT's cooldown).
JWKS_REFRESH_COOLDOWN_SECONDS = 30.0


class EntraTokenVerifier(TokenVerifier):
    """The SDK's TokenVerifier for Entra ID access tokens issued to this server's API."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._tenants = accepted_tenants(settings)
        self._audiences = [settings.server_url, settings.client_id]
        self._jwks: Any = None  # jwt.PyJWKClient, built on the first token
        self._lock = anyio.Lock()

    async def verify_token(self, token: str) -> AccessToken | None:
        """The token's facts when it is valid for this server, else None (the reason is logged)."""
        import jwt

        try:
            jwks = await self._jwks_client()
        except Exception as exc:  # the authority is unreachable: refuse, say why, keep serving
            logger.warning("Could not read the authority's OpenID configuration: %s", type(exc).__name__)
            return None
        try:
            header = jwt.get_unverified_header(token)
            if header.get("alg") != "RS256" or not header.get("kid"):
                return _refuse(f"alg {header.get('alg')!r} or kid missing; only RS256 with a kid is accepted")
            key = await anyio.to_thread.run_sync(jwks.get_signing_key, str(header["kid"]))
            claims: dict[str, Any] = jwt.decode(
                token, key.key, algorithms=["RS256"], audience=self._audiences, leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iss", "aud", "tid", "oid"]},
            )
        except jwt.ExpiredSignatureError:
            return _refuse("the token has expired")
        except jwt.InvalidAudienceError:
            return _refuse("the token is for another audience (not LOCAL_MCP_SERVER_URL or the client id)")
        except jwt.PyJWKClientConnectionError:
            logger.warning("Could not fetch the authority's signing keys (JWKS).")
            return None
        except jwt.PyJWKClientError as exc:
            return _refuse(f"no signing key for the token ({exc})")
        except jwt.InvalidTokenError as exc:
            return _refuse(f"{type(exc).__name__}: {exc}")
        tid = str(claims.get("tid", "")).lower()
        if tid not in self._tenants:
            return _refuse(f"tenant {tid} is not accepted (LOCAL_MCP_TENANT_ID / LOCAL_MCP_ALLOWED_TENANTS)")
        if claims.get("iss") != issuer_for(self._settings, tid) or claims.get("ver") != "2.0":
            return _refuse(f"issuer {claims.get('iss')!r} is not the v2.0 issuer of tenant {tid}")
        scp = claims.get("scp")
        if claims.get("idtyp") == "app" or not isinstance(scp, str):
            return _refuse("not a delegated access token (an ID token or an app-only token)")
        return AccessToken(
            token=token,
            client_id=str(claims.get("azp") or claims.get("appid") or ""),
            scopes=scp.split(),
            expires_at=int(claims["exp"]),
            resource=self._settings.server_url,
            subject=str(claims["oid"]),
            claims={"tid": tid, "oid": str(claims["oid"]), "iss": claims["iss"],
                    "username": str(claims.get("preferred_username") or claims.get("upn") or "")},
        )

    async def _jwks_client(self) -> Any:
        if self._jwks is not None:
            return self._jwks
        async with self._lock:
            if self._jwks is None:
                import httpx
                import jwt

                tenant = self._settings.tenant_id
                url = f"{authority_base(self._settings)}/{tenant}/v2.0/.well-known/openid-configuration"
                async with httpx.AsyncClient(timeout=10.0) as client:
                    response = await client.get(url)
                    response.raise_for_status()
                    jwks_uri = response.json()["jwks_uri"]
                self._jwks = jwt.PyJWKClient(jwks_uri, cache_keys=True, lifespan=JWKS_CACHE_SECONDS, timeout=10,
                                              cooldown_duration=JWKS_REFRESH_COOLDOWN_SECONDS)
        return self._jwks


def _refuse(reason: str) -> AccessToken | None:
    logger.info("Refused a bearer token: %s.", reason)
    return None
