"""The remote-mode web app: /mcp (Streamable HTTP) behind Entra bearer auth.

    GET  /.well-known/oauth-protected-resource[/mcp]   RFC 9728 metadata (no auth)
    GET  /healthz                                      liveness for the platform (no auth)
    POST /mcp                                          MCP; 401/403 with a Bearer challenge
    GET, DELETE /mcp                                   with LOCAL_MCP_HTTP_SESSIONS: a session's SSE stream, its end

Stateless with JSON responses by default: every request stands alone, any replica serves it.
LOCAL_MCP_HTTP_SESSIONS=1 serves stateful sessions with SSE responses instead, so that a tool can
send `elicitation/create` (and progress) to a 2025-11-25 client in the middle of a call. The SDK
binds each session to the credential that opened it (client id, issuer, user object id): another
user's token with that `Mcp-Session-Id` gets 404. Sessions live in this process's memory.

Built from the SDK's pieces: BearerAuthBackend + AuthContextMiddleware (the caller's token
reaches tools through the SDK's `get_access_token()`), RequireAuthMiddleware (its challenge
extended with `scope=`, and `error=` only when a token was sent), ProtectedResourceMetadata,
TransportSecuritySettings (Host/Origin checks from LOCAL_MCP_SERVER_URL) and the transport's
request body limit. One audit line per tool call goes to stderr.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from mcp.server.auth.middleware.auth_context import AuthContextMiddleware, get_access_token
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser, BearerAuthBackend, RequireAuthMiddleware
from mcp.server.request_state import RequestStateSecurity
from mcp.server.transport_security import TransportSecuritySettings
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from .settings import MAX_REQUEST_BODY_BYTES, authorization_server, is_loopback, metadata_url, resource_scopes
from .verifier import EntraTokenVerifier

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from ..config import Settings

logger = logging.getLogger(__name__)
audit_logger = logging.getLogger("local_mcp.audit")
audit_logger.setLevel(logging.INFO)  # one line per tool call, whatever LOCAL_MCP_LOG_LEVEL says


class BearerChallenge(RequireAuthMiddleware):
    """The SDK's RequireAuthMiddleware with the challenge MCP clients and Entra expect.

    401 `Bearer resource_metadata="…", scope="…"` (+ `error="invalid_token"` when a token was
    sent); 403 `error="insufficient_scope"` for a valid token without the required scope.
    """

    def __init__(self, app: Any, required_scopes: list[str], resource_metadata_url: str, challenge_scope: str) -> None:
        super().__init__(app, required_scopes)
        self.metadata_url = resource_metadata_url
        self.challenge_scope = challenge_scope

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if not isinstance(user, AuthenticatedUser):
            sent = Headers(scope=scope).get("authorization", "").lower().startswith("bearer ")
            await self._challenge(send, 401, "invalid_token" if sent else None,
                                  "The bearer token is missing, expired, or not for this server.")
            return
        missing = [s for s in self.required_scopes if s not in user.scopes]
        if missing:
            await self._challenge(send, 403, "insufficient_scope", f"The token lacks the scope {' '.join(missing)}.")
            return
        await self.app(scope, receive, send)

    async def _challenge(self, send: Send, status: int, error: str | None, description: str) -> None:
        parts = [f'resource_metadata="{self.metadata_url}"', f'scope="{self.challenge_scope}"']
        if error:
            parts += [f'error="{error}"', f'error_description="{description}"']
        response = JSONResponse({"error": error or "unauthorized", "error_description": description}, status,
                                headers={"WWW-Authenticate": "Bearer " + ", ".join(parts)})
        await response({"type": "http"}, _no_receive, send)


async def _no_receive() -> Any:  # a JSONResponse never reads the request
    return {"type": "http.disconnect"}


class AuditMiddleware:
    """ServerMiddleware: one stderr line per tools/call (tenant, user object id, tool, status, ms)."""

    async def __call__(self, ctx: Any, call_next: Any) -> Any:
        if getattr(ctx, "method", None) != "tools/call":
            return await call_next(ctx)
        params = getattr(ctx, "params", None) or {}
        tool = params.get("name", "?") if isinstance(params, dict) else "?"
        token = get_access_token()
        claims = (token.claims or {}) if token is not None else {}
        started, status = time.monotonic(), "error"
        try:
            result = await call_next(ctx)
            status = _status_of(result)
            return result
        finally:
            audit_logger.info(
                "audit tenant=%s user=%s tool=%s status=%s duration_ms=%d",
                claims.get("tid", "-"), claims.get("oid", "-"), tool, status, (time.monotonic() - started) * 1000,
            )


def _status_of(result: Any) -> str:
    data = result.model_dump(by_alias=True) if hasattr(result, "model_dump") else result
    if isinstance(data, dict):
        if data.get("isError"):
            return "error"
        if data.get("inputRequests") or data.get("resultType") == "input_required":
            return "input_required"
    return "ok"


def transport_security(settings: Settings) -> TransportSecuritySettings:
    """DNS-rebinding protection: only the server URL's host (and loopback, when listening there)."""
    parts = urlsplit(settings.server_url)
    hosts, origins = [parts.netloc], [f"{parts.scheme}://{parts.netloc}"]
    if is_loopback(settings.host):
        hosts += [f"127.0.0.1:{settings.port}", f"localhost:{settings.port}", f"[::1]:{settings.port}"]
    return TransportSecuritySettings(enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins)


def request_state_security(settings: Settings) -> RequestStateSecurity:
    """`input_required` request state sealed with a key every replica shares (from LOCAL_MCP_CACHE_KEY).

    Without LOCAL_MCP_CACHE_KEY the key is random per process: fine for one process only.
    """
    if not settings.cache_key:
        return RequestStateSecurity.ephemeral(audience=settings.server_url)
    key = hashlib.sha256(b"local-mcp request state\0" + settings.cache_key.encode("utf-8")).digest()
    return RequestStateSecurity(keys=[key], audience=settings.server_url)


def build_http_app(settings: Settings, server: MCPServer[Any]) -> Starlette:
    """The ASGI app serving `server` at the path of LOCAL_MCP_SERVER_URL."""
    from mcp.server.auth.handlers.metadata import ProtectedResourceMetadataHandler
    from mcp.shared.auth import ProtectedResourceMetadata
    from pydantic import AnyHttpUrl

    path = urlsplit(settings.server_url).path
    sessions = settings.http_sessions
    if sessions and settings.redis_url:
        logger.warning(
            "LOCAL_MCP_HTTP_SESSIONS with LOCAL_MCP_REDIS_URL: MCP sessions live in one process; with several "
            "replicas the load balancer must keep each Mcp-Session-Id on one replica (sticky sessions), else "
            "clients get 404 Session not found"
        )
    inner = server.streamable_http_app(
        streamable_http_path=path, stateless_http=not sessions, json_response=not sessions,
        max_request_body_size=MAX_REQUEST_BODY_BYTES, transport_security=transport_security(settings),
        host=settings.host,
    )
    endpoint = next(route.endpoint for route in inner.routes if isinstance(route, Route) and route.path == path)
    scopes = resource_scopes(settings)
    metadata = ProtectedResourceMetadata(
        resource=AnyHttpUrl(settings.server_url),
        authorization_servers=[AnyHttpUrl(authorization_server(settings))],
        scopes_supported=scopes,
        bearer_methods_supported=["header"],
        resource_name="local-mcp (Microsoft 365)",
    )
    well_known = ProtectedResourceMetadataHandler(metadata).handle
    protected = BearerChallenge(endpoint, list(settings.required_scopes), metadata_url(settings), " ".join(scopes))

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok"})

    routes = [
        Route(path, endpoint=protected, methods=["GET", "POST", "DELETE"]),
        Route("/.well-known/oauth-protected-resource" + path, endpoint=well_known, methods=["GET"]),
        Route("/.well-known/oauth-protected-resource", endpoint=well_known, methods=["GET"]),
        Route("/healthz", endpoint=health, methods=["GET"]),
    ]
    middleware = [
        Middleware(AuthenticationMiddleware, backend=BearerAuthBackend(EntraTokenVerifier(settings))),
        Middleware(AuthContextMiddleware),
    ]
    return Starlette(routes=routes, middleware=middleware, lifespan=lambda app: server.session_manager.run())


def create_app() -> Starlette:
    """App factory for `uvicorn --factory local_mcp.remote.http_app:create_app --workers N` (settings from env)."""
    from ..config import Settings
    from ..logs import configure_logging
    from ..server import create_server

    settings = Settings.load()
    if settings.transport != "http":
        settings = replace(settings, transport="http")  # validated again, now as remote mode
    configure_logging(settings.log_level)
    return build_http_app(settings, create_server(settings))


async def serve_http(settings: Settings, server: MCPServer[Any]) -> None:
    """Serve until cancelled (Ctrl+C), with uvicorn on LOCAL_MCP_HOST:LOCAL_MCP_PORT."""
    import uvicorn

    app = build_http_app(settings, server)
    config = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None, lifespan="on",
                            proxy_headers=True, server_header=False)
    logger.warning("local-mcp serving MCP over HTTP at %s (listening on %s:%d, %s)", settings.server_url,
                   settings.host, settings.port, "stateful sessions" if settings.http_sessions else "stateless")
    await uvicorn.Server(config).serve()
