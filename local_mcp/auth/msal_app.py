"""Building the one MSAL PublicClientApplication, and persisting its http_cache.

MSAL's constructor fetches the authority's OpenID configuration (and, for
Microsoft hosts, instance discovery). Its `http_cache` remembers those answers;
persisting it next to the token cache makes a later process start with zero
requests to the authority when a valid token is cached.
"""

from __future__ import annotations

import logging
import pickle
import platform
import sys
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .cache import atomic_write_private

if TYPE_CHECKING:
    import msal

    from ..config import Settings

logger = logging.getLogger(__name__)

HTTP_CACHE_FILE_NAME = "msal_http_cache.bin"

# Declares that this client can handle Continuous Access Evaluation claims challenges.
CLIENT_CAPABILITIES = ["CP1"]


class PersistentHttpCache(dict):
    """MSAL's http_cache (a plain dict of public metadata responses) saved to a file.

    It holds only what the authority publishes to everyone (OpenID configuration,
    instance discovery, throttling hints), never a token.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._lock = threading.Lock()
        self._saved_keys: frozenset[Any] = frozenset()
        try:
            with open(path, "rb") as handle:
                # The file lives in the user's private cache folder (0700/0600).
                loaded = pickle.load(handle)
            if isinstance(loaded, dict):
                self.update(loaded)
                self._saved_keys = frozenset(self.keys())
        except FileNotFoundError:
            pass
        except Exception as exc:  # stale format from another MSAL version: start afresh
            logger.info("Ignoring unreadable MSAL http cache at %s (%s).", path, type(exc).__name__)

    def save_if_changed(self) -> None:
        with self._lock:
            keys = frozenset(self.keys())
            if keys == self._saved_keys:
                return
            try:
                atomic_write_private(self.path, pickle.dumps(dict(self)))
                self._saved_keys = keys
            except Exception as exc:  # a cache of public metadata is not worth failing a call for
                logger.info("Could not save MSAL http cache to %s (%s).", self.path, type(exc).__name__)


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
