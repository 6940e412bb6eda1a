"""The tools/list cache: what the built tools publish, kept so that the next start need not build them.

Building the tools (importing local_mcp/tools/** and letting the SDK derive each tool's
argument model and schema) is most of what local-mcp adds to the SDK's own start-up, and
none of it is needed to answer `initialize`. `tools/list` needs only the published
definitions, so they are kept in a file after the tools were built, and served from it.

- Where: the cache folder (`Settings.resolved_cache_dir()`, next to the token cache), as
  `tools-list-<key>.json`, mode 0600, written atomically; at most KEEP such files are kept.
- The key (`listing_key`) is a hash of everything that can change the listing: every `.py`
  file of the package (relative path, size, mtime), the versions of Python, mcp, mcp-types,
  pydantic and pydantic-core, the platform, and every setting except the secrets and the
  two that register nothing (`preload`, `log_level`). Another key is another file.
- A file that is missing, unreadable, not ours, corrupt, of the wrong shape or for another key
  is ignored (the tools are built and the file written again).
- It holds the tool definitions only (names, descriptions, schemas, annotations): no token,
  no secret, no account.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import stat
import sys
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

PREFIX, SUFFIX = "tools-list-", ".json"
FORMAT = 1
KEEP = 4  # listing files kept in the folder (other settings, other versions)
MAX_BYTES = 2 * 1024 * 1024  # a listing is ~25-50 KB; anything far larger is not one of ours
PACKAGE = Path(__file__).resolve().parent

# Settings that never reach registration (create_server, tools/**/register): not part of the key.
UNKEYED_SETTINGS = frozenset({"preload", "log_level"})
# Secrets (remote mode): never hashed, never stored.
SECRET_SETTINGS = frozenset({"client_secret", "redis_url", "cache_key"})
DISTRIBUTIONS = ("mcp", "mcp-types")  # looked up by name; pydantic says its own version


def listing_key(settings: Any) -> str:
    """A hash of the package's files, the library versions and the settings that shape the listing."""
    digest = hashlib.sha256()
    digest.update(json.dumps(_environment(), sort_keys=True).encode())
    digest.update(json.dumps(_setting_values(settings), sort_keys=True, default=str).encode())
    for entry in _package_files():
        digest.update(entry.encode())
    return digest.hexdigest()[:32]


def _environment() -> dict[str, Any]:
    from importlib import metadata

    import pydantic
    import pydantic_core

    # pydantic's own attributes cost nothing; importlib.metadata reads a folder per lookup (~0.2 ms each).
    versions: dict[str, str | None] = {"pydantic": pydantic.VERSION, "pydantic-core": pydantic_core.__version__}
    for name in DISTRIBUTIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    from ._version import __version__

    versions["local-mcp"] = __version__  # besides the files: an install without .py sources still changes it
    return {"format": FORMAT, "python": sys.version, "platform": sys.platform, "package": str(PACKAGE), "versions": versions}


def _setting_values(settings: Any) -> dict[str, Any]:
    return {
        f.name: getattr(settings, f.name)
        for f in dataclasses.fields(settings)
        if f.name not in UNKEYED_SETTINGS and f.name not in SECRET_SETTINGS
    }


def _package_files() -> list[str]:
    """`relative/path.py size mtime_ns` for every .py file of the package, sorted."""
    found: list[str] = []
    pending = [PACKAGE]
    while pending:
        folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name != "__pycache__":
                    pending.append(Path(entry.path))
            elif entry.name.endswith(".py"):
                info = entry.stat()
                found.append(f"{Path(entry.path).relative_to(PACKAGE).as_posix()} {info.st_size} {info.st_mtime_ns}\n")
    return sorted(found)


def listing_path(settings: Any, key: str) -> Path:
    return settings.resolved_cache_dir() / f"{PREFIX}{key}{SUFFIX}"


def load_listing(settings: Any, key: str) -> tuple[list[Any] | None, str]:
    """The cached tool definitions (mcp_types.Tool) for `key`, or None and why not."""
    try:
        raw = _read_own_file(listing_path(settings, key))
    except FileNotFoundError:
        return None, "no listing cache yet"
    except OSError as exc:
        return None, f"listing cache unreadable ({exc.strerror or type(exc).__name__})"
    except ValueError as exc:
        return None, f"listing cache refused ({exc})"
    except Exception as exc:  # e.g. no cache folder can be found: build the tools, as without a cache
        return None, f"listing cache unavailable ({type(exc).__name__})"
    try:
        data = json.loads(raw)
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("key") != key:
            return None, "listing cache of another format or key"
        return _tools_from(data.get("tools")), "listing cache valid"
    except Exception as exc:  # JSON, pydantic's ValidationError, a nesting too deep: a cache never stops a start
        return None, f"listing cache corrupt ({type(exc).__name__})"


def _read_own_file(path: Path) -> bytes:
    """The file's bytes, if it and its folder belong to this user and no one else may write them."""
    from .auth.folders import foreign_folder_problem

    problem = foreign_folder_problem(path.parent)
    if problem:
        raise ValueError(f"folder: {problem}")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ValueError("not a regular file")
        if os.name == "posix" and (info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)):
            raise ValueError("the file belongs to another user or others may write it")
        if info.st_size > MAX_BYTES:
            raise ValueError("too large")
        return handle.read(MAX_BYTES + 1)


def _tools_from(items: Any) -> list[Any]:
    from mcp_types import Tool

    if not isinstance(items, list) or not items:
        raise ValueError("no tools")
    tools = [Tool.model_validate(item) for item in items]
    if len({tool.name for tool in tools}) != len(tools):
        raise ValueError("a tool name twice")
    if [dump_tool(tool) for tool in tools] != items:
        raise ValueError("not what the SDK would publish")  # e.g. a field this SDK does not know
    return tools


def dump_tool(tool: Any) -> dict[str, Any]:
    """A tool definition as it goes on the wire (the SDK dumps results this way: runner._dump_result)."""
    return dict(tool.model_dump(by_alias=True, mode="json", exclude_none=True))


def published_tools(server: Any) -> list[dict[str, Any]]:
    """What `tools/list` publishes for `server`: the SDK's own `MCPServer.list_tools()`, dumped.

    `list_tools` is a coroutine that awaits nothing; it is run to completion here so that the
    listing can be taken from a worker thread or before the event loop starts.
    """
    coroutine = server.list_tools()
    try:
        coroutine.send(None)
    except StopIteration as finished:
        return [dump_tool(tool) for tool in finished.value]
    coroutine.close()
    raise RuntimeError("MCPServer.list_tools() suspended; list the tools from the event loop instead")


def store_listing(settings: Any, key: str, tools: list[dict[str, Any]]) -> Path | None:
    """Write the listing for `key` (atomically, mode 0600) and prune old ones; None when it cannot be written."""
    from .auth.cache import atomic_write_private, ensure_private_dir

    body = json.dumps({"format": FORMAT, "key": key, "tools": tools}, separators=(",", ":"), ensure_ascii=False)
    try:
        path = listing_path(settings, key)
        ensure_private_dir(path.parent)  # refuses a folder that is not ours (auth/cache.py)
        atomic_write_private(path, body.encode())
    except Exception as exc:  # a cache: never fatal (read-only or full disk, a foreign folder)
        logger.debug("Listing cache not written (%s)", type(exc).__name__)
        return None
    prune(path.parent, keep=path)
    return path


def prune(folder: Path, keep: Path) -> None:
    """Delete the oldest listing files beyond KEEP (never `keep`)."""
    try:
        listings = [p for p in folder.iterdir() if p.name.startswith(PREFIX) and p.name.endswith(SUFFIX) and p != keep]
        listings.sort(key=lambda p: p.stat().st_mtime_ns, reverse=True)
    except OSError:
        return
    for old in listings[KEEP - 1 :]:
        try:
            old.unlink()
        except OSError:
            pass
