"""The persistent token cache: encrypted by default, plaintext only when the user opts in.

msal-extensions does the real work: `PersistedTokenCache` keeps MSAL's own cache
format, writes under a cross-process lock (`token_cache.bin.lockfile`, an OS lock that
dies with its process: cache_lock.py) and reloads when another process changed the cache. This module only chooses the
persistence, refuses loudly when encryption is impossible, keeps a plaintext file at
mode 0600, and sets an unreadable cache aside instead of failing on it.

    Windows   DPAPI-encrypted file                       msal-extensions
    macOS     the login Keychain                         msal-extensions
    Linux     the Secret Service keyring (one item), through, in order (secret_service.py):
                1. libsecret via PyGObject                LOCAL_MCP_KEYRING_BACKEND=auto|libsecret
                2. SecretStorage, pure Python over D-Bus  LOCAL_MCP_KEYRING_BACKEND=auto|secretstorage
    anywhere  plaintext file, mode 0600                  only with LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE=1

A cache that cannot be decrypted or parsed is set aside, never deleted (a file is renamed
to `token_cache.bin.corrupt-<time>`, a keyring item is moved under another schema), the
cache starts empty, the user signs in again, and `auth_status` says what happened.
"""

from __future__ import annotations

import json
import logging
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import CacheUnavailableError, ConfigError
from .cache_lock import LOCK_SUFFIX, FileLock, describe_stuck_lock, locked_token_cache  # noqa: F401 (describe_stuck_lock: re-exported)
from .cache_shape import msal_shape_problem
from .folders import foreign_folder_problem

if TYPE_CHECKING:
    from msal_extensions import PersistedTokenCache

    from ..config import Settings

logger = logging.getLogger(__name__)

CACHE_FILE_NAME = "token_cache.bin"

_BACKEND_BY_PLATFORM = {"win32": "dpapi", "darwin": "keychain"}
# Backends that keep the tokens elsewhere and leave only an empty signal file at the cache path.
SIGNAL_FILE_BACKENDS = ("keychain", "libsecret", "secretstorage")


@dataclass(frozen=True)
class CacheInfo:
    """Where the tokens are and how they are protected (never the tokens themselves)."""

    backend: str  # "dpapi" | "keychain" | "libsecret" | "secretstorage" | "plaintext"
    path: Path  # the cache file; for a keyring backend, the empty signal file next to the lock
    encrypted: bool
    location: str = ""  # where the tokens are, in words: the file, or the keyring item and collection
    notices: list[str] = field(default_factory=list, compare=False)  # e.g. "a corrupt cache was set aside"

    def __post_init__(self) -> None:
        if not self.location:
            object.__setattr__(self, "location", f"file {self.path}")


def cache_file(settings: Settings) -> Path:
    return settings.resolved_cache_dir() / CACHE_FILE_NAME


class CacheFolderError(CacheUnavailableError, ConfigError):
    """The cache folder cannot be created or used (a file in the way, no permission)."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(
            f"The cache folder {path} cannot be used ({reason}). Point --cache-dir (LOCAL_MCP_CACHE_DIR) "
            "at a folder of your own that you can write, or leave it unset for the default."
        )
        self.path = path


def cache_dir_problem(path: Path) -> str | None:
    """Why `path` cannot become the cache folder, without creating anything; None when it can."""
    probe = path
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is not a folder" if probe == path else f"{probe} is a file, not a folder"
    if not os.access(probe, os.W_OK | os.X_OK):
        return f"no permission to write in {probe}"
    return foreign_folder_problem(path) if probe == path else None


def ensure_private_dir(path: Path) -> None:
    """Create the cache folder readable by the user only."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError as exc:
        raise CacheFolderError(path, cache_dir_problem(path) or exc.strerror or type(exc).__name__) from None
    if os.name == "posix":
        try:
            os.chmod(path, 0o700)
        except OSError:  # not ours (refused below), or a file system without permissions
            pass
    problem = foreign_folder_problem(path)
    if problem:
        raise CacheFolderError(path, problem)


def atomic_write_private(path: Path, data: bytes) -> None:
    """Write a file with mode 0600 so that a reader sees the old or the new content, never half.

    The new file's mtime comes from time.time_ns(), not the kernel's coarser clock:
    PersistedTokenCache compares it with time.time() to decide whether to reload.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as handle:  # mkstemp creates the file with mode 0600
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        now = time.time_ns()
        os.utime(tmp, ns=(now, now))
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def open_token_cache(settings: Settings) -> tuple[PersistedTokenCache, CacheInfo]:
    """Open the persistent token cache, or raise CacheUnavailableError saying how to fix it."""
    directory = settings.resolved_cache_dir()
    ensure_private_dir(directory)
    location = directory / CACHE_FILE_NAME
    try:
        persistence, info = _encrypted_persistence(location, settings)
    except EncryptionUnavailableError as refusal:
        if not settings.allow_unencrypted_cache:
            raise
        persistence = _plaintext_persistence(location)
        info = CacheInfo("plaintext", location, False)
        logger.warning(
            "WARNING: the token cache is NOT encrypted (%s). Tokens are stored in plaintext at %s "
            "(mode 0600) because LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE=1. Anyone who can read that file "
            "can act as you in Microsoft 365.",
            refusal.reason,
            location,
        )
    checked = CheckedPersistence(persistence, info)
    checked.check()
    return locked_token_cache(checked), info


class EncryptionUnavailableError(CacheUnavailableError):
    def __init__(self, reason: str, location: Path) -> None:
        super().__init__(
            f"The token cache cannot be encrypted on this machine ({reason}). "
            f"Fix it one of two ways: {_keyring_hint()}, or accept a plaintext cache readable only by you "
            f"by setting LOCAL_MCP_ALLOW_UNENCRYPTED_CACHE=1 (file {location}, mode 0600)."
        )
        self.reason = reason


def _keyring_hint() -> str:
    if sys.platform.startswith("linux"):
        return (
            "run and unlock a Secret Service keyring in your session (gnome-keyring, KWallet or KeePassXC; "
            "on a machine without a desktop: gnome-keyring-daemon --unlock inside dbus-run-session)"
        )
    return "make the system keyring usable (the login Keychain on macOS, DPAPI on Windows)"


# ----- choosing the persistence ----------------------------------------------------------------


def _encrypted_persistence(location: Path, settings: Settings) -> tuple[Any, CacheInfo]:
    if sys.platform.startswith("linux"):
        return _keyring_persistence(location, settings)

    from msal_extensions import build_encrypted_persistence

    backend = _BACKEND_BY_PLATFORM.get(sys.platform, sys.platform)
    try:
        persistence = build_encrypted_persistence(str(location))
    except ImportError as exc:
        raise EncryptionUnavailableError(f"{backend} support is not installed: {_first_line(exc)}", location) from exc
    except (ValueError, RuntimeError, OSError) as exc:
        raise EncryptionUnavailableError(f"{backend} is not usable: {_first_line(exc)}", location) from exc
    where = "the login Keychain" if backend == "keychain" else f"file {location} ({backend}-encrypted)"
    return persistence, CacheInfo(backend, location, True, where)


def _keyring_persistence(location: Path, settings: Settings) -> tuple[Any, CacheInfo]:
    """Linux: libsecret if PyGObject works, else SecretStorage; both keep the same keyring item."""
    from . import secret_service

    no_bus = secret_service.ensure_session_bus()
    if no_bus:
        raise EncryptionUnavailableError(no_bus, location)
    choice = settings.keyring_backend
    order = ("libsecret", "secretstorage") if choice == "auto" else (choice,)
    failures: list[tuple[str, secret_service.KeyringUnavailable]] = []
    for backend in order:
        try:
            if backend == "libsecret":
                persistence = secret_service.libsecret_persistence(str(location))
            else:
                persistence = secret_service.SecretServicePersistence(
                    str(location), unlock_timeout=float(settings.sign_in_timeout)
                )
        except secret_service.KeyringUnavailable as exc:
            logger.debug("Keyring backend %s is not usable: %s", backend, exc)
            failures.append((backend, exc))
            continue
        if failures:
            logger.info("Keyring backend %s is not usable (%s); using %s.", failures[-1][0], failures[-1][1], backend)
        _absorb_plaintext(persistence, location)
        if not location.exists() and persistence.exists():
            secret_service.touch_signal(str(location))  # the folder was emptied: readers need the signal
        return persistence, CacheInfo(backend, location, True, persistence.description)
    # The last way that got as far as the keyring says what is wrong with it; a missing
    # library (PyGObject, under uvx) is the usual case and not worth a word, unless it is all.
    tried = [(b, e) for b, e in failures if not e.not_installed][-1:] or failures
    raise EncryptionUnavailableError("; ".join(f"{backend}: {exc}" for backend, exc in tried), location)


def _absorb_plaintext(persistence: Any, location: Path) -> None:
    """Move a plaintext cache left by an earlier opt-in into the keyring, and empty the file.

    With a keyring backend the cache file is only an empty signal file, so content in it
    was written by a plaintext session after the last keyring one: it is the newest copy.
    """
    try:
        if location.stat().st_size == 0:
            return
    except FileNotFoundError:
        return
    with FileLock(f"{location}{LOCK_SUFFIX}"):
        try:
            raw = location.read_bytes()
        except FileNotFoundError:
            return
        if not raw.strip():
            return
        try:
            text = raw.decode("utf-8")
            if not isinstance(json.loads(text), dict):
                raise ValueError("not a JSON object")
        except ValueError:
            aside = _rename_aside(location)
            logger.warning("An unreadable file was in place of the token cache's signal file; it was moved to %s.", aside)
            return
        persistence.save(text)
        atomic_write_private(location, b"")
    logger.warning(
        "The plaintext token cache at %s was moved into the keyring (%s); the file is now empty.",
        location,
        persistence.description,
    )


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


# ----- an unreadable cache is set aside ----------------------------------------------------------


class CheckedPersistence:
    """Wraps the chosen persistence: content that cannot be decrypted or parsed is set aside.

    It has msal-extensions' persistence interface (save, load, time_last_modified,
    get_location, is_encrypted) without subclassing BasePersistence, so that importing
    this module does not import MSAL.

    So is valid JSON that MSAL could not read (cache_shape.py), checked at start-up (before
    any sign-in) and at every reload. The load that found it then reports "no cache"
    (PersistenceNotFound), which PersistedTokenCache treats as empty: MSAL asks the user to sign in again and the
    server keeps serving. Whatever makes the keyring unreachable (locked, gone) is not
    corruption and propagates unchanged.
    """

    def __init__(self, inner: Any, info: CacheInfo) -> None:
        self._inner = inner
        self._info = info
        self.is_encrypted = inner.is_encrypted

    def save(self, content: str) -> None:
        self._inner.save(content)

    def load(self) -> str:
        from msal_extensions.persistence import PersistenceDecryptionError

        try:
            content = self._inner.load()
        except PersistenceDecryptionError as exc:
            raise self._set_aside(f"it cannot be decrypted ({type(exc).__name__})") from exc
        except UnicodeDecodeError as exc:
            raise self._set_aside("it is not text") from exc
        if content and content.strip():
            try:
                parsed = json.loads(content)
            except ValueError:
                parsed = None
            if not isinstance(parsed, dict):
                raise self._set_aside("it is not MSAL's JSON")
            shape = msal_shape_problem(parsed)
            if shape:  # MSAL would raise on it later, perhaps while saving a completed sign-in
                raise self._set_aside(f"it is not in MSAL's shape ({shape})")
        return content

    def time_last_modified(self) -> float:
        return self._inner.time_last_modified()

    def get_location(self) -> str:
        return self._inner.get_location()

    def check(self) -> None:
        """Read once at start-up so that a corrupt cache is set aside (and reported) right away."""
        from msal_extensions.persistence import PersistenceNotFound

        try:
            self.load()
        except PersistenceNotFound:
            pass

    def _set_aside(self, why: str) -> Exception:
        from msal_extensions.persistence import PersistenceNotFound

        if hasattr(self._inner, "set_aside"):
            where = self._inner.set_aside()
        else:
            aside = _rename_aside(Path(self._inner.get_location()))
            where = str(aside) if aside else "nowhere (the file was already gone)"
        notice = (
            f"The token cache ({self._info.location}) was corrupt: {why}. It was set aside as {where}, "
            "and you will be asked to sign in again."
        )
        logger.warning("%s", notice)
        self._info.notices.append(notice)
        return PersistenceNotFound(message="The token cache was set aside.", location=self._info.location)


def _rename_aside(location: Path) -> Path | None:
    if not location.exists():
        return None
    stamp = time.strftime("%Y%m%d-%H%M%S")
    aside = location.with_name(f"{location.name}.corrupt-{stamp}")
    n = 1
    while aside.exists():
        n += 1
        aside = location.with_name(f"{location.name}.corrupt-{stamp}-{n}")
    try:
        os.replace(location, aside)
    except OSError:
        return None
    return aside
