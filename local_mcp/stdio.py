"""Serving MCP on stdio, answering malformed input instead of ignoring it.

The SDK's stdio transport parses each line and hands a parse failure to the server
as an exception item, which the server drops. A client that sent a request with
a malformed body would then wait forever. JSON-RPC 2.0 asks for an error response
(-32700 parse error, -32600 invalid request, with the request's id when it can be
read), so this relay sends one and passes everything else through unchanged.

The SDK also reads a request whose `id` is neither a string nor an integer (null, a
fraction, an object, an array, a boolean) as a notification, and answers nothing. Such
a line is marked before the SDK parses it (`checked_lines`), so it fails validation and
gets -32600 with id null, as JSON-RPC 2.0 asks when the id cannot be used.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
from collections.abc import AsyncIterator
from typing import Any, cast

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp_types import ErrorData, JSONRPCError
from mcp_types.jsonrpc import INVALID_REQUEST, PARSE_ERROR

from .preload import ACTIVITY

logger = logging.getLogger(__name__)


# Put in place of a request line whose id is unusable; no JSON-RPC message has this shape.
_BAD_ID_KEY = "local_mcp_unusable_id"
_JSON_KINDS = {"float": "a number with a decimal point", "dict": "an object", "list": "an array", "bool": "a boolean"}


def valid_request_id(value: Any) -> bool:
    """JSON-RPC ids the server answers with: a string or an integer (a boolean is not one)."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def check_line(line: str) -> str:
    """`line` unchanged, or, for a request with an unusable `id`, a line that fails validation."""
    try:
        message = json.loads(line)
    except ValueError:
        return line  # the SDK answers it: parse error
    if isinstance(message, dict) and "method" in message and "id" in message and not valid_request_id(message["id"]):
        kind = type(message["id"]).__name__ if message["id"] is not None else "null"
        return json.dumps({_BAD_ID_KEY: _JSON_KINDS.get(kind, kind)}) + "\n"
    return line


async def checked_lines(lines: Any) -> AsyncIterator[str]:
    async for line in lines:
        yield check_line(line)


def error_for(exc: Exception) -> JSONRPCError:
    """The JSON-RPC error answering a line the transport could not parse."""
    errors = exc.errors() if hasattr(exc, "errors") else []
    if any(e.get("type") == "json_invalid" for e in errors):
        return JSONRPCError(jsonrpc="2.0", id=None, error=ErrorData(code=PARSE_ERROR, message="Parse error: the line is not valid JSON."))
    request_id = None
    for error in errors:
        value = error.get("input")
        if isinstance(value, dict) and _BAD_ID_KEY in value:
            return JSONRPCError(jsonrpc="2.0", id=None, error=ErrorData(
                code=INVALID_REQUEST,
                message=f"Invalid request: `id` must be a string or an integer (got {value[_BAD_ID_KEY]}).",
            ))
        if isinstance(value, dict) and isinstance(value.get("id"), (str, int)) and not isinstance(value.get("id"), bool):
            request_id = value["id"]
            break
    return JSONRPCError(
        jsonrpc="2.0",
        id=request_id,
        error=ErrorData(code=INVALID_REQUEST, message="Invalid request: not a JSON-RPC 2.0 request, notification or response."),
    )


async def serve_stdio(server: MCPServer[Any], *, stop_on_signals: bool = True) -> None:
    """Like MCPServer.run_stdio_async, plus error answers for malformed lines and a prompt stop on SIGINT/SIGTERM."""
    lowlevel = server._lowlevel_server  # the SDK's own run_stdio_async drives this same object
    stdin, release_stdin = _claimed_stdin()
    try:
        await _serve(lowlevel, stdin, stop_on_signals)
    finally:
        if release_stdin is not None:
            release_stdin()


def _claimed_stdin() -> tuple[Any, Any]:
    """stdin as the SDK would claim it (fd 0 diverted to the null device), its lines checked."""
    text: Any
    try:  # the SDK's own claim, so handlers and children still read EOF from fd 0
        from mcp.server.stdio import _claim_fd, _open_stdin_diversion, _UnownedTextWrapper

        buffer, release = _claim_fd(0, sys.stdin, "rb", _open_stdin_diversion)
        text = _UnownedTextWrapper(buffer, encoding="utf-8", errors="replace")
    except ImportError:  # a later SDK without these: read stdin in place
        import io

        buffer, release = sys.stdin.buffer, None
        text = io.TextIOWrapper(buffer, encoding="utf-8", errors="replace")
    return cast(Any, _Lines(anyio.wrap_file(text))), release


class _Lines:
    """What stdio_server iterates over: stdin's lines, each through check_line."""

    def __init__(self, source: Any) -> None:
        self._source = source

    def __aiter__(self) -> AsyncIterator[str]:
        return checked_lines(self._source)


async def _serve(lowlevel: Any, stdin: Any, stop_on_signals: bool) -> None:
    async with stdio_server(stdin=stdin) as (read_stream, write_stream):
        relay_send, relay_receive = anyio.create_memory_object_stream[Any](0)

        async def relay() -> None:
            async with relay_send:
                async for item in read_stream:
                    ACTIVITY.touch()  # the preloader waits for quiet (preload.py)
                    if isinstance(item, Exception):
                        logger.warning("Answering a malformed JSON-RPC line with an error (%s)", type(item).__name__)
                        await write_stream.send(SessionMessage(error_for(item)))
                        continue
                    await relay_send.send(item)

        stopped: list[int] = []
        async with anyio.create_task_group() as group:
            group.start_soon(relay)
            if stop_on_signals and _can_watch_signals():
                group.start_soon(_stop_on_signal, group.cancel_scope, stopped)
            await lowlevel.run(relay_receive, write_stream, lowlevel.create_initialization_options())
            group.cancel_scope.cancel()
        if stopped:
            # The server and its lifespan have shut down. The SDK reads stdin in a worker thread
            # that no cancellation reaches (it returns at the next line), so leave now, quietly.
            logger.info("Stopped by signal %d", stopped[0])
            logging.shutdown()
            sys.stderr.flush()
            os._exit(0)


def _can_watch_signals() -> bool:
    return sys.platform != "win32" and threading.current_thread() is threading.main_thread()


async def _stop_on_signal(scope: anyio.CancelScope, stopped: list[int]) -> None:
    """SIGINT (Ctrl-C) or SIGTERM: stop serving at once, even while stdin stays open."""
    with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
        async for signum in signals:
            stopped.append(int(signum))
            scope.cancel()
            return
