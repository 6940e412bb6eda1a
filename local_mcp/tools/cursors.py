"""Paging cursors a model cannot forge or move: signed with a per-process key (HMAC-SHA256).

A cursor is Graph's @odata.nextLink (relative to the Graph URL) plus a MAC over it and
its binding (the resource path and query it came from). A cursor from another tool,
resource, query or server process, or one that was changed, is refused with a clear error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mcp.server.mcpserver.exceptions import ToolError

MAX_CURSOR_CHARS = 4096
_KEY = secrets.token_bytes(32)  # per process: cursors do not outlive the server
_MAC_BYTES = 16
_INVALID = "The cursor is not valid{why}; call the tool again without `cursor` to start over."


def binding(path: str, query: Mapping[str, Any] | None) -> str:
    """What a cursor belongs to: the resource path and the query (sorted, as text)."""
    items = sorted((str(k), str(v)) for k, v in (query or {}).items() if k != "$top" and v is not None)
    return path + "?" + json.dumps(items, separators=(",", ":"))


def _mac(relative: str, bound: str) -> bytes:
    return hmac.new(_KEY, (bound + "\n" + relative).encode("utf-8"), hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))


def sign(relative: str, bound: str) -> str | None:
    """A cursor for a relative next link; None when it would be too long to hand out."""
    cursor = _b64(relative.encode("utf-8")) + "." + _b64(_mac(relative, bound))
    return cursor if len(cursor) <= MAX_CURSOR_CHARS else None


def verify(cursor: str, bound: str) -> str:
    """The relative next link of a cursor signed here for `bound`; ToolError otherwise."""
    text = (cursor or "").strip()
    if len(text) > MAX_CURSOR_CHARS:
        raise ToolError(_INVALID.format(why=f" (longer than {MAX_CURSOR_CHARS} characters)"))
    link, dot, mac = text.partition(".")
    try:
        relative = _unb64(link).decode("utf-8")
        given = _unb64(mac)
    except Exception:
        raise ToolError(_INVALID.format(why="")) from None
    if not dot or not hmac.compare_digest(given, _mac(relative, bound)):
        raise ToolError(_INVALID.format(
            why=" for this call (it was changed, or comes from another tool, folder or query, or from before the "
            "server restarted)"
        ))
    if not relative.startswith("/") or relative.startswith("//"):
        raise ToolError(_INVALID.format(why=""))
    return relative


def with_top(url: str, limit: int) -> str:
    """A next link asking for `limit` items per page, so `limit` holds on cursor pages too."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(k == "$top" for k, _ in query):
        return url
    query = [(k, str(limit) if k == "$top" else v) for k, v in query]
    return urlunsplit(parts._replace(query=urlencode(query, safe="$,:'()/ ").replace(" ", "%20")))
