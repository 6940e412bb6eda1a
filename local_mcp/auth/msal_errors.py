"""Turn MSAL's `{"error": ...}` answers and its exceptions into typed errors that say what to do.

This is the only place that reads AADSTS codes; everything above it sees
`SignInFailedError` / `AuthenticationRequiredError` / `CacheUnavailableError` with a
readable message. `sign_in_failure` and `interaction_required` map MSAL's error dicts;
`translate_exception` maps what MSAL and msal-extensions raise.
"""

from __future__ import annotations

import errno
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

from ..errors import AuthenticationRequiredError, AuthError, CacheUnavailableError, SignInFailedError
from .cache import CACHE_FILE_NAME
from .cache_lock import describe_stuck_lock
from .cache_space import CacheNotWritableError, describe_write_error

# Errors after which asking the user again can help (MSAL's own notion, plus the
# AADSTS codes that mean "the refresh token is no longer good").
INTERACTION_ERRORS = frozenset({"interaction_required", "login_required", "consent_required", "invalid_grant"})

# AADSTS code -> what the user can do about it.
_NEXT_STEPS: dict[int, str] = {
    65001: "The app has not been granted consent for these permissions. Sign in again and accept the "
    "consent prompt, or ask an administrator to grant admin consent for the app in your tenant.",
    50076: "Your organisation requires multi-factor authentication. Sign in again interactively "
    "(LOCAL_MCP_AUTH_MODE=browser) and complete the MFA prompt.",
    50079: "Your organisation requires you to register for multi-factor authentication. Sign in "
    "interactively and complete the registration.",
    53003: "A Conditional Access policy blocked this sign-in. If it blocks device code, use "
    "LOCAL_MCP_AUTH_MODE=browser (or broker on Windows/macOS) on a managed device; otherwise ask your "
    "administrator which policy applies.",
    530032: "Your tenant's security policy blocked this sign-in. Ask your administrator, or try the "
    "browser flow on a compliant device.",
    530033: "Device-code sign-in is blocked by your organisation. Use LOCAL_MCP_AUTH_MODE=browser or broker.",
    50199: "Confirm the sign-in in the browser window, then try again.",
    700082: "Your sign-in expired after a long period of inactivity. Sign in again.",
    50173: "Your session was revoked (for example after a password change). Sign in again.",
    70008: "The sign-in code expired. Sign in again.",
    70043: "Your session expired under a Conditional Access sign-in frequency policy. Sign in again.",
    7000218: "The app registration does not allow public-client flows. In the Entra admin centre, "
    "open the app's Authentication page and set 'Allow public client flows' to Yes.",
    50011: "The app registration lacks the redirect URI http://localhost. Add it under "
    "Authentication > Mobile and desktop applications.",
    500113: "The app registration has no reply address. Add http://localhost under Authentication > "
    "Mobile and desktop applications.",
    700016: "The app (LOCAL_MCP_CLIENT_ID) was not found in this tenant. Check LOCAL_MCP_CLIENT_ID and "
    "LOCAL_MCP_TENANT_ID.",
    90002: "The tenant in LOCAL_MCP_TENANT_ID / LOCAL_MCP_AUTHORITY was not found. Check it.",
    50020: "This account is not a member of the configured tenant. Sign in with an account of that "
    "tenant or set LOCAL_MCP_TENANT_ID.",
    50126: "The user name or password was wrong. Sign in again.",
    50105: "Your account is not assigned to this app. Ask your administrator to assign you.",
}

_AADSTS = re.compile(r"AADSTS(\d+)")


def error_codes(result: Mapping[str, Any]) -> list[int]:
    codes = [int(c) for c in result.get("error_codes") or [] if str(c).isdigit()]
    if not codes:
        codes = [int(m) for m in _AADSTS.findall(str(result.get("error_description") or ""))]
    return codes


def first_line(text: str) -> str:
    """The AADSTS line of an error description, without trace and correlation ids."""
    return (text or "").strip().splitlines()[0][:300] if (text or "").strip() else ""


def needs_interaction(result: Mapping[str, Any]) -> bool:
    """True when MSAL's silent answer means: ask the user (not: try again later)."""
    if result.get("error") in INTERACTION_ERRORS:
        return True
    return any(code in (65001, 50076, 50079, 700082, 50173, 70043) for code in error_codes(result))


TENANT_PLACEHOLDER = "<your-tenant-id>"
_MULTI_TENANT = ("organizations", "common", "consumers")


def admin_consent_url(
    authority: str, client_id: str, *, scopes: Sequence[str] = (), redirect_uri: str = "http://localhost"
) -> str:
    """The v2 page where a tenant administrator grants the app `scopes` for the whole tenant.

    Microsoft identity platform, *Admin consent* (v2.0 endpoint):
    `https://{host}/{tenant}/v2.0/adminconsent?client_id=…&scope=…&redirect_uri=…`; `scope` and
    `redirect_uri` are required, and `common` (any multi-tenant word) must not be used: then the
    link carries TENANT_PLACEHOLDER for the administrator to replace with their tenant id.
    """
    parts = urlsplit(authority.rstrip("/"))
    segments = [s for s in parts.path.split("/") if s]
    tenant = segments[0] if segments else TENANT_PLACEHOLDER
    if tenant.lower() in _MULTI_TENANT:
        tenant = TENANT_PLACEHOLDER
    query = urlencode({"client_id": client_id, "scope": " ".join(scopes), "redirect_uri": redirect_uri}, quote_via=quote)
    return f"{parts.scheme}://{parts.netloc}/{tenant}/v2.0/adminconsent?{query}"


def _steps(codes: list[int], consent_url: str | None) -> list[str]:
    steps = [_NEXT_STEPS[c] for c in codes if c in _NEXT_STEPS]
    if consent_url and 65001 in codes:
        steps.append(f"Admin consent link for this app and tenant: {consent_url}")
        if TENANT_PLACEHOLDER in consent_url:
            steps.append(
                f"Replace {TENANT_PLACEHOLDER} in it with your organisation's tenant id (Entra admin centre > "
                "Overview), or set LOCAL_MCP_TENANT_ID so the link names it."
            )
    return steps


def sign_in_failure(result: Mapping[str, Any], *, action: str, consent_url: str | None = None) -> SignInFailedError:
    """A SignInFailedError for an MSAL error dict; `action` names what was attempted."""
    error = str(result.get("error") or "unknown_error")
    codes = error_codes(result)
    described = first_line(str(result.get("error_description") or ""))
    steps = _steps(codes, consent_url) or [_default_step(error)]
    detail = f" ({described})" if described else ""
    return SignInFailedError(f"{action} failed: {error}{detail}. {' '.join(steps)}", error=error, codes=codes)


def interaction_required(
    result: Mapping[str, Any], *, scopes: list[str], claims: str | None, consent_url: str | None = None
) -> AuthenticationRequiredError:
    codes = error_codes(result)
    steps = " ".join(_steps(codes, consent_url)) or "Sign in again."
    return AuthenticationRequiredError(
        f"Sign-in required: {result.get('error', 'no cached account')}. {steps} "
        "Call the sign_in tool, or run `local-mcp login` in a terminal.",
        scopes=scopes,
        claims=claims,
    )


def _default_step(error: str) -> str:
    if error in ("temporarily_unavailable", "server_error"):
        return "The identity provider is having trouble; try again in a minute."
    if error in ("access_denied", "authorization_declined"):
        return "The sign-in was cancelled or declined; call sign_in to try again."
    if error == "expired_token":
        return "The device code expired before the sign-in finished; call the tool again for a new code."
    if error == "timeout":
        return (
            "The sign-in was not completed in time; call sign_in to try again (LOCAL_MCP_SIGN_IN_TIMEOUT sets the limit). "
            "If no browser window appeared, set LOCAL_MCP_AUTH_MODE=device_code to sign in with a code instead."
        )
    return "Try signing in again; if it keeps failing, run `local-mcp login` in a terminal to see the details."


def is_lock_error(exc: BaseException) -> bool:
    """msal-extensions' LockError (portalocker's LockException and its subclasses)."""
    return type(exc).__name__ in ("LockError", "LockException", "AlreadyLocked")


def translate_exception(exc: Exception, settings: Any) -> Exception:
    """MSAL and msal-extensions exceptions become ours, with what to do next; others pass unchanged."""
    if isinstance(exc, AuthError):
        return exc
    name = type(exc).__name__
    if is_lock_error(exc):
        return CacheUnavailableError(describe_stuck_lock(getattr(exc, "path", None) or settings.resolved_cache_dir() / CACHE_FILE_NAME))
    if isinstance(exc, OSError) and _is_cache_write_error(exc, settings):
        return CacheNotWritableError(settings.resolved_cache_dir(), describe_write_error(exc))
    if name == "KeyringError":  # its message already says what failed in the keyring
        return CacheUnavailableError(str(exc))
    if name in ("PersistenceDecryptionError", "PersistenceError", "PersistenceEncryptionError"):
        return CacheUnavailableError(
            f"The token cache could not be read or written ({name}). Run `local-mcp logout` to reset it."
        )
    if name == "MsalServiceError":  # MSAL raises on a 429/5xx from the authority (and replays it a while)
        return SignInFailedError(
            f"The identity provider at {settings.authority_host} is not answering normally ({first_line(str(exc))}). "
            "This is usually temporary: try again in a minute.",
            error="temporarily_unavailable",
        )
    if "ConnectionError" in name or name in ("Timeout", "ReadTimeout", "SSLError"):
        return SignInFailedError(
            f"Could not reach the identity provider at {settings.authority_host} ({name}). "
            "Check the network (and LOCAL_MCP_AUTHORITY), then try again.",
            error=name,
        )
    if isinstance(exc, ValueError) and "authority configuration" in str(exc):
        return SignInFailedError(
            f"Could not read the OpenID configuration of {settings.authority}. "
            "Check LOCAL_MCP_AUTHORITY / LOCAL_MCP_TENANT_ID and the network, then try again.",
            error="authority_unreachable",
        )
    if isinstance(exc, ValueError) and "invalid_instance" in str(exc):
        return SignInFailedError(
            f"The authority {settings.authority} is not known to Microsoft. Check LOCAL_MCP_AUTHORITY.",
            error="invalid_instance",
        )
    return exc


def _is_cache_write_error(exc: OSError, settings: Any) -> bool:
    """A full disk or read-only file system while writing, or no permission in the cache folder."""
    if exc.errno in (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC), errno.EROFS):
        return True
    filename = getattr(exc, "filename", None)
    return isinstance(exc, PermissionError) and isinstance(filename, str) and filename.startswith(
        str(settings.resolved_cache_dir())
    )
