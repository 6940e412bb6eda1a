"""A cross-process file lock that dies with the process holding it.

msal-extensions locks its cache by creating `<cache>.lockfile` and waits ~5 s when the
file exists, so a process killed while holding it (SIGKILL, a crash, a power cut) leaves
a file behind that delays, and without portalocker blocks, every later process. This
lock is an OS lock (portalocker: `flock` on POSIX, `LockFileEx` on Windows) on that same
file: the kernel releases it when its holder dies, so a file left behind means nothing.

    acquire   open (create) the file, lock it; if the path meanwhile names another file
              (its last holder unlinked it), start again on the new one
    holding   the file says who holds it: "<pid> <program>" (describe_stuck_lock reads it)
    release   unlink the file while still holding the lock, then unlock: nobody can lock a
              file that is about to disappear and think they own the lock

A lock that stays busy means a live process holds it; after `timeout` seconds that is a
`LockError`, which the auth layer turns into "process N still holds the cache, wait for it".
"""

from __future__ import annotations

import hashlib
import logging
import os
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

logger = logging.getLogger(__name__)

LOCK_SUFFIX = ".lockfile"  # msal-extensions' name for the lock next to the cache
# A live holder is waited for this long: a keyring write may wait for an unlock prompt.
DEFAULT_TIMEOUT_SECONDS = 60.0
_POLL_SECONDS = 0.02
_POLL_MAX_SECONDS = 0.25


class LockError(Exception):
    """The lock stayed busy (a live process holds it) for longer than the timeout."""

    def __init__(self, path: str, timeout: float) -> None:
        super().__init__(f"The lock {path} stayed busy for {timeout:.0f} s.")
        self.path = path


class FileLock:
    """`with FileLock(path):` holds an exclusive OS lock on `path`, across processes and threads."""

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = DEFAULT_TIMEOUT_SECONDS) -> None:
        self.path = os.fspath(path)
        self.timeout = timeout
        self._handle: IO[bytes] | None = None

    def __enter__(self) -> FileLock:
        import portalocker

        deadline = time.monotonic() + self.timeout
        poll = _POLL_SECONDS
        waited = False
        while True:
            handle = _open_lock_file(self.path)
            try:
                portalocker.lock(handle, portalocker.LockFlags.EXCLUSIVE | portalocker.LockFlags.NON_BLOCKING)
            except portalocker.exceptions.LockException:
                handle.close()
                if time.monotonic() >= deadline:
                    raise LockError(self.path, self.timeout) from None
                if not waited:
                    logger.info("Waiting for %s, which %s holds", self.path, _holder(self.path))
                    waited = True
                time.sleep(poll)
                poll = min(poll * 2, _POLL_MAX_SECONDS)
                continue
            if not _still_at_path(handle, self.path):  # the last holder unlinked it: lock the new one
                _close_locked(handle)
                continue
            break
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()} {sys.argv[0] or 'python'}".encode("utf-8", "replace"))
        handle.flush()
        self._handle = handle
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        handle, self._handle = self._handle, None
        if handle is None:
            return
        if os.name == "posix":  # unlink first, while the lock still keeps everyone else out
            _unlink_quietly(self.path)
            _close_locked(handle)
        else:  # Windows cannot delete an open file; whoever locks it next removes it then
            _close_locked(handle)
            _unlink_quietly(self.path)


def describe_stuck_lock(path: Path | str) -> str:
    """Say why a lock (the cache's, or the one a refresh is made under) could not be taken, and what to do.

    `path` is the lock file, or the cache file whose `.lockfile` is meant.
    """
    lock = Path(path) if str(path).endswith(LOCK_SUFFIX) else Path(f"{path}{LOCK_SUFFIX}")
    try:
        holder = lock.read_text(encoding="utf-8", errors="replace").split()
    except FileNotFoundError:
        return "The token cache was busy: another process held its lock for a long time. Try again."
    except OSError as exc:
        return f"The token cache lock {lock} cannot be read ({type(exc).__name__}). Check its permissions."
    pid = int(holder[0]) if holder and holder[0].isdigit() else None
    program = holder[1] if len(holder) > 1 else "an unknown program"
    if pid is None or _process_alive(pid):
        who = f"process {pid} ({program})" if pid is not None else "another process"
        return (
            f"The token cache is locked by {who}, which is still running. "
            f"Wait for it or stop it, then try again."
        )
    # An OS lock dies with its holder: busy under a pid this computer does not run means the
    # holder runs elsewhere (another container or machine sharing the folder).
    return (
        f"The token cache lock {lock} is held by process {pid} ({program}), which does not run on this "
        f"computer (another container or machine sharing the folder?). Stop it, or give this server its "
        f"own cache folder (LOCAL_MCP_CACHE_DIR)."
    )


def _process_alive(pid: int) -> bool:
    if os.name == "nt":
        # On Windows os.kill(pid, 0) would terminate the process, not probe it: assume it lives,
        # and the message says to wait for it or stop it.
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, but belongs to someone else
        return True
    except OSError:
        return False
    return True


def locked_token_cache(persistence: Any) -> Any:
    """msal-extensions' PersistedTokenCache, its writes made under a FileLock instead of its CrossPlatLock."""
    from msal_extensions import PersistedTokenCache

    class LockedTokenCache(PersistedTokenCache):
        def modify(self, credential_type: Any, old_entry: Any, new_key_value_pairs: Any = None) -> None:
            # PersistedTokenCache.modify, with the lock swapped (msal-extensions 1.3.1, token_cache.py)
            with FileLock(self._lock_location):
                self._reload_if_necessary()
                super(PersistedTokenCache, self).modify(credential_type, old_entry, new_key_value_pairs=new_key_value_pairs)
                self._persistence.save(self.serialize())
                self._last_sync = time.time()

    return LockedTokenCache(persistence)


def refresh_lock_path(cache_path: Path, *parts: object) -> Path:
    """The lock one token refresh is made under: `<cache>.refresh-<hash of parts>.lockfile`."""
    digest = hashlib.sha256("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:16]
    return cache_path.with_name(f"{cache_path.name}.refresh-{digest}{LOCK_SUFFIX}")


def _holder(path: str) -> str:
    try:
        pid = Path(path).read_text(encoding="utf-8", errors="replace").split()[:1]
    except OSError:
        pid = []
    return f"process {pid[0]}" if pid and pid[0].isdigit() else "another process"


def _open_lock_file(path: str) -> IO[bytes]:
    flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags, 0o600)
    except FileNotFoundError:  # the folder is made when the cache is opened; a test may skip that
        os.makedirs(os.path.dirname(path) or ".", mode=0o700, exist_ok=True)
        fd = os.open(path, flags, 0o600)
    return os.fdopen(fd, "r+b", buffering=0)


def _still_at_path(handle: IO[bytes], path: str) -> bool:
    try:
        here, there = os.fstat(handle.fileno()), os.stat(path, follow_symlinks=False)
    except OSError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)


def _close_locked(handle: IO[bytes]) -> None:
    import portalocker

    try:
        portalocker.unlock(handle)
    except Exception:  # closing releases it anyway
        pass
    handle.close()


def _unlink_quietly(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:  # gone already, or (Windows) open in another process
        pass
