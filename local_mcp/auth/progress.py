"""How a waiting sign-in reaches the user without stdout: a reporter set per tool call.

The token provider runs deep inside a Graph call, far from the MCP request. The
tool layer puts a reporter in this context variable; the provider calls it while
a browser sign-in waits, and it turns into MCP progress notifications. A second
context variable offers the browser sign-in's address to the client (URL elicitation).
"""

from __future__ import annotations

import contextvars
import logging
from typing import Protocol

logger = logging.getLogger(__name__)

# How often a waiting sign-in reports that it still waits.
PROGRESS_INTERVAL_SECONDS = 5.0


class SignInReporter(Protocol):
    async def __call__(self, message: str, elapsed: float, total: float) -> None: ...


current_reporter: contextvars.ContextVar[SignInReporter | None] = contextvars.ContextVar(
    "local_mcp_sign_in_reporter", default=None
)


async def report(message: str, elapsed: float, total: float) -> None:
    reporter = current_reporter.get()
    if reporter is None:
        return
    try:
        await reporter(message, elapsed, total)
    except Exception as exc:  # a client that went away must not break the sign-in
        logger.debug("Could not report sign-in progress: %s", type(exc).__name__)


class SignInUrlOffer(Protocol):
    async def __call__(self, message: str, url: str) -> None: ...


# Set per tool call like the reporter: shows a sign-in address to the person through the
# client (a URL elicitation, where the client takes one mid-call). Awaiting it may last until
# the person answers; the sign-in does not wait for it.
current_url_offer: contextvars.ContextVar[SignInUrlOffer | None] = contextvars.ContextVar(
    "local_mcp_sign_in_url_offer", default=None
)


async def offer_url(message: str, url: str) -> None:
    offer = current_url_offer.get()
    if offer is None:
        return
    try:
        await offer(message, url)
    except Exception as exc:  # a client that cannot take it must not break the sign-in
        logger.debug("Could not offer the sign-in address: %s", type(exc).__name__)


# Set per tool call (tools/_runtime.py) when the client can be shown an address only by ending
# the call with `input_required` (MCP 2026-07-28 with URL elicitation): a browser sign-in then
# runs in the background and the call ends at once with its address (browser_flow.py).
sign_in_may_end_call: contextvars.ContextVar[bool] = contextvars.ContextVar("local_mcp_sign_in_may_end_call", default=False)

# Set on a tool call's retry once the background browser sign-in it waited for has finished
# (tools/_runtime.py): a sign-in that call asks for again (sign_in with add=true) is that one,
# not a new browser window. Holds an auth.browser_flow.PendingBrowserSignIn.
completed_sign_in: contextvars.ContextVar[object | None] = contextvars.ContextVar("local_mcp_completed_sign_in", default=None)
