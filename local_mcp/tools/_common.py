"""Shared pieces of the Graph tools: paging, limits, text, dates, confirmation, saved files.

Registration (`graph_tool`, `local_tool`: scopes, annotations, listing) is in registration.py,
re-exported here for the tool modules.
"""

from __future__ import annotations

import base64
import os
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, ConfigDict, Field

from . import consent, cursors
from .registration import DECLARED, ID_FINDERS, ToolInfo, graph_tool, local_tool  # noqa: F401 (re-exported)

DEFAULT_LIMIT = 10
MAX_LIMIT = 50
MAX_ID_CHARS = 1024  # Graph ids are a few hundred characters at most


# ----- paging ------------------------------------------------------------------------------------


class PageInfo(BaseModel):
    has_more: bool = Field(description="true when more results exist; pass `cursor` to get them")
    cursor: str | None = Field(default=None, description="opaque; pass it back as `cursor` for the next page")


# The bounds are published in the schema; clamp_limit enforces them with our own message (not pydantic's).
LIMIT_BOUNDS: dict[str, Any] = {"minimum": 1, "maximum": MAX_LIMIT}
# Short on purpose: 17 list tools repeat them in tools/list. `limit` says it all with its default and
# bounds; the text of a page ends with "more: pass cursor=…" when there is more (render.py).
LIMIT_FIELD = Field(json_schema_extra=LIMIT_BOUNDS)
# maxLength is published like limit's bounds; cursors.open_cursor enforces it with our own message.
CURSOR_FIELD = Field(description="`page.cursor`", json_schema_extra={"maxLength": cursors.MAX_CURSOR_CHARS})


def clamp_limit(limit: int | None, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    if limit is None:
        return default
    if int(limit) < 1:
        raise ToolError(f"`limit` must be at least 1 (got {limit}); leave it out for {default} results per page.")
    return max(1, min(int(limit), maximum))


def encode_cursor(next_link: str | None, graph_url: str, binding: str = "") -> str | None:
    """Graph's @odata.nextLink, made opaque, relative to the configured Graph URL and signed for `binding`."""
    if not next_link:
        return None
    relative = next_link[len(graph_url) :] if next_link.startswith(graph_url) else next_link
    return cursors.sign(relative, binding)


def decode_cursor(cursor: str, graph_url: str, binding: str = "") -> str:
    """A cursor back into an absolute URL on the configured Graph host (anything else is refused)."""
    return graph_url + cursors.verify(cursor, binding)


async def fetch_page(
    graph: Any,
    path: str,
    *,
    scopes: Sequence[str],
    params: Mapping[str, Any] | None,
    cursor: str | None,
    limit: int,
    headers: Mapping[str, str] | None = None,
    bind: Mapping[str, Any] | None = None,
) -> tuple[list[dict[str, Any]], PageInfo]:
    """One page of a Graph collection: at most `limit` items and a cursor for the rest.

    The cursor is signed for `path` and `bind` (default: `params`): a cursor from another
    tool, resource or query is refused. Pass `bind` when params hold values that move
    between calls (a window that defaults to "now").
    """
    binding = cursors.binding(path, params if bind is None else bind)
    if cursor:
        url = cursors.with_top(decode_cursor(cursor, graph.settings.graph_url, binding), limit)
        response = await graph.request("GET", url, scopes=scopes, headers=headers)
    else:
        query = dict(params or {})
        query.setdefault("$top", limit)
        response = await graph.request("GET", path, scopes=scopes, params=query, headers=headers)
    body = response.body
    value = body.get("value") if isinstance(body, dict) else None
    if not isinstance(value, list):
        from ..errors import UnexpectedAnswerError

        shape = "no JSON object" if not isinstance(body, dict) else "no `value` list"
        raise UnexpectedAnswerError(
            f"GET {path}: Microsoft Graph's answer holds {shape}, so there are no results to show. "
            "Try again; if it keeps happening, check LOCAL_MCP_GRAPH_URL points at Microsoft Graph.",
            status=response.status, code="UnexpectedAnswer",
        )
    items = [item for item in value if isinstance(item, dict)][:limit]
    next_link = body.get("@odata.nextLink")
    link = next_link if isinstance(next_link, str) else None
    return items, PageInfo(has_more=bool(link), cursor=encode_cursor(link, graph.settings.graph_url, binding))


# ----- dates -------------------------------------------------------------------------------------


def iso_utc(value: Any) -> str | None:
    """Graph's timestamps ("…Z", or {dateTime, timeZone: "UTC"}) as ISO 8601 with an explicit offset."""
    if not value:
        return None
    if isinstance(value, Mapping):
        raw = str(value.get("dateTime") or "")
        zone = str(value.get("timeZone") or "UTC")
        if not raw:
            return None
        if zone.upper() not in ("UTC", "ETC/UTC", "COORDINATED UNIVERSAL TIME"):
            return raw  # we ask Graph for UTC (Prefer: outlook.timezone); anything else is passed as given
        raw = raw if raw.endswith("Z") else raw + "Z"
    else:
        raw = str(value)
    try:
        parsed = datetime.fromisoformat(_trim_fraction(raw).replace("Z", "+00:00"))
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        return parsed.astimezone(timezone.utc).isoformat()
    except (ValueError, OverflowError):  # not a date, or one past year 9999 in UTC: passed on as given
        return str(value)[:64]


def _trim_fraction(raw: str) -> str:
    # Graph sends 7 fractional digits; Python 3.10's fromisoformat takes at most 6.
    return re.sub(r"(\.\d{6})\d+", r"\1", raw)


def parse_when(value: str, *, field: str, zone: tzinfo | None = None) -> datetime:
    """A user/model-supplied ISO 8601 date or datetime, in UTC; naive values are taken in `zone` (default UTC)."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(_trim_fraction(text.replace("Z", "+00:00")))
    except ValueError:
        raise ToolError(f"`{field}` must be an ISO 8601 date or date-time such as 2026-11-22T09:00:00Z (got {value!r}).") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone or timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:00-05:00 is in year 10000 in UTC
        raise ToolError(
            f"`{field}` {short_text(value)!r} falls outside the years 1 to 9999 once in UTC; pass a date within them."
        ) from None


def graph_datetime(value: datetime) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def odata_quote(value: str) -> str:
    """A string literal for a $filter expression ('' escapes a quote)."""
    return "'" + value.replace("'", "''") + "'"


def path_id(value: str, *, field: str = "id") -> str:
    """An id from the model as one URL path segment (Outlook ids may hold '/', '+' and '=')."""
    cleaned = (value or "").strip()
    if not cleaned:
        raise ToolError(f"`{field}` is empty; pass the `id` from a list or search result.")
    decoded = cleaned
    for _ in range(3):  # also %2e%2e and %252e%252e
        decoded = unquote(decoded)
    dots = any(part.strip() in (".", "..") for part in re.split(r"[/\\]", decoded))  # also "..%2Fx"
    if dots or len(cleaned) > MAX_ID_CHARS or any(ord(c) < 0x20 for c in decoded):
        raise ToolError(f"`{field}` {short_text(cleaned)!r} is not an id; pass the `id` from a list or search result.")
    return quote(cleaned, safe="")


def short_text(value: str, keep: int = 40) -> str:
    """An echoed value, shortened: an error never repeats a long string back."""
    return value if len(value) <= keep else value[:keep] + "…"


_EMAIL = re.compile(r"^[^@\s,;<>()\[\]\"]+@[^@\s,;<>()\[\]\"]+\.[^@\s,;<>()\[\]\"]+$")


def email_addresses(values: Sequence[str] | None, *, field: str) -> list[str]:
    """Email addresses given by the model, trimmed; a malformed one is a clear error."""
    cleaned = [v.strip() for v in values or () if v and v.strip()]
    bad = [v for v in cleaned if not _EMAIL.match(v)]
    if bad:
        raise ToolError(f"`{field}` must hold plain email addresses such as megan@contoso.com (not {bad[0]!r}).")
    return cleaned


# ----- confirmation for writes that reach other people -----------------------------------------


CONFIRM_INPUT_KEY = "confirm"


class Confirmation(BaseModel):
    model_config = ConfigDict(strict=True)  # "true" or 1 is not a yes

    confirm: bool = Field(description="true to go ahead")


def _supports_form_elicitation(ctx: Context) -> bool:
    caps = ctx.client_capabilities
    elicitation = getattr(caps, "elicitation", None) if caps is not None else None
    if elicitation is None:
        return False
    # A client that declares elicitation with neither mode supports form (the 2025-06 shape).
    return getattr(elicitation, "form", None) is not None or getattr(elicitation, "url", None) is None


async def confirm_or_ask(
    ctx: Context, *, confirmed: bool, summary: str, details: Mapping[str, str] | None = None
) -> Any:
    """Go ahead only with the user's consent to `summary` (and `details`, one line each).

    With elicitation the user is always asked: `confirmed` (the model's confirm=true)
    cannot skip the question. Without it, `confirmed` counts only when the user opted in
    with LOCAL_MCP_CONFIRM_WRITES=model; otherwise the write is refused.
    Returns None to proceed, or an input_required result to return from the tool
    (2026-07-28 clients); raises ToolError when the user declines or cannot be asked.
    """
    answer = (ctx.input_responses or {}).get(CONFIRM_INPUT_KEY)
    if answer is not None:
        if consent.accepted(answer):
            return None
        raise ToolError(f"Not done: the user did not confirm ({summary}).")
    if not _supports_form_elicitation(ctx):
        if consent.confirm_mode(ctx) != "model":
            raise ToolError(consent.refusal_without_elicitation(summary, stateless_http=consent.cannot_ask_mid_call(ctx)))
        if confirmed:
            return None
        raise ToolError(
            f"This needs the user's confirmation: {summary}. Show this to the user, and if they agree, "
            "call the tool again with confirm=true."
        )
    message = consent.question(summary, details)
    if (ctx.protocol_version or "") >= "2026-07-28":
        from mcp.server.elicitation import render_elicitation_schema
        from mcp_types import ElicitRequest, ElicitRequestFormParams, InputRequiredResult

        return InputRequiredResult(
            input_requests={
                CONFIRM_INPUT_KEY: ElicitRequest(
                    params=ElicitRequestFormParams(message=message, requested_schema=render_elicitation_schema(Confirmation))
                )
            },
            request_state="confirm",
        )
    try:
        result = await ctx.elicit(message, Confirmation)
    except ValueError:  # accepted with content that is not exactly {"confirm": <boolean>}
        raise ToolError(f"Not done: the user's answer was not a clear yes ({summary}).") from None
    if getattr(result, "action", None) == "accept" and getattr(getattr(result, "data", None), "confirm", False) is True:
        return None
    raise ToolError(f"Not done: the user did not confirm ({summary}).")


class ConfirmOnce:
    """The confirmation of one tool call, asked at most once.

    run_tool may run a tool body again (after a consent sign-in); a user who
    already said yes is not asked a second time. `confirmed` is the model's
    confirm=true (see confirm_or_ask for when it counts); `required=False` is for a
    call that needs no question at all (an event nobody is invited to).
    """

    def __init__(self, ctx: Context, *, confirmed: bool, required: bool = True) -> None:
        self._ctx = ctx
        self._confirmed = confirmed
        self.approved = not required

    async def ask(self, summary: str, details: Mapping[str, str] | None = None) -> Any:
        """None to go ahead, or an input_required result to return; raises ToolError when declined."""
        if self.approved:
            return None
        outcome = await confirm_or_ask(self._ctx, confirmed=self._confirmed, summary=summary, details=details)
        if outcome is None:
            self.approved = True
        return outcome


# ----- files on this computer --------------------------------------------------------------------

_UNSAFE_NAME = re.compile(r'[\x00-\x1f<>:"/\\|?*]+')


MAX_NAME_BYTES = 200  # file systems allow 255 bytes a name; room for " (2)" and a temporary name's suffix


def safe_file_name(name: str | None, fallback: str = "download") -> str:
    """A file name that cannot climb out of its folder or upset any OS, at most MAX_NAME_BYTES in UTF-8."""
    cleaned = _UNSAFE_NAME.sub("_", (name or "").strip()).strip(". ")
    return fit_name(cleaned, MAX_NAME_BYTES) or fallback


def fit_name(name: str, max_bytes: int) -> str:
    """`name` cut to `max_bytes` of UTF-8 (never inside a character), keeping a short extension."""
    if len(name.encode("utf-8")) <= max_bytes:
        return name
    stem, dot, ext = name.rpartition(".")
    if not dot or not stem or len(ext.encode("utf-8")) > 16:
        stem, ext = name, ""
    tail = "." + ext if ext else ""
    room = max_bytes - len(tail.encode("utf-8"))
    cut = stem.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip(". ")
    return cut + tail


def save_download(settings: Any, name: str | None, data: bytes) -> Path:
    """Save bytes under the download folder (LOCAL_MCP_DOWNLOAD_DIR), never overwriting a file.

    Written under a temporary name and renamed when complete (see _download.py, which also
    streams big downloads to disk).
    """
    from ._download import save_bytes

    return save_bytes(settings.resolved_download_dir(), name, data)
