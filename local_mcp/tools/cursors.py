"""Paging cursors a model cannot forge or move: signed with a per-process key (HMAC-SHA256).

A cursor is the tool's name and Graph's @odata.nextLink (relative to the Graph URL), plus a
MAC over both and the binding (the resource path and query it came from). A cursor from
another tool is refused naming the tool it belongs to; one from another resource, query or
server process, or one that was changed, is refused with a clear error too.

The tool is the one running (`current_tool`, set once for every tool by render.compact_text),
so no tool passes its own name.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
from collections.abc import Mapping
from contextvars import ContextVar
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from mcp.server.mcpserver.exceptions import ToolError

MAX_CURSOR_CHARS = 4096
_KEY = secrets.token_bytes(32)  # per process: cursors do not outlive the server
_MAC_BYTES = 16
_INVALID = "The cursor is not valid{why}; call the tool again without `cursor` to start over."
_TOOL_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
current_tool: ContextVar[str] = ContextVar("local_mcp_current_tool", default="")


class CursorMismatch(ToolError):
    """A cursor of this tool that was changed or belongs to another resource, query or server run."""


def binding(path: str, query: Mapping[str, Any] | None) -> str:
    """What a cursor belongs to: the resource path and the query (sorted, as text)."""
    items = sorted((str(k), str(v)) for k, v in (query or {}).items() if k != "$top" and v is not None)
    return path + "?" + json.dumps(items, separators=(",", ":"))


def _mac(tool: str, relative: str, bound: str) -> bytes:
    message = tool + "\n" + bound + "\n" + relative
    return hmac.new(_KEY, message.encode("utf-8"), hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))


def sign(relative: str, bound: str) -> str | None:
    """A cursor for a relative next link, for the running tool; None when it would be too long to hand out."""
    tool = current_tool.get()
    cursor = _b64((tool + "\n" + relative).encode("utf-8")) + "." + _b64(_mac(tool, relative, bound))
    return cursor if len(cursor) <= MAX_CURSOR_CHARS else None


def verify(cursor: str, bound: str) -> str:
    """The relative next link of a cursor signed here for the running tool and `bound`; ToolError otherwise."""
    text = (cursor or "").strip()
    if len(text) > MAX_CURSOR_CHARS:
        raise ToolError(_INVALID.format(why=f" (longer than {MAX_CURSOR_CHARS} characters)"))
    link, dot, mac = text.partition(".")
    try:
        tool, newline, relative = _unb64(link).decode("utf-8").partition("\n")
        given = _unb64(mac)
    except Exception:
        raise ToolError(_INVALID.format(why="")) from None
    if not dot or not newline:
        raise ToolError(_INVALID.format(why=""))
    here = current_tool.get()
    if tool != here:
        # The name is not proven (its MAC needs the other tool's binding), only shown when it looks like one.
        source = tool if _TOOL_NAME.match(tool) else "another tool"
        raise ToolError(
            f"The cursor is not valid for {here or 'this tool'}: it comes from {source}. Pass it back to "
            f"{source}, or call {here or 'the tool'} again without `cursor` to start over."
        )
    if not hmac.compare_digest(given, _mac(tool, relative, bound)):
        raise CursorMismatch(_INVALID.format(
            why=" for this call (it was changed, or comes from another folder or query, or from before the "
            "server restarted)"
        ))
    if not relative.startswith("/") or relative.startswith("//"):
        raise ToolError(_INVALID.format(why=""))
    return relative


def with_top(url: str, limit: int) -> str:
    """A next link asking for `limit` items per page, so `limit` holds on cursor pages too.

    A link without $top gets one: otherwise the page would hold the service's page size, and
    the items past `limit` would be cut off with no cursor leading to them.
    """
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(k == "$top" for k, _ in query):
        query = [(k, str(limit) if k == "$top" else v) for k, v in query]
    else:
        query.append(("$top", str(limit)))
    return urlunsplit(parts._replace(query=urlencode(query, safe="$,:'()/ ").replace(" ", "%20")))
