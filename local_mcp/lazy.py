"""Serving stdio without making, before `initialize`, what `initialize` does not need.

`create_server(settings, lazy_tools=True)` (the `serve` command on stdio) hands the server to
LazyStart:

- with a valid listing cache (listing.py), start-up neither imports local_mcp/tools/** nor
  builds a tool, and imports neither the token provider nor the Graph client; `tools/list` is
  answered from the cache (the same definitions the built tools publish);
- the tools are built in a worker thread into a tool manager of their own, which then replaces
  the server's in one assignment on the event loop, so a request never sees a half-registered
  set: first thing in the idle time after `initialize` (preload.py), or at the first
  `tools/call`, whichever comes first; concurrent callers share one build;
- the token provider and Graph client (AppState.tokens / .graph) come the same way: their modules
  are imported in a worker thread, and a task of the lifespan enters the provider (it owns a task
  group) and holds it until shutdown;
- without a valid cache the tools are built at once, as without lazy tools, and the listing is
  written to the cache when the connection is first idle (or at shutdown), for the next start.

LOCAL_MCP_PRELOAD=0 leaves all of it to the first `tools/call`; `tools/list` still comes from the cache.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.to_thread
from mcp.server.mcpserver import MCPServer
from mcp_types import ListToolsResult, PaginatedRequestParams

from ._gc import quiet_gc
from .listing import dump_tool, listing_key, load_listing, published_tools, store_listing
from .state import AppState

logger = logging.getLogger(__name__)

# What start-up leaves out when the listing cache is valid (logged at DEBUG when serving starts).
DEFERRED_MODULES = ("local_mcp.tools", "local_mcp.auth.tokens", "local_mcp.graph")
STATE_MODULES = ("local_mcp.auth.tokens", "local_mcp.graph.client")


class LazyStart:
    """The tools, the token provider and the Graph client of one server, made when first needed."""

    def __init__(
        self,
        server: MCPServer[Any],
        settings: Any,
        build: Callable[[MCPServer[Any], Any], None],
        *,
        open_state: Callable[[], tuple[Any, Any]],
    ) -> None:
        self.server, self.settings = server, settings
        self._build, self._open_state = build, open_state
        self.key = listing_key(settings)
        self.cached, reason = load_listing(settings, self.key)
        self.built = False
        self._unsaved = False  # the built tools' listing is not in the cache yet
        self._build_lock: anyio.Lock | None = None
        self._served_from_cache = False
        self._wanted: anyio.Event | None = None
        self._opened: anyio.Event | None = None
        self._closing: anyio.Event | None = None
        self._state_error: BaseException | None = None
        self._sdk_list_tools = server._handle_list_tools
        server._lowlevel_server.add_request_handler("tools/list", PaginatedRequestParams, self._list_tools)
        if self.cached is None:
            started = time.perf_counter()
            build(server, settings)
            self.built, self._unsaved = True, True
            logger.debug("Tools built at start-up in %.0f ms (%s)", (time.perf_counter() - started) * 1000, reason)
        else:
            logger.debug("tools/list comes from the listing cache (%d tools); the tools are built when first needed", len(self.cached))

    # ----- tools/list and the tools ------------------------------------------------------------

    async def _list_tools(self, ctx: Any, params: PaginatedRequestParams) -> ListToolsResult:
        if self.built or self.cached is None:
            return await self._sdk_list_tools(ctx, params)
        if not self._served_from_cache:
            self._served_from_cache = True
            logger.debug("tools/list answered from the listing cache")
        return ListToolsResult(tools=list(self.cached))

    async def ensure_tools(self, why: str = "a tools/call") -> None:
        """Build the tools unless they are built (once, whoever asks first; the others wait for it)."""
        if self.built:
            return
        if self._build_lock is None:
            self._build_lock = anyio.Lock()
        async with self._build_lock:
            if self.built:
                return
            started = time.perf_counter()
            with anyio.CancelScope(shield=True):  # a caller that gives up must not waste a finished build
                manager, listing = await anyio.to_thread.run_sync(self._build_off_loop)
                self.server._tool_manager = manager  # on the loop, in one assignment: the old set or the whole new one
                self.built = True
            logger.debug("Tools built for %s in %.0f ms", why, (time.perf_counter() - started) * 1000)
            if self.cached is not None and listing is not None and listing != [dump_tool(tool) for tool in self.cached]:
                logger.warning("The tools/list cache did not match the tools as built; tools/list now lists the built tools")
                self._unsaved = True
                await anyio.to_thread.run_sync(self._save)

    def _build_off_loop(self) -> tuple[Any, list[dict[str, Any]] | None]:
        """In a worker thread: the tools on a server of their own (nobody else sees it), and its listing."""
        with quiet_gc():  # imports and models that live as long as the process, see _gc.py
            scratch: MCPServer[Any] = MCPServer(name=self.server.name)
            self._build(scratch, self.settings)
        try:
            listing = published_tools(scratch)
        except Exception as exc:  # only the check against the cache is lost
            logger.debug("Could not list the built tools (%s)", type(exc).__name__)
            listing = None
        return scratch._tool_manager, listing

    def _save(self) -> None:
        """Write the built tools' listing to the cache, if it is not there yet; never raises."""
        if not self._unsaved:
            return
        self._unsaved = False
        try:
            path = store_listing(self.settings, self.key, published_tools(self.server))
        except Exception as exc:  # a cache: the next start builds the tools again, nothing worse
            logger.debug("tools/list not cached (%s)", type(exc).__name__)
            return
        if path is not None:
            logger.debug("tools/list cached in %s", path)

    async def _save_when_idle(self) -> None:
        from .preload import wait_for_quiet

        await wait_for_quiet()
        await anyio.to_thread.run_sync(self._save)

    # ----- the token provider and the Graph client ---------------------------------------------

    async def open_state(self) -> None:
        """Make AppState.tokens and .graph unless they are made (the lifespan's holder task enters the provider)."""
        if self._wanted is None or self._opened is None:
            raise RuntimeError("the server is not serving (its lifespan has not started)")
        if not self._opened.is_set():
            self._wanted.set()
            await self._opened.wait()
        if self._state_error is not None:
            raise RuntimeError("the token provider or the Graph client could not be made") from self._state_error

    async def ready(self) -> None:
        """Everything a tools/call needs."""
        await self.ensure_tools()
        await self.open_state()

    async def _hold_state(self, state: AppState) -> None:
        assert self._wanted is not None and self._opened is not None and self._closing is not None
        await self._wanted.wait()
        if self._closing.is_set():  # shutting down: nobody will use them
            self._state_error = RuntimeError("the server is stopping")
            self._opened.set()
            return
        try:
            await anyio.to_thread.run_sync(_import_state_modules)
            provider, graph = self._open_state()
            async with provider:
                state.tokens, state.graph = provider, graph
                self._opened.set()
                await self._closing.wait()
        except Exception as exc:
            if self._opened.is_set():
                raise  # while serving: the lifespan fails, as it would without lazy tools
            self._state_error = exc
            self._opened.set()

    # ----- the lifespan ------------------------------------------------------------------------

    @asynccontextmanager
    async def serving(self, preload: bool) -> AsyncIterator[AppState]:
        """The lifespan: an AppState whose tokens and graph are made when first needed."""
        early = [name for name in DEFERRED_MODULES if name in sys.modules]
        logger.debug("Serving stdio; loaded before initialize: %s", ", ".join(early) if early else "none of " + ", ".join(DEFERRED_MODULES))
        state = AppState(settings=self.settings, tokens=None, graph=None)
        self._wanted, self._opened, self._closing = anyio.Event(), anyio.Event(), anyio.Event()
        async with anyio.create_task_group() as holder:
            holder.start_soon(self._hold_state, state)
            async with anyio.create_task_group() as idle:
                if self._unsaved:
                    idle.start_soon(self._save_when_idle)
                if preload:
                    from .preload import ACTIVITY
                    from .preload import preload as run_preload

                    first = [("tools", lambda: self.ensure_tools("the preloader")), ("token provider and graph client", self.open_state)]
                    idle.start_soon(run_preload, state, ACTIVITY, first)
                try:
                    yield state
                finally:
                    idle.cancel_scope.cancel()
            self._closing.set()  # the holder leaves `async with provider` the normal way
            self._wanted.set()  # (or stops waiting for someone to want them)
        self._save()  # stopped before the connection was ever idle


def _import_state_modules() -> None:
    import importlib

    with quiet_gc():
        for name in STATE_MODULES:
            importlib.import_module(name)
