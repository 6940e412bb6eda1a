"""create_server(settings): the MCP server, its lifespan and its tools.

Start-up imports only the MCP SDK and our own small modules; MSAL, msal-extensions,
msgraph and platformdirs load on the first tool call that needs them, so
`initialize` is answered at once and never waits for a sign-in. `serve` on stdio goes
further (`lazy_tools=True`, see lazy.py): with a valid tools/list cache (listing.py) it
imports neither the tool modules nor the token provider and Graph client before
`initialize` is answered, and builds the tools while idle or at the first tools/call.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server.mcpserver import MCPServer

from . import protocol
from ._version import __version__
from .config import Settings

if TYPE_CHECKING:
    from .auth.tokens import TokenProvider
    from .state import AppState

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


# Tools about this machine's own sign-in and token cache: not listed in remote (http) mode,
# where the MCP client signs the user in (local_mcp/remote/).
LOCAL_SIGN_IN_TOOLS = ("sign_in", "sign_out", "auth_status", "list_accounts", "switch_account")


def graph_tool_areas() -> tuple[Any, ...]:
    """Modules whose register(server, settings) adds Graph tools (write tools only with allow_writes)."""
    from .tools import account, calendar, contacts, files, graph_request, mail, people, search, tasks, teams

    return (account, mail, calendar, files, people, search, tasks, contacts, teams, graph_request)


def add_tools(server: MCPServer[Any], settings: Settings) -> None:
    """Register every tool the settings list, and make what tools/list publishes compact."""
    from .tools.schemas import compact_listing

    for area in graph_tool_areas():
        area.register(server, settings)
    if settings.transport == "http":
        for name in LOCAL_SIGN_IN_TOOLS:
            server.remove_tool(name)
    compact_listing(server, allow_writes=settings.allow_writes)  # every tool, whichever area registered it: see tools/schemas.py


def create_server(
    settings: Settings, *, tokens: TokenProvider | None = None, graph_http_client: Any = None, lazy_tools: bool = False
) -> MCPServer[AppState]:
    """Build the server. Tests may supply a TokenProvider on a fake MSAL app and an httpx client for Graph.

    `lazy_tools` (the `serve` command; stdio only, ignored for http): tools/list from the listing
    cache when it is valid, and the tools, token provider and Graph client made when first needed
    (lazy.py). Without it everything is built here and in the lifespan, as tests expect.
    """
    lazy: Any = None

    @asynccontextmanager
    async def lifespan(_: MCPServer[AppState]) -> AsyncIterator[AppState]:
        if lazy is not None:
            async with lazy.serving(settings.preload) as state:
                yield state
            return
        from .graph.client import GraphClient
        from .state import AppState

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
    if lazy_tools and settings.transport == "stdio":
        from .lazy import LazyStart

        lazy = LazyStart(server, settings, add_tools, open_state=lambda: _open_state(settings, tokens, graph_http_client))
        protocol.install(server, before_call=lazy.ready)
        return server
    protocol.install(server)
    add_tools(server, settings)
    return server


def _open_state(settings: Settings, tokens: Any, graph_http_client: Any) -> tuple[Any, Any]:
    """The token provider (not yet entered) and the Graph client on it; their modules load here."""
    from .graph.client import GraphClient

    provider: Any = tokens or _token_provider(settings)
    return provider, GraphClient(settings, provider, http_client=graph_http_client)


def _token_provider(settings: Settings) -> Any:
    """Local mode: this machine's sign-in (TokenProvider); remote mode: On-Behalf-Of the caller."""
    if settings.transport == "http":
        from .remote.obo import OboTokenProvider

        return OboTokenProvider(settings)
    from .auth.tokens import TokenProvider

    # A client may stop this process before the person entered a device code: hand the sign-in on.
    return TokenProvider(settings, hand_off_device_flows=True)


def tool_permissions(settings: Settings) -> list[Any]:
    """Every Graph tool (write tools included) with the delegated scopes it asks for."""
    from .tools._common import DECLARED

    create_server(settings.with_changes(allow_writes=True))
    return sorted(DECLARED.values(), key=lambda info: (info.area, info.name))
