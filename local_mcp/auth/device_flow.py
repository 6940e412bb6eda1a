"""The device-code sign-in this process is running: one at a time, polled in the background.

A flow is started by the token provider (tokens.py) when interaction is required in
device-code mode. The user sees only the prompt (URL and user code); the secret device
code stays in the flow dict. Polling MSAL runs in a daemon thread under the provider's
task group; whoever needs the outcome waits on `done`.

One sign-in, not one per tool: while a flow waits for the user, every call that needs
interaction gets *its* code, whatever scopes it needs, and waits for it. Once it is done,
such a call tries silently for its own scopes (the new refresh token may cover them) and
only then starts another flow, which asks for the scopes of every call that waited on the
first one (`wanted`), so a burst of tools with different scopes needs at most two codes.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import anyio

from ..errors import AuthError, DeviceCodePrompt, SignInFailedError
from . import progress
from .resource import TokenRequest

@dataclass
class PendingDeviceFlow:
    """A device-code sign-in waiting for the user, polled in the background."""

    prompt: DeviceCodePrompt
    request: TokenRequest
    flow: dict[str, Any] = field(repr=False)  # holds the secret device_code
    done: anyio.Event = field(default_factory=anyio.Event)
    error: AuthError | None = None
    announced: bool = False

    def claim_announcement(self) -> bool:
        """True for the first caller only, so one sign-in is announced to the user once."""
        if self.announced:
            return False
        self.announced = True
        return True

    def covers(self, request: TokenRequest) -> bool:
        return self.request.resource == request.resource and set(request.scopes) <= set(self.request.scopes)

    def abort(self) -> None:
        if not self.done.is_set():
            self.flow["expires_at"] = 0  # MSAL's documented way to stop its polling loop


class DeviceFlows:
    """Holds the pending device-code sign-in of one TokenProvider and the task group that polls it."""

    def __init__(self) -> None:
        self._pending: PendingDeviceFlow | None = None
        self._task_group: Any = None
        # resource -> scopes that calls needed while another call's flow was pending
        self._wanted: dict[str, set[str]] = {}

    async def __aenter__(self) -> DeviceFlows:
        self._task_group = anyio.create_task_group()
        await self._task_group.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        self.abort()
        tg, self._task_group = self._task_group, None
        if tg is not None:
            tg.cancel_scope.cancel()
            await tg.__aexit__(*exc_info)

    @property
    def last(self) -> PendingDeviceFlow | None:
        """The flow started last, finished or not."""
        return self._pending

    def current(self) -> PendingDeviceFlow | None:
        """The flow still waiting for the user, if any."""
        pending = self._pending
        return pending if pending is not None and not pending.done.is_set() else None

    def share(self, pending: PendingDeviceFlow, request: TokenRequest) -> None:
        """`request` was handed `pending`'s code; remember its scopes for the next flow if it does not cover them."""
        if not pending.covers(request):
            self._wanted.setdefault(request.resource, set()).update(request.scopes)

    def scopes_for_next(self, request: TokenRequest) -> tuple[str, ...]:
        """The scopes a new flow for `request` should ask for: its own plus those calls waited for (same resource)."""
        wanted = self._wanted.pop(request.resource, set())
        return tuple(sorted(set(request.scopes) | wanted))

    def forget(self) -> None:
        """Drop a finished flow, so the next sign-in starts afresh."""
        self._pending = None

    def start(
        self, pending: PendingDeviceFlow, poll: Callable[[PendingDeviceFlow], Awaitable[None]]
    ) -> PendingDeviceFlow:
        """Make `pending` the current flow and run `poll(pending)` in the background; `poll` sets `done`."""
        if self._task_group is None:
            raise RuntimeError("TokenProvider must be entered (async with) before a device-code sign-in")
        self._pending = pending
        self._task_group.start_soon(poll, pending)
        return pending

    def spawn(self, run: Callable[[], Awaitable[None]]) -> None:
        """Run `run()` in this provider's background task group (a browser sign-in: browser_flow.py)."""
        if self._task_group is None:
            raise RuntimeError("TokenProvider must be entered (async with) before a background sign-in")
        self._task_group.start_soon(run)

    def abort(self) -> None:
        """Stop the pending flow (MSAL's poller ends at its next round) and forget it."""
        pending, self._pending = self._pending, None
        if pending is not None:
            pending.abort()


async def wait_for(pending: PendingDeviceFlow, timeout: float, *, label: str = "") -> None:
    """Wait (with progress) until the user finished the device-code sign-in; raise if it failed."""
    start = time.monotonic()
    while not pending.done.is_set():
        remaining = max(0.0, pending.prompt.expires_at - time.time())
        elapsed = time.monotonic() - start
        if elapsed >= timeout or remaining <= 0:
            raise SignInFailedError(
                "The device-code sign-in was not completed in time. Call the tool again for a new code.",
                error="timeout",
            )
        await progress.report(
            label or f"Waiting for you to enter the code at {pending.prompt.verification_uri}",
            elapsed,
            float(timeout),
        )
        with anyio.move_on_after(min(progress.PROGRESS_INTERVAL_SECONDS, timeout - elapsed)):
            await pending.done.wait()
    if pending.error is not None:
        raise pending.error
