"""The interactive sign-in flows, each a blocking call into MSAL (run them in a worker thread).

Order in `auto` mode: broker (WAM / macOS Enterprise SSO) when available, else
the system browser (auth code + PKCE on a loopback redirect), else device code
where no browser can be opened (SSH, no display).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, DeviceCodePrompt
from .msal_app import broker_supported
from .resource import TokenRequest

if TYPE_CHECKING:
    import msal

    from ..config import Settings

logger = logging.getLogger(__name__)

SUCCESS_PAGE = (
    "<html><body style='font-family:sans-serif'><h2>local-mcp: signed in</h2>"
    "<p>You can close this tab and return to your assistant.</p></body></html>"
)
# MSAL's loopback listener serves this at http://localhost:<port>?welcome=true and opens that
# address instead of the long authorize URL (oauth2cli authcode.py, `welcome_template`): an
# address known before MSAL starts, which the client can show too. It forwards to Microsoft.
WELCOME_PAGE = (
    "<html><head><meta http-equiv='refresh' content='0;url=$auth_uri'></head>"
    "<body style='font-family:sans-serif'><h2>local-mcp: sign in to Microsoft</h2>"
    "<p><a href='$auth_uri'>Continue to the Microsoft sign-in page</a></p></body></html>"
)
ERROR_PAGE = (
    "<html><body style='font-family:sans-serif'><h2>local-mcp: sign-in failed</h2>"
    "<p>$error: $error_description</p><p>Return to your assistant and try again.</p></body></html>"
)


def browser_available() -> bool:
    """Can a browser be opened for the user on this machine?

    Windows and macOS always have one. Elsewhere a browser needs a display, or an
    explicit BROWSER command; an SSH session without X forwarding has neither, and
    a console browser launched from an MCP server would fight the client for the terminal.
    """
    if sys.platform in ("win32", "darwin"):
        return True
    if os.environ.get("BROWSER"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def effective_mode(settings: Settings) -> str:
    """The flow to use now: the configured one, or for `auto` the best one this machine allows."""
    mode = settings.auth_mode
    if mode == "broker" and sys.platform not in ("win32", "darwin"):
        raise ConfigError(
            "LOCAL_MCP_AUTH_MODE=broker works only on Windows (WAM) and macOS (Enterprise SSO); "
            "use browser or device_code here."
        )
    if mode == "broker" and sys.platform == "darwin" and not broker_supported():
        return "browser"  # what MSAL does without Apple silicon + Company Portal: say so, do not pretend
    if mode != "auto":
        return mode
    if broker_supported():
        return "broker"
    if browser_available():
        return "browser"
    return "device_code"


def free_loopback_port() -> int:
    """A port free on the loopback interface now, for the browser sign-in's redirect listener."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def browser_sign_in_url(port: int) -> str:
    """Where the person can open the browser sign-in themselves: the listener's welcome page."""
    return f"http://localhost:{port}?welcome=true"


def sign_in_interactively(
    app: msal.PublicClientApplication,
    request: TokenRequest,
    *,
    mode: str,
    timeout: int,
    login_hint: str | None,
    claims: str | None,
    port: int | None = None,
) -> dict[str, Any]:
    """Broker or browser sign-in. Returns MSAL's result dict (with "error" on failure).

    For the browser, `port` fixes the redirect listener's port, and the browser opens
    `browser_sign_in_url(port)` (which forwards to Microsoft) so that address can be shown too.
    """
    kwargs: dict[str, Any] = {
        "scopes": request.msal_scopes,
        "login_hint": login_hint,
        "claims_challenge": claims,
        "timeout": timeout,
        "prompt": None if login_hint else "select_account",
        "success_template": SUCCESS_PAGE,
        "error_template": ERROR_PAGE,
    }
    if request.extra_body_params:
        kwargs["data"] = dict(request.extra_body_params)
    if mode == "browser" and port is not None:
        kwargs["port"] = port
        kwargs["welcome_template"] = WELCOME_PAGE
    if mode == "broker":
        import msal

        kwargs["parent_window_handle"] = msal.PublicClientApplication.CONSOLE_WINDOW_HANDLE
    logger.info("Starting %s sign-in for %s", mode, " ".join(request.scopes))
    try:
        return app.acquire_token_interactive(**kwargs)
    except Exception as exc:
        # MSAL raises (rather than returns) when the loopback listener times out.
        if type(exc).__name__ == "BrowserInteractionTimeoutError":
            return {"error": "timeout", "error_description": f"No sign-in completed within {timeout} seconds."}
        raise


def start_device_flow(app: msal.PublicClientApplication, request: TokenRequest, claims: str | None) -> dict[str, Any]:
    """Ask the authority for a device code. Returns MSAL's flow dict (with "error" on failure)."""
    flow = app.initiate_device_flow(scopes=request.msal_scopes, claims_challenge=claims)
    return flow


def device_prompt(flow: dict[str, Any]) -> DeviceCodePrompt:
    """What the user must see; the polling secret (device_code) stays in the flow dict."""
    uri = flow.get("verification_uri") or flow.get("verification_url") or ""
    return DeviceCodePrompt(
        verification_uri=str(uri),
        user_code=str(flow.get("user_code", "")),
        expires_at=float(flow.get("expires_at") or time.time() + 900),
        message=str(flow.get("message") or f"Open {uri} and enter the code {flow.get('user_code', '')}."),
    )
