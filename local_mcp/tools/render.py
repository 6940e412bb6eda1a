"""The text a model reads: a compact rendering of a tool's structured result.

A client that passes both `structuredContent` and `content` to the model would otherwise
pay for the same JSON twice. The structured content stays exactly as it was (it is what
the output schema describes); the text becomes:

- a list of records: one header line naming the columns once, then one tab-separated line per
  record; columns empty (or false) in every row, and links, are left out; a column with one value
  in every row is said once in the header (or not at all when the result says it above); a false
  flag is an empty cell; long text is cut (the structured content has it whole); dates are cut to
  the minute (`2026-03-02 09:15+00:00`) but keep their offset; a small record inside a cell (a
  phone: type and number) is its values; a cell that repeats an earlier one of its row (a user
  principal name that is the email) is `=<that column>`;
- a record: one `field: value` line per non-empty field;
- `page`: `more: pass cursor=<cursor>` once, or nothing when there is no next page;
- nested people (`{name, email}`) as `Name <email>`; dates stay ISO 8601 with their offset.

It is generic on purpose: every tool registered through `graph_tool` or `local_tool` (the account
tools) gets it, whatever its model.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, TextContent
from pydantic import BaseModel

from ..errors import GraphError
from . import cursors
from .bounds import bound_strings

SEP = "\t"  # between the columns of a list line (cells never hold a tab: whitespace is collapsed)
SAME_MIN_CHARS = 12  # a cell this long that repeats an earlier cell of its row is written "=<that column>"
CELL_CHARS = 80  # a column value in a list line; the structured content keeps the whole text
# Left out of list lines (a record shows them): links for a person to click, rarely what a model needs.
_LIST_SKIP = re.compile(r"(^|_)(link|url)s?$")
_SPACES = re.compile(r"\s+")
_DATETIME = re.compile(r"^(\d{4}-\d\d-\d\d)T(\d\d):(\d\d):(\d\d(?:\.\d+)?)([+-]\d\d:\d\d|Z)$")


def render(data: Any) -> str:
    """The compact text for a structured result (a dict as the SDK dumps it)."""
    if not isinstance(data, Mapping):
        return _inline(data, limit=None)
    lines: list[str] = []
    for key, value in data.items():
        if key == "page" and isinstance(value, Mapping):
            continue
        if _empty(value):
            continue
        if isinstance(value, list) and all(isinstance(v, Mapping) and not _is_person(v) for v in value):
            lines.extend(_table(key, value, data))
        elif isinstance(value, Mapping) and not _is_person(value):
            lines.append(f"{key}:")
            lines.extend("  " + line for line in render(value).splitlines())
        else:
            text = _inline(value, limit=None)
            lines.append(f"{key}: {text}" if "\n" not in text else f"{key}:\n{text}")
    page = data.get("page")
    if isinstance(page, Mapping) and page.get("cursor"):
        lines.append(f"more: pass cursor={page['cursor']}")
    return "\n".join(lines) if lines else "(nothing)"


def _table(key: str, rows: list[Any], around: Mapping[str, Any]) -> list[str]:
    columns: list[str] = []
    for row in rows:
        for column, value in row.items():
            if column not in columns and not _empty(value) and value is not False and not _LIST_SKIP.search(column):
                columns.append(column)
    same: list[str] = []  # "column=value" said once: the value every row has
    if len(rows) > 1:
        for column in list(columns):
            if column == "id":
                continue
            values = {_cell(row.get(column)) for row in rows}
            if len(values) == 1:
                columns.remove(column)
                if around.get(column) != rows[0].get(column):  # not already a line of the result
                    same.append(f"{column}={values.pop()}")
    each = f", each with {', '.join(same)}" if same else ""
    out = [f"{key} ({len(rows)}){each}, tab-separated: {SEP.join(columns)}"]
    for row in rows:
        cells: list[str] = []
        for column in columns:
            cell = _cell(row.get(column))
            earlier = next((c for c, v in zip(columns, cells) if v == cell), None) if len(cell) >= SAME_MIN_CHARS else None
            cells.append(f"={earlier}" if earlier else cell)  # a UPN that is the email: "=email"
        out.append(SEP.join(cells))
    return out


def _cell(value: Any) -> str:
    if value is False:
        return ""  # a column is listed only when some row says yes
    if isinstance(value, str) and (match := _DATETIME.match(value)):
        date, hours, minutes, _seconds, offset = match.groups()
        return f"{date} {hours}:{minutes}{offset}"
    if isinstance(value, list) and value and all(_is_small_record(v) for v in value):
        return _inline([" ".join(_inline(v, limit=None) for v in item.values() if not _empty(v)) for item in value], limit=CELL_CHARS)
    return _inline(value, limit=CELL_CHARS)


def _is_small_record(value: Any) -> bool:
    """A record of two or three plain values ({type, number}): its values say it in a cell."""
    return (isinstance(value, Mapping) and not _is_person(value) and 1 < len(value) <= 3
            and all(v is None or isinstance(v, (str, int, float)) for v in value.values()))


def _is_person(value: Mapping[str, Any]) -> bool:
    return set(value) <= {"name", "email", "address"} and bool(value)


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _inline(value: Any, *, limit: int | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        if _is_person(value):
            name, email = value.get("name") or "", value.get("email") or value.get("address") or ""
            return f"{name} <{email}>" if name and email else str(name or email)
        parts = [f"{k}={_inline(v, limit=limit)}" for k, v in value.items() if not _empty(v)]
        return "{" + ", ".join(parts) + "}"
    if isinstance(value, list):
        return ", ".join(_inline(v, limit=limit) for v in value if not _empty(v))
    text = str(value)
    if limit is None:
        return text.strip()
    text = _SPACES.sub(" ", text).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def compact_text(fn: Callable[..., Any], *, finder: str | None = None, name: str | None = None) -> Callable[..., Any]:
    """Wrap a tool function: a pydantic result becomes structured content plus the compact text.

    `finder`: the tool(s) that find the right id, named in the error when Graph answers 404.
    `name`: the tool's name (default: the function's), for cursors and error messages.
    """
    tool_name = name or fn.__name__

    @functools.wraps(fn)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        tool = cursors.current_tool.set(tool_name)  # cursors are signed for, and checked against, this tool
        try:
            result = await fn(*args, **kwargs)
        except ToolError as exc:
            cause = exc.__cause__
            if finder and isinstance(cause, GraphError) and cause.status == 404:
                raise ToolError(f"{exc} To find the right id, call {finder}.") from cause
            raise
        except MCPError:
            raise
        except Exception as exc:  # outside run_tool (argument checks, dates): a reason, not a bare error
            from .failures import explain

            raise ToolError(str(explain(exc, tool_name))) from exc
        finally:
            cursors.current_tool.reset(tool)
        if not isinstance(result, BaseModel) or isinstance(result, CallToolResult) or type(result).__name__ == "InputRequiredResult":
            return result
        structured = bound_strings(result.model_dump(mode="json", by_alias=True))  # no string floods the context
        content: list[Any] = [TextContent(type="text", text=render(structured))]
        links = getattr(result, "resource_links", None)  # saved files: a resource_link each (DownloadResult, ...)
        if callable(links):
            content.extend(links())
        return CallToolResult(content=content, structured_content=structured)

    return wrapper
