"""create_server(settings): the MCP server, its lifespan and its tools.

Start-up imports only the MCP SDK and our own small modules; MSAL, msal-extensions,
msgraph and platformdirs load on the first tool call that needs them, so
`initialize` is answered at once and never waits for a sign-in.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from mcp.server.mcpserver import MCPServer

from . import protocol
from ._version import __version__
from .auth.tokens import TokenProvider
from .config import Settings
from .graph.client import GraphClient
from .tools import account, calendar, contacts, files, graph_request, mail, people, search, tasks, teams
from .tools._runtime import AppState
from .tools.schemas import compact_listing

INSTRUCTIONS = (
    "local-mcp works with the user's Microsoft 365 data (profile, and more as tools allow) through "
    "Microsoft Graph, signed in as the user. Tools sign in on first use; if a tool answers with a "
    "sign-in URL and code, show them to the user and call the tool again after they sign in. "
    "auth_status tells who is signed in; sign_out forgets the account."
)


REMOTE_INSTRUCTIONS = (
    "local-mcp works with the signed-in user's Microsoft 365 data through Microsoft Graph, on behalf of "
    "the user whose token this MCP client sends. Write tools ask the user to confirm first."
)


# Modules whose register(server, settings) adds Graph tools (write tools only with allow_writes).
GRAPH_TOOL_AREAS = (account, mail, calendar, files, people, search, tasks, contacts, teams, graph_request)
# Tools about this machine's own sign-in and token cache: not listed in remote (http) mode,
# where the MCP client signs the user in (local_mcp/remote/).
LOCAL_SIGN_IN_TOOLS = ("sign_in", "sign_out", "auth_status", "list_accounts", "switch_account")


def create_server(
    settings: Settings, *, tokens: TokenProvider | None = None, graph_http_client: Any = None
) -> MCPServer[AppState]:
    """Build the server. Tests may supply a TokenProvider on a fake MSAL app and an httpx client for Graph."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        provider: Any = tokens or _token_provider(settings)
        async with provider:
            state = AppState(settings=settings, tokens=provider, graph=GraphClient(settings, provider, http_client=graph_http_client))
            if not settings.preload:
                yield state
                return
            from .preload import preload

            async with anyio.create_task_group() as group:
                group.start_soon(preload, state)  # loads the Graph/MSAL stack while idle, see preload.py
                try:
                    yield state
                finally:
                    group.cancel_scope.cancel()

    remote: dict[str, Any] = {}
    if settings.transport == "http":
        from .remote.http_app import AuditMiddleware, request_state_security

        remote = {"middleware": [AuditMiddleware()], "request_state_security": request_state_security(settings)}
    server: MCPServer[AppState] = MCPServer(
        name="local-mcp",
        title="Microsoft 365 (local)",
        version=__version__,
        instructions=INSTRUCTIONS if settings.transport == "stdio" else REMOTE_INSTRUCTIONS,
        lifespan=lifespan,
        log_level=settings.log_level,  # type: ignore[arg-type]
        subscriptions=False,  # nothing to subscribe to: advertise no listChanged / resources.subscribe
        **remote,
    )
    protocol.install(server)
    for area in GRAPH_TOOL_AREAS:
        area.register(server, settings)
    if settings.transport == "http":
        for name in LOCAL_SIGN_IN_TOOLS:
            server.remove_tool(name)
    compact_listing(server, allow_writes=settings.allow_writes)  # every tool, whichever area registered it: see tools/schemas.py
    return server


def _token_provider(settings: Settings) -> Any:
    """Local mode: this machine's sign-in (TokenProvider); remote mode: On-Behalf-Of the caller."""
    if settings.transport == "http":
        from .remote.obo import OboTokenProvider

        return OboTokenProvider(settings)
    # A client may stop this process before the person entered a device code: hand the sign-in on.
    return TokenProvider(settings, hand_off_device_flows=True)


def tool_permissions(settings: Settings) -> list[Any]:
    """Every Graph tool (write tools included) with the delegated scopes it asks for."""
    from .tools._common import DECLARED

    create_server(settings.with_changes(allow_writes=True))
    return sorted(DECLARED.values(), key=lambda info: (info.area, info.name))
