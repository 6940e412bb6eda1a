"""Protocol details the SDK leaves to the server: log levels, unknown tools, honest capabilities.

- `logging/setLevel` (2025-11-25 and older): the server declares `logging` (it sends
  `notifications/message` during sign-in) and keeps each connection's minimum level.
  2026-07-28 clients opt in per request through `_meta`; the SDK filters those itself.
- `tools/call` for a name the server does not have is a JSON-RPC error -32602 (the
  specification's "Unknown tool"), not a tool result; `prompts/get` for an unknown name is
  -32602 too (the specification's "Invalid prompt name"), not the SDK's internal error.
- Capabilities advertise only what works: `subscriptions/listen` is not served (see
  create_server), so 2026-07-28 `server/discover` claims no `listChanged` and no
  `resources.subscribe`.
"""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolRequestParams, EmptyResult, GetPromptRequestParams, SetLevelRequestParams
from mcp_types.jsonrpc import INVALID_PARAMS

# RFC 5424 severities, as MCP orders them (lowest first).
LOG_LEVELS: tuple[str, ...] = ("debug", "info", "notice", "warning", "error", "critical", "alert", "emergency")

_levels: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()


def client_wants_log(session: Any, level: str) -> bool:
    """Whether `logging/setLevel` on this connection lets a `level` message through (default: all)."""
    try:
        minimum = _levels.get(_connection_of(session), "debug")
    except TypeError:  # not weak-referenceable: nobody can have set a level on it
        return True
    return LOG_LEVELS.index(level) >= LOG_LEVELS.index(minimum)


def _connection_of(session: Any) -> Any:
    """The SDK builds a ServerSession per request around one connection object; the level is the connection's."""
    return getattr(session, "_connection", session)


def install(server: MCPServer[Any], *, before_call: Callable[[], Awaitable[None]] | None = None) -> None:
    """Add the handlers above to the server's low-level request table.

    `before_call`: awaited before each `tools/call` looks its tool up (lazy.py builds the tools there).
    """
    lowlevel = server._lowlevel_server
    call_tool = server._handle_call_tool
    get_prompt = server._handle_get_prompt

    async def set_level(ctx: Any, params: SetLevelRequestParams) -> EmptyResult:
        _levels[_connection_of(ctx.session)] = str(params.level)
        return EmptyResult()

    async def call_known_tool(ctx: Any, params: CallToolRequestParams) -> Any:
        if before_call is not None:
            await before_call()
        if server._tool_manager.get_tool(params.name) is None:
            raise MCPError(INVALID_PARAMS, f"Unknown tool: {params.name!r}. tools/list names the tools this server has.")
        return await call_tool(ctx, params)

    async def get_known_prompt(ctx: Any, params: GetPromptRequestParams) -> Any:
        # The SDK turns an unknown name into a ValueError, which reaches the client as -32603
        # "Internal server error" with a traceback in our log; the conformance suite caught it.
        if server._prompt_manager.get_prompt(params.name) is None:
            raise MCPError(INVALID_PARAMS, f"Unknown prompt: {params.name!r}. prompts/list names the prompts this server has.")
        return await get_prompt(ctx, params)

    lowlevel.add_request_handler("logging/setLevel", SetLevelRequestParams, set_level)
    lowlevel.add_request_handler("tools/call", CallToolRequestParams, call_known_tool)
    lowlevel.add_request_handler("prompts/get", GetPromptRequestParams, get_known_prompt)
