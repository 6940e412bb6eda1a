"""A browser sign-in that outlives the tool call that started it (MCP 2026-07-28 clients).

A 2026-07-28 client cannot be asked anything in the middle of a call: the server answers
`input_required` and the client calls again with the person's answer. To show the browser
sign-in's address as a URL elicitation there, the call that needs a sign-in starts the
browser sign-in here, in the background (MSAL's loopback listener keeps waiting for the
redirect). A sign-in the browser finishes by itself within QUICK_SECONDS (the person already
has a Microsoft session there: single sign-on) needs no prompt, and the call goes on; otherwise
the call ends with `input_required` carrying the address, and the client's retry waits for this
sign-in to finish (tools/_runtime.py).

One at a time: while it waits, another call that needs a sign-in gets the same address
(2026-07-28) or waits for it and then tries silently (everyone else), instead of opening a
second browser window.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from ..errors import AuthError, BrowserSignInPendingError, SignInFailedError
from . import progress
from .resource import TokenRequest


# How long the call waits for the browser to finish by itself before it shows the address
# (single sign-on with an existing browser session takes a few seconds; typing a password, longer).
QUICK_SECONDS = 10.0


@dataclass
class PendingBrowserSignIn:
    """A browser sign-in waiting for the person, run by the provider's background task group."""

    url: str  # our loopback address that forwards to Microsoft's sign-in page (sign_in.py)
    request: TokenRequest
    started: float = field(default_factory=time.monotonic)
    done: anyio.Event = field(default_factory=anyio.Event)
    error: AuthError | None = None
    token: Any = field(default=None, repr=False)  # the AccessToken it got

    def covers(self, request: TokenRequest) -> bool:
        """Whether the token this sign-in got serves `request` (same resource, at least its scopes)."""
        return (self.token is not None and self.request.resource == request.resource
                and {s.lower() for s in request.scopes} <= {s.lower() for s in self.request.scopes})


class BrowserSignIns:
    """The background browser sign-in of one TokenProvider, if any."""

    def __init__(self) -> None:
        self._pending: PendingBrowserSignIn | None = None

    @property
    def last(self) -> PendingBrowserSignIn | None:
        """The sign-in started last, finished or not."""
        return self._pending

    def current(self) -> PendingBrowserSignIn | None:
        """The sign-in still waiting for the person, if any."""
        pending = self._pending
        return pending if pending is not None and not pending.done.is_set() else None

    def start(
        self,
        pending: PendingBrowserSignIn,
        run: Callable[[], Awaitable[Any]],
        spawn: Callable[[Callable[[], Awaitable[None]]], None],
    ) -> PendingBrowserSignIn:
        """Run `run()` in the background (through `spawn`) as `pending`; `done` is set when it ends."""

        async def background() -> None:
            # Not the starting call's: that request has ended, its progress token is spent.
            progress.current_reporter.set(None)
            progress.current_url_offer.set(None)
            try:
                pending.token = await run()
            except AuthError as exc:
                pending.error = exc
            except Exception as exc:  # never lost silently: the waiting call says why
                pending.error = SignInFailedError(f"The browser sign-in failed ({type(exc).__name__}). Call the tool again.")
            finally:
                pending.done.set()

        self._pending = pending
        spawn(background)
        return pending


async def wait_for(pending: PendingBrowserSignIn, timeout: float) -> None:
    """Wait (with progress) until the person finished the browser sign-in; raise if it failed."""
    if not await _wait(pending, timeout, total=timeout):
        raise SignInFailedError(
            f"The browser sign-in was not completed in time. Call the tool again, or open {pending.url} "
            "(or set LOCAL_MCP_AUTH_MODE=device_code to sign in with a code).",
            error="timeout",
        )
    if pending.error is not None:
        raise pending.error


async def finish_quickly_or_hand_over(pending: PendingBrowserSignIn, message: str, total: float) -> Any:
    """The token, if the browser finishes within QUICK_SECONDS; else BrowserSignInPendingError (the address goes out)."""
    if not await _wait(pending, QUICK_SECONDS, total=total, message=message):
        raise BrowserSignInPendingError(pending.url, scopes=list(pending.request.scopes))
    if pending.error is not None:
        raise pending.error
    return pending.token


async def _wait(pending: PendingBrowserSignIn, limit: float, *, total: float, message: str = "") -> bool:
    """Wait up to `limit` seconds for `pending` to end, reporting progress; whether it ended."""
    message = message or f"Waiting for you to sign in to Microsoft in your browser (no window? open {pending.url})"
    started = time.monotonic()
    while not pending.done.is_set() and (elapsed := time.monotonic() - started) < limit:
        await progress.report(message, elapsed, total)
        with anyio.move_on_after(min(progress.PROGRESS_INTERVAL_SECONDS, limit - elapsed)):
            await pending.done.wait()
    return pending.done.is_set()
