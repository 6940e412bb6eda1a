"""What every tool call shares: app state, sign-in prompts through MCP, and error translation.

A tool body is a plain coroutine that may raise our errors. `run_tool` wraps it:
- browser/broker sign-in waits become MCP progress notifications;
- a device-code sign-in reaches the user through MCP, never stdout:
    * 2026-07-28 clients with URL elicitation: an `input_required` result carrying
      a URL elicitation; the client's retry waits for the sign-in to finish;
    * 2025-11-25 clients with URL elicitation: `elicitation/create` (mode url) mid-call;
    * anyone else: an error result with the URL and code, asking to call again,
      while the flow keeps polling in the background;
- LocalMcpError becomes ToolError (an `isError` result with our message).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError

from ..auth import progress
from ..errors import DeviceCodePendingError, LocalMcpError

logger = logging.getLogger(__name__)

T = TypeVar("T")

SIGN_IN_INPUT_KEY = "sign_in"
MODERN_PROTOCOL = "2026-07-28"
# How long a repeated call waits for a device-code sign-in the user says is done,
# before answering with the code again (MSAL polls every few seconds).
REPEAT_CALL_WAIT_SECONDS = 20.0


@dataclass
class AppState:
    """Long-lived objects, built once per server in the lifespan."""

    settings: Any
    tokens: Any  # auth.tokens.TokenProvider
    graph: Any  # graph.client.GraphClient


def state_of(ctx: Context) -> AppState:
    return ctx.request_context.lifespan_context  # type: ignore[no-any-return]


def _supports_url_elicitation(ctx: Context) -> bool:
    caps = ctx.client_capabilities
    elicitation = getattr(caps, "elicitation", None) if caps is not None else None
    return elicitation is not None and getattr(elicitation, "url", None) is not None


def _is_modern(ctx: Context) -> bool:
    version = ctx.protocol_version or ""
    return version >= MODERN_PROTOCOL


async def run_tool(ctx: Context, operation: Callable[[], Awaitable[T]]) -> Any:
    """Run a tool body with sign-in handled the MCP way; returns its value or an input_required result."""
    state = state_of(ctx)

    async def reporter(message: str, elapsed: float, total: float) -> None:
        await ctx.report_progress(round(elapsed, 1), total, message)

    reset = progress.current_reporter.set(reporter)
    try:
        await _resume_after_input(ctx, state)
        for _ in range(3):
            try:
                return await operation()
            except DeviceCodePendingError as pending_error:
                outcome = await _announce_device_code(ctx, state, pending_error)
                if outcome is not None:
                    return outcome
                # the user finished signing in while we waited: run the body again
        raise ToolError("Sign-in did not complete; call the sign_in tool and try again.")
    except ToolError:
        raise
    except LocalMcpError as exc:
        raise ToolError(str(exc)) from exc
    finally:
        progress.current_reporter.reset(reset)


async def _resume_after_input(ctx: Context, state: AppState) -> None:
    """On a 2026-07-28 retry carrying our sign-in answer, wait for the device-code sign-in."""
    responses = ctx.input_responses or {}
    answer = responses.get(SIGN_IN_INPUT_KEY)
    if answer is None:
        return
    if getattr(answer, "action", "accept") != "accept":
        raise ToolError("Sign-in was declined, so the tool cannot run. Call it again when you want to sign in.")
    pending = state.tokens.pending_device_flow()
    if pending is not None:
        await state.tokens.wait_for_device_flow(pending, float(state.settings.sign_in_timeout))


async def _announce_device_code(ctx: Context, state: AppState, error: DeviceCodePendingError) -> Any:
    """Tell the user the code, then wait for the sign-in, or say how to continue.

    Returns an input_required result to send, or None when the sign-in completed
    and the tool body should run again.
    """
    pending = state.tokens.pending_device_flow()
    if pending is None:  # finished between the error and now
        return None
    prompt = error.prompt
    message = (
        f"Sign in to Microsoft to continue: open {prompt.verification_uri} and enter the code "
        f"{prompt.user_code}."
    )
    first = pending.claim_announcement()
    timeout = float(state.settings.sign_in_timeout)
    if first and _supports_url_elicitation(ctx):
        if _is_modern(ctx):
            from mcp_types import ElicitRequest, ElicitRequestURLParams, InputRequiredResult

            return InputRequiredResult(
                input_requests={
                    SIGN_IN_INPUT_KEY: ElicitRequest(
                        params=ElicitRequestURLParams(message=message, url=prompt.verification_uri)
                    )
                },
                request_state="device_code_sign_in",
            )
        elicitation_id = uuid.uuid4().hex
        answer = await ctx.elicit_url(message, prompt.verification_uri, elicitation_id)
        if getattr(answer, "action", "accept") != "accept":
            raise ToolError("Sign-in was declined, so the tool cannot run. Call it again when you want to sign in.")
        await state.tokens.wait_for_device_flow(pending, timeout)
        try:
            await ctx.request_context.session.send_elicit_complete(elicitation_id)
        except Exception:  # the notification is a courtesy; the result matters
            logger.debug("Could not send elicitation/complete")
        return None
    if first:
        raise ToolError(str(error))
    # Announced before (by an earlier call or a concurrent one): wait for the user a while.
    wait = timeout if _supports_url_elicitation(ctx) else REPEAT_CALL_WAIT_SECONDS
    try:
        await state.tokens.wait_for_device_flow(pending, wait)
    except LocalMcpError:
        if pending.done.is_set():
            raise
        raise ToolError(str(error)) from None
    return None
