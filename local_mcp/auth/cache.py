"""The persistent token cache: encrypted by default, plaintext only when the user opts in.

msal-extensions does the real work: `PersistedTokenCache` keeps MSAL's own cache
format, takes a cross-process file lock on every write and reloads when another
process changed the file. This module only chooses the persistence, refuses
loudly when encryption is impossible, and keeps a plaintext file at mode 0600.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CacheUnavailableError

if TYPE_CHECKING:
    from msal_extensions import PersistedTokenCache

    from ..config import Settings

logger = logging.getLogger(__name__)

CACHE_FILE_NAME = "token_cache.bin"

_BACKEND_BY_PLATFORM = {"win32": "dpapi", "darwin": "keychain"}


@dataclass(frozen=True)
class CacheInfo:
    """Where the tokens are and how they are protected (never the tokens themselves)."""

    backend: str  # "dpapi" | "keychain" | "libsecret" | "plaintext"
    path: Path
    encrypted: bool


def cache_file(settings: Settings) -> Path:
    return settings.resolved_cache_dir() / CACHE_FILE_NAME


def ensure_private_dir(path: Path) -> None:
    """Create the cache folder readable by the user only."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if os.name == "posix":
        try:
            os.chmod(path, 0o700)
        except OSError:  # not ours to fix (e.g. a shared folder); the files stay 0600
            pass


def atomic_write_private(path: Path, data: bytes) -> None:
    """Write a file with mode 0600 so that a reader sees the old or the new content, never half."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as handle:  # mkstemp creates the file with mode 0600
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def open_token_cache(settings: Settings) -> tuple[PersistedTokenCache, CacheInfo]:
    """Open the persistent token cache, or raise CacheUnavailableError saying how to fix it."""
    from msal_extensions import PersistedTokenCache

    directory = settings.resolved_cache_dir()
    ensure_private_dir(directory)
    location = directory / CACHE_FILE_NAME
    try:
        persistence, info = _encrypted_persistence(location)
    except EncryptionUnavailableError as refusal:
        if not settings.allow_unencrypted_cache:
            raise
        persistence, info = _plaintext_persistence(location), CacheInfo("plaintext", location, False)
        logger.warning(
            "WARNING: the token cache is NOT encrypted (%s). Tokens are stored in plaintext at %s "
            "(mode 0600) because LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE=1. Anyone who can read that file "
            "can act as you in Microsoft 365.",
            refusal.reason,
            location,
        )
    _set_aside_if_corrupt(persistence, location)
    return PersistedTokenCache(persistence), info


class EncryptionUnavailableError(CacheUnavailableError):
    def __init__(self, reason: str, location: Path) -> None:
        super().__init__(
            f"The token cache cannot be encrypted on this machine ({reason}). "
            "Fix it one of two ways: install and start a keyring (on Linux: gnome-keyring or "
            "another Secret Service provider, plus PyGObject and gir1.2-secret-1), or accept a "
            "plaintext cache readable only by you by setting LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE=1 "
            f"(file {location}, mode 0600)."
        )
        self.reason = reason


def _encrypted_persistence(location: Path) -> tuple[Any, CacheInfo]:
    from msal_extensions import build_encrypted_persistence

    backend = _BACKEND_BY_PLATFORM.get(sys.platform, "libsecret")
    try:
        persistence = build_encrypted_persistence(str(location))
    except ImportError as exc:
        raise EncryptionUnavailableError(f"{backend} support is not installed: {_first_line(exc)}", location) from exc
    except (ValueError, RuntimeError, OSError) as exc:
        raise EncryptionUnavailableError(f"{backend} is not usable: {_first_line(exc)}", location) from exc
    return persistence, CacheInfo(backend, location, True)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0].rstrip(".") if text else type(exc).__name__


def _plaintext_persistence(location: Path) -> Any:
    from msal_extensions import FilePersistence

    class PrivateFilePersistence(FilePersistence):
        """FilePersistence whose writes are atomic and whose file is always 0600."""

        def save(self, content: str) -> None:
            atomic_write_private(Path(self.get_location()), content.encode("utf-8"))

    if location.exists() and os.name == "posix":
        os.chmod(location, 0o600)  # tighten a file an older version or a user left open
    return PrivateFilePersistence(str(location))


def _set_aside_if_corrupt(persistence: Any, location: Path) -> None:
    """A cache that cannot be parsed is renamed, not deleted, and the user signs in again."""
    from msal_extensions.persistence import PersistenceNotFound

    try:
        content = persistence.load()
    except PersistenceNotFound:
        return
    except Exception as exc:  # undecryptable: keep serving, report it
        logger.warning("The token cache at %s cannot be read (%s); you will be asked to sign in again.", location, type(exc).__name__)
        _rename_aside(location)
        return
    if not content or not content.strip():
        return
    try:
        parsed = json.loads(content)
        if not isinstance(parsed, dict):
            raise ValueError("not a JSON object")
    except ValueError:
        aside = _rename_aside(location)
        logger.warning(
            "The token cache at %s was corrupt; it was moved to %s and you will be asked to sign in again.",
            location,
            aside,
        )


def _rename_aside(location: Path) -> Path | None:
    if not location.exists():
        return None
    aside = location.with_name(f"{location.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
    try:
        os.replace(location, aside)
    except OSError:
        return None
    return aside
