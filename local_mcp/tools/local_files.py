"""What the server may read from this computer, and what file text never reaches the model.

upload_file reads only regular files inside the folders the user allowed
(LOCAL_MCP_UPLOAD_DIRS, default: the download folder), never inside the token cache
folder, never through a symlink that leads out of an allowed folder, never /proc,
/sys or devices; its size cap counts the bytes actually read.

get_file never shows the text of an MSAL token cache or of text holding a JWT or a
refresh token: `looks_secret` says why.
"""

from __future__ import annotations

import io
import json
import os
import re
import stat
from pathlib import Path
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

_SPECIAL_ROOTS = ("/proc", "/sys", "/dev", "/run")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*")
# Entra refresh tokens and codes ("0.A…", "1.A…") and any "refresh_token": value
_REFRESH = re.compile(r"(?<![A-Za-z0-9_.-])[01]\.A[A-Za-z0-9_-]{40,}")
_REFRESH_FIELD = re.compile(r"""(?i)["']?refresh_?token["']?\s*[:=]\s*["']?[A-Za-z0-9_.-]{20,}""")
_MSAL_SECTIONS = ("AccessToken", "RefreshToken", "IdToken", "Account", "AppMetadata")


def _inside(child: Path, parent: Path) -> bool:
    return child == parent or parent in child.parents


def resolve_upload_path(settings: Any, path: str) -> Path:
    """The real path of a file upload_file may read; ToolError saying why for anything else."""
    given = Path(path).expanduser()
    if not given.is_absolute():
        raise ToolError(f"`local_path` must be an absolute path (got {path!r}).")
    real = Path(os.path.realpath(given))
    allowed = [Path(os.path.realpath(folder)) for folder in settings.resolved_upload_dirs()]
    cache = Path(os.path.realpath(settings.resolved_cache_dir()))
    if _inside(real, cache):
        raise ToolError(f"{given} is in local-mcp's token cache folder ({cache}); upload_file never reads from it.")
    if any(_inside(real, Path(root)) for root in _SPECIAL_ROOTS):
        raise ToolError(f"{given} is a system file ({real}); upload_file reads only ordinary files.")
    if not any(_inside(real, folder) for folder in allowed):
        where = ", ".join(str(folder) for folder in allowed)
        via = f" (it leads to {real})" if real != Path(os.path.abspath(given)) else ""
        raise ToolError(
            f"{given} is outside the folders upload_file may read{via}: {where}. Move or copy the file there, or the "
            "user can allow more folders with LOCAL_MCP_UPLOAD_DIRS."
        )
    try:
        info = os.stat(real)
    except FileNotFoundError:
        raise ToolError(f"There is no file at {given}.") from None
    except PermissionError:
        raise ToolError(f"{given} cannot be read: permission denied. The user can check its permissions.") from None
    except OSError as exc:
        raise ToolError(f"{given} cannot be read ({exc.strerror or exc}).") from None
    if info.st_nlink > 1 and _linked_from(cache, info):
        raise ToolError(f"{given} is the same file as one in local-mcp's token cache folder ({cache}); upload_file never reads it.")
    if stat.S_ISDIR(info.st_mode):
        raise ToolError(f"{given} is a folder; upload_file uploads one file.")
    if not stat.S_ISREG(info.st_mode):
        raise ToolError(f"{given} is not an ordinary file (a device, pipe or socket); upload_file reads only ordinary files.")
    return real


def _linked_from(cache: Path, info: os.stat_result) -> bool:
    """True when a hard link in the cache folder (or one level below) is this very file."""
    try:
        folders = [cache] + [Path(e.path) for e in os.scandir(cache) if e.is_dir(follow_symlinks=False)]
        for folder in folders:
            for entry in os.scandir(folder):
                there = entry.stat(follow_symlinks=False)
                if (there.st_dev, there.st_ino) == (info.st_dev, info.st_ino):
                    return True
    except OSError:  # no cache folder yet, or unreadable: nothing of it can be this file
        return False
    return False


def open_regular(path: Path) -> io.BufferedReader:
    """`path` opened for reading, refusing a symlink put there since it was checked, and anything not a regular file."""
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise ToolError(f"{path} cannot be read ({exc.strerror or exc}).") from None
    handle = os.fdopen(fd, "rb")
    if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
        handle.close()
        raise ToolError(f"{path} is not an ordinary file; upload_file reads only ordinary files.")
    return handle


def read_limited(path: Path, limit: int) -> bytes:
    """A regular file's bytes, at most `limit` of them (ToolError if there are more): counts what is read."""
    with open_regular(path) as handle:
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise ToolError(f"{path.name} is larger than {limit // (1024 * 1024)} MB; nothing was uploaded.")
    return data


def looks_secret(text: str) -> str | None:
    """Why this text must not reach the model (an MSAL token cache, a JWT, a refresh token), or None."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            parsed = json.loads(stripped)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict) and sum(1 for key in _MSAL_SECTIONS if key in parsed) >= 2:
            return "it is a Microsoft sign-in token cache"
    if _JWT.search(text):
        return "it holds a sign-in token (JWT)"
    if _REFRESH.search(text) or _REFRESH_FIELD.search(text):
        return "it holds a refresh token"
    return None


def secret_note(reason: str) -> str:
    return (
        f"The text of this file is not shown because {reason}, and tokens must never reach the conversation. "
        "Use download_file to save a copy on this computer instead."
    )


def upload_details(source: Path, target: str, size: int, conflict: str) -> dict[str, str]:
    """The lines of upload_file's question: what leaves this computer, and where it goes."""
    from .consent import size_text

    where = f"OneDrive /{target}" + (" (replaces a file of that name)" if conflict == "replace" else "")
    return {"Local file": str(source), "Destination": where, "Size": size_text(size)}
