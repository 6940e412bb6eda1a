"""What every tool call shares: app state, sign-in prompts through MCP, and error translation.

A tool body is a plain coroutine that may raise our errors. `run_tool` wraps it:
- browser/broker sign-in waits become MCP progress notifications; the browser sign-in's
  address is in their message and, for clients with URL elicitation, also a URL elicitation,
  so the person can open it when no window appeared: for 2025-11-25 clients an
  `elicitation/create` (mode url) mid-call; for 2026-07-28 clients an `input_required` result
  while the sign-in continues in the background (auth/browser_flow.py), whose retry waits for it;
- a device-code sign-in reaches the user through MCP, never stdout:
    * 2026-07-28 clients with URL elicitation: an `input_required` result carrying
      a URL elicitation; the client's retry waits for the sign-in to finish;
    * 2025-11-25 clients with URL elicitation: `elicitation/create` (mode url) mid-call;
    * anyone else: an error result with the URL and code, asking to call again,
      while the flow keeps polling in the background;
- LocalMcpError becomes ToolError (an `isError` result with our message); any other exception
  too, explained by failures.py (never the SDK's bare "Error executing tool X").
"""

from __future__ import annotations

import base64
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar, cast

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError

from ..auth import progress
from ..errors import AuthError, BrowserSignInPendingError, DeviceCodePendingError, GraphError, LocalMcpError
from ..state import AppState

logger = logging.getLogger(__name__)

T = TypeVar("T")

SIGN_IN_INPUT_KEY = "sign_in"
MODERN_PROTOCOL = "2026-07-28"
# How long a repeated call waits for a device-code sign-in the user says is done,
# before answering with the code again (MSAL polls every few seconds).
REPEAT_CALL_WAIT_SECONDS = 20.0


def state_of(ctx: Context) -> AppState:
    return cast(AppState, ctx.request_context.lifespan_context)


def _supports_url_elicitation(ctx: Context) -> bool:
    caps = ctx.client_capabilities
    elicitation = getattr(caps, "elicitation", None) if caps is not None else None
    return elicitation is not None and getattr(elicitation, "url", None) is not None


def _is_modern(ctx: Context) -> bool:
    version = ctx.protocol_version or ""
    return version >= MODERN_PROTOCOL


async def run_tool(
    ctx: Context, operation: Callable[[], Awaitable[T]], *, consent_scopes: Sequence[str] | None = None
) -> Any:
    """Run a tool body with sign-in handled the MCP way; returns its value or an input_required result.

    `consent_scopes`: the Graph scopes the tool needs. When Graph answers 403 and the
    token lacks one of them, the user is asked to consent (incremental consent) and the
    body runs once more.
    """
    state = state_of(ctx)

    announced: set[str] = set()

    async def reporter(message: str, elapsed: float, total: float) -> None:
        await ctx.report_progress(round(elapsed, 1), total, message)
        if message not in announced:  # each new state also as one log notification
            announced.add(message)
            await _log_to_client(ctx, message)

    async def offer_url(message: str, url: str) -> None:
        """The browser sign-in's address as a URL elicitation, for clients that take one mid-call."""
        if not _supports_url_elicitation(ctx) or _is_modern(ctx):
            return  # 2026-07-28 cannot elicit mid-call: the progress message carries the address
        elicitation_id = uuid.uuid4().hex
        try:
            await ctx.elicit_url(message, url, elicitation_id)
        except anyio.get_cancelled_exc_class():  # the sign-in ended first: tell the client it is done
            with anyio.CancelScope(shield=True):
                try:
                    await ctx.request_context.session.send_elicit_complete(elicitation_id)
                except Exception:
                    logger.debug("Could not send elicitation/complete")
            raise

    reset = progress.current_reporter.set(reporter)
    reset_offer = progress.current_url_offer.set(offer_url)
    reset_ending = progress.sign_in_may_end_call.set(_supports_url_elicitation(ctx) and _is_modern(ctx))
    reset_completed = None
    try:
        completed = await _resume_after_input(ctx, state)
        if completed is not None:  # the retry of a call that ended for a browser sign-in: never end again
            reset_completed = progress.completed_sign_in.set(completed)
            progress.sign_in_may_end_call.set(False)
        consent_tried = consent_now = False
        for _ in range(4):
            try:
                if consent_now:
                    consent_now = False
                    await state.tokens.sign_in(state.settings.graph_resource, list(consent_scopes or ()), force=True)
                return await operation()
            except BrowserSignInPendingError as pending_browser:
                return _browser_address_as_input(pending_browser)
            except DeviceCodePendingError as pending_error:
                outcome = await _announce_device_code(ctx, state, pending_error)
                if outcome is not None:
                    return outcome
                # the user finished signing in while we waited: run the body again
            except GraphError as exc:
                if exc.status != 403 or not consent_scopes or consent_tried:
                    raise
                if not await _token_lacks(state, consent_scopes):
                    raise
                logger.info("Graph refused for lack of consent; asking for %s", " ".join(consent_scopes))
                consent_tried = consent_now = True
        raise ToolError("Sign-in did not complete; call the sign_in tool and try again.")
    except (ToolError, MCPError):
        raise
    except LocalMcpError as exc:
        raise ToolError(str(exc)) from exc
    except Exception as exc:  # never the SDK's bare "Error executing tool X": a reason and a next step
        from .failures import explain

        from .cursors import current_tool

        raise ToolError(str(explain(exc, current_tool.get() or "The tool"))) from exc
    finally:
        if reset_completed is not None:
            progress.completed_sign_in.reset(reset_completed)
        progress.sign_in_may_end_call.reset(reset_ending)
        progress.current_url_offer.reset(reset_offer)
        progress.current_reporter.reset(reset)


async def _log_to_client(ctx: Context, message: str) -> None:
    """An MCP log notification (2025-11-25 clients; 2026-07-28 clients that opt in). Best effort."""
    import warnings

    from mcp.shared.exceptions import MCPDeprecationWarning

    from ..protocol import client_wants_log

    try:
        if not client_wants_log(ctx.request_context.session, "info"):
            return
        with warnings.catch_warnings():
            # Deprecated from 2026-07-28 on (SEP-2577), still how older clients show server logs.
            warnings.simplefilter("ignore", MCPDeprecationWarning)
            await ctx.info(message, logger_name="local-mcp.sign-in")
    except Exception as exc:  # a client that cannot take it must not break the tool call
        logger.debug("Could not send a log notification: %s", type(exc).__name__)


async def _token_lacks(state: AppState, scopes: Sequence[str]) -> bool:
    """Does the current Graph token lack one of `scopes`? (Its `scp` claim says; opaque tokens: assume yes.)"""
    try:
        token = await state.tokens.get_token(state.settings.graph_resource, scopes, interactive=False)
    except AuthError:
        return True
    granted = token_scopes(token.token)
    if granted is None:
        return True
    return not {s.lower() for s in scopes} <= {g.lower() for g in granted}


def token_scopes(token: str) -> set[str] | None:
    """The delegated scopes inside a JWT access token (read, not verified: it is our own token)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    scp = payload.get("scp") if isinstance(payload, dict) else None
    return set(str(scp).split()) if scp else None


async def _resume_after_input(ctx: Context, state: AppState) -> Any:
    """On a 2026-07-28 retry carrying our sign-in answer, wait for the device-code or browser sign-in.

    Returns the browser sign-in that finished (auth.browser_flow.PendingBrowserSignIn), if it was one.
    """
    responses = ctx.input_responses or {}
    answer = responses.get(SIGN_IN_INPUT_KEY)
    if answer is None:
        return None
    timeout = float(state.settings.sign_in_timeout)
    browser = getattr(state.tokens, "last_browser_sign_in", lambda: None)()
    if browser is not None:
        # The browser sign-in's address is a fallback for a window that did not appear: whatever the
        # answer, the window works, so wait for the sign-in as a call on stdio 2025-11-25 does.
        await state.tokens.wait_for_browser_sign_in(browser, timeout)
        return browser
    if getattr(answer, "action", "accept") != "accept":
        raise ToolError("Sign-in was declined, so the tool cannot run. Call it again when you want to sign in.")
    pending = state.tokens.pending_device_flow()
    if pending is not None:
        await state.tokens.wait_for_device_flow(pending, timeout)
    return None


def _browser_address_as_input(error: BrowserSignInPendingError) -> Any:
    """The browser sign-in's address as a URL elicitation in an `input_required` result (2026-07-28)."""
    from mcp_types import ElicitRequest, ElicitRequestURLParams, InputRequiredResult

    message = f"Sign in to Microsoft to continue: open {error.url} (if no browser window appeared), then continue."
    return InputRequiredResult(
        input_requests={SIGN_IN_INPUT_KEY: ElicitRequest(params=ElicitRequestURLParams(message=message, url=error.url))},
        request_state="browser_sign_in",
    )


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
