"""Building the one MSAL PublicClientApplication; its http_cache is saved as JSON (http_cache.py).

MSAL's constructor fetches the authority's OpenID configuration (and, for
Microsoft hosts, instance discovery). Its `http_cache` remembers those answers;
persisting it next to the token cache makes a later process start with zero
requests to the authority when a valid token is cached.
"""

from __future__ import annotations

import logging
import platform
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .http_cache import HTTP_CACHE_FILE_NAME, PersistentHttpCache  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    import msal

    from ..config import Settings

logger = logging.getLogger(__name__)

# Declares that this client can handle Continuous Access Evaluation claims challenges.
CLIENT_CAPABILITIES = ["CP1"]


COMPANY_PORTAL = Path("/Applications/Company Portal.app")


def _company_portal_installed() -> bool:
    return COMPANY_PORTAL.exists()


def mac_broker_usable() -> bool:
    """MSAL Python's macOS broker works only on Apple silicon with Company Portal installed;
    anywhere else MSAL silently signs in with the browser instead."""
    return platform.machine() == "arm64" and _company_portal_installed()


def broker_supported() -> bool:
    """True when MSAL will really use a sign-in broker here (WAM on Windows, Enterprise SSO on macOS)."""
    if sys.platform not in ("win32", "darwin"):
        return False
    if sys.platform == "darwin" and not mac_broker_usable():
        return False
    try:
        import pymsalruntime  # noqa: F401
    except ImportError:
        return False
    return True


def build_public_client(
    settings: Settings, token_cache: Any, http_cache: PersistentHttpCache, *, use_broker: bool
) -> msal.PublicClientApplication:
    """The real MSAL public client, configured from Settings. Blocking: call it in a worker thread."""
    import msal

    kwargs: dict[str, Any] = {}
    if not settings.authority_is_known_to_microsoft:
        # MSAL's instance discovery asks login.microsoftonline.com about the host;
        # a private cloud or a test authority is not known there.
        kwargs["instance_discovery"] = False
    if use_broker:
        kwargs["enable_broker_on_windows"] = True
        kwargs["enable_broker_on_mac"] = True
    return msal.PublicClientApplication(
        settings.client_id,
        authority=settings.authority,
        token_cache=token_cache,
        http_cache=http_cache,
        client_capabilities=CLIENT_CAPABILITIES,
        app_name="local-mcp",
        **kwargs,
    )
