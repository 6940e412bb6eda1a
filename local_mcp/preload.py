"""Use the idle time after `initialize`: load the Graph / MSAL / cache stack in the background.

A client starts the server at launch and the first question comes seconds later. Without
this, that first tool call imports msgraph, kiota, httpx, MSAL and msal-extensions and opens
the token cache (~100 ms or more). The preloader does it while the server waits:

- it starts only after the first message has arrived and the connection has then been quiet
  for QUIET_SECONDS (so `initialize` is answered and `tools/list` is not competing for the
  GIL), or after NO_CLIENT_SECONDS without any message (transports that do not report
  activity); before each step it waits for quiet again;
- each step runs in a worker thread, so the event loop keeps answering; a tool call that
  arrives meanwhile shares the import lock and never does the work twice;
- no network and no sign-in: it imports modules, builds msgraph's request adapter (which
  makes no request) and opens the token cache file; the MSAL application, whose constructor
  may fetch the authority's metadata, is still built on the first call that needs a token;
- failures are logged at debug level and change nothing: the first call then does the work;
- serving stdio with lazy tools (lazy.py), the first steps build the tools and open the token
  provider and Graph client, which start-up left out (`first`).

LOCAL_MCP_PRELOAD=0 (or `--no-preload`) turns it off.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
import anyio.to_thread

from ._gc import quiet_gc

logger = logging.getLogger(__name__)

QUIET_SECONDS = 0.1
NO_CLIENT_SECONDS = 1.0


class Activity:
    """When the last message arrived (stdio.py touches it for every incoming line)."""

    def __init__(self) -> None:
        self.last: float | None = None

    def touch(self) -> None:
        self.last = time.monotonic()


ACTIVITY = Activity()


def _import_graph_stack() -> None:
    with quiet_gc():
        import httpx  # noqa: F401
        import kiota_abstractions.method  # noqa: F401
        import kiota_abstractions.native_response_handler  # noqa: F401
        import kiota_abstractions.request_information  # noqa: F401
        import kiota_http.middleware.options  # noqa: F401
        import msgraph.graph_request_adapter  # noqa: F401
        import msgraph_core  # noqa: F401


def _import_auth_stack() -> None:
    with quiet_gc():
        import msal  # noqa: F401
        import msal_extensions  # noqa: F401


def steps(state: Any) -> list[tuple[str, Callable[[], Any]]]:
    """What is loaded, in order: (name, blocking function)."""
    return [
        ("graph stack", _import_graph_stack),
        ("graph adapter", state.graph._get_adapter),
        ("auth stack", _import_auth_stack),
    ]


async def _quiet(activity: Activity, started: float) -> None:
    while True:
        now = time.monotonic()
        if activity.last is None:
            if now - started >= NO_CLIENT_SECONDS:
                return
        elif now - activity.last >= QUIET_SECONDS:
            return
        await anyio.sleep(QUIET_SECONDS / 4)


async def wait_for_quiet(activity: Activity = ACTIVITY, started: float | None = None) -> None:
    """Return once the connection has been quiet (see the module's docstring)."""
    await _quiet(activity, time.monotonic() if started is None else started)


async def preload(
    state: Any, activity: Activity = ACTIVITY, first: Sequence[tuple[str, Callable[[], Awaitable[Any]]]] = ()
) -> list[str]:
    """Run the steps while the connection is idle; returns the names of the steps done.

    `first`: (name, coroutine function) steps run on the event loop before the others, each after quiet.
    """
    started, done = time.monotonic(), []
    try:
        for name, first_step in first:
            await _quiet(activity, started)
            await first_step()
            done.append(name)
        for name, step in steps(state):
            await _quiet(activity, started)
            await anyio.to_thread.run_sync(step)
            done.append(name)
        await _quiet(activity, started)
        await state.tokens._ensure_cache()  # reads the cache file in a worker thread; no network
        done.append("token cache")
    except Exception as exc:  # never fatal: the first call does whatever is left
        logger.debug("Preloading stopped (%s); the first tool call will load the rest", type(exc).__name__)
    logger.debug("Preloaded: %s", ", ".join(done) or "nothing")
    return done
