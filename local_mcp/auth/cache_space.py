"""Can the cache folder be written right now? Asked before a sign-in, and by auth_status.

A sign-in ends with MSAL writing the tokens (and account.json): when the folder has become
read-only, or the disk is full, that write fails after the user has already signed in in
the browser, and the sign-in is lost. So before the browser opens (or the device code is
shown) the folder is probed: enough free space, and a small file really written, synced
and removed. Reading cached tokens needs no write, so this never stops silent calls.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from pathlib import Path

from ..errors import CacheUnavailableError

# Room for the cache (and account.json) to be rewritten next to the old copy: MSAL's cache of
# a few accounts is tens of KiB; twice the current file when it is bigger.
MIN_FREE_BYTES = 1024 * 1024
_PROBE = b"\0" * 4096
_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class CacheNotWritableError(CacheUnavailableError):
    """The cache folder cannot take the write a sign-in ends with (no permission, read-only, full)."""

    def __init__(self, directory: Path, reason: str) -> None:
        full = "full" in reason
        fix = (
            "Free some disk space there, then try again."
            if full
            else "Make it writable for you, or point LOCAL_MCP_CACHE_DIR (--cache-dir) at a folder you can write."
        )
        super().__init__(
            f"The token cache folder {directory} cannot be written ({reason}), so a sign-in could not save "
            f"its tokens; local-mcp starts none until this is fixed. {fix}"
        )
        self.directory = directory
        self.reason = reason


def write_problem(directory: Path, *, cache_file: Path | None = None) -> str | None:
    """Why a write in `directory` would fail now, in words; None when it would succeed."""
    if not directory.is_dir():
        return None  # not made yet: creating it is checked (and reported) where it is made
    needed = MIN_FREE_BYTES
    if cache_file is not None:
        try:
            needed = max(needed, 2 * cache_file.stat().st_size)
        except OSError:
            pass
    try:
        free = shutil.disk_usage(directory).free
    except OSError:
        free = None
    if free is not None and free < needed:
        return f"the disk is full: {free // 1024} KiB free, {needed // 1024} KiB needed"
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix=".write-check.", suffix=".tmp", dir=str(directory))
        with os.fdopen(fd, "wb") as handle:
            handle.write(_PROBE)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        return describe_write_error(exc)
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return None


def describe_write_error(exc: OSError) -> str:
    """An OSError from writing in the cache folder, in words."""
    if exc.errno in _FULL:
        return "the disk is full"
    if exc.errno == errno.EROFS:
        return "it is on a read-only file system"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "no permission to write in it"
    return exc.strerror or type(exc).__name__


def check_writable(directory: Path, *, cache_file: Path | None = None) -> None:
    """Raise CacheNotWritableError when a sign-in's tokens could not be saved in `directory`."""
    problem = write_problem(directory, cache_file=cache_file)
    if problem:
        raise CacheNotWritableError(directory, problem)
