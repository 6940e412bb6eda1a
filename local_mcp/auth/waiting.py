"""Waiting for a person: blocking sign-ins in daemon threads, with progress while they wait."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import anyio

from . import progress

T = TypeVar("T")

async def in_daemon_thread(blocking: Callable[[], T]) -> T:
    """Run a long blocking sign-in in a daemon thread and await its result.

    anyio's worker threads are not daemons: a browser sign-in waiting for its
    loopback redirect (up to LOCAL_MCP_SIGN_IN_TIMEOUT) would keep the process alive
    after the MCP client has gone. A daemon thread lets the server exit at once.
    If the caller is cancelled, the thread is abandoned and ends on its own timeout.
    """
    import anyio.from_thread
    import anyio.lowlevel

    finished = anyio.Event()
    box: dict[str, Any] = {}
    token = anyio.lowlevel.current_token()

    def target() -> None:
        try:
            box["value"] = blocking()
        except BaseException as exc:  # handed to the awaiting task, which re-raises it
            box["error"] = exc
        finally:
            try:
                anyio.from_thread.run_sync(finished.set, token=token)
            except Exception:  # the event loop is gone: nobody is waiting any more
                pass

    threading.Thread(target=target, name="local-mcp sign-in", daemon=True).start()
    await finished.wait()
    if "error" in box:
        raise box["error"]
    return box["value"]


async def run_with_progress(
    blocking: Callable[[], T],
    message: str,
    total: float,
    *,
    translate: Callable[[Exception], Exception],
    offer: Callable[[], Coroutine[Any, Any, None]] | None = None,
) -> T:
    """Run a blocking sign-in in a daemon thread, sending progress every few seconds until it ends.

    `offer` (showing the sign-in address to the person) runs alongside and is cancelled when
    the sign-in ends. An exception from `blocking` is raised as `translate(exc)`.
    """
    outcome: dict[str, Any] = {}
    finished = anyio.Event()

    async def run() -> None:
        try:
            outcome["value"] = await in_daemon_thread(blocking)
        except Exception as exc:
            outcome["error"] = exc
        finally:
            finished.set()

    start = time.monotonic()
    async with anyio.create_task_group() as group:
        group.start_soon(run)
        if offer is not None:
            group.start_soon(offer)
        while not finished.is_set():
            await progress.report(message, time.monotonic() - start, total)
            with anyio.move_on_after(progress.PROGRESS_INTERVAL_SECONDS):
                await finished.wait()
        group.cancel_scope.cancel()  # an offer still waiting for the person's answer is moot now
    if "error" in outcome:
        raise translate(outcome["error"])
    return outcome["value"]
