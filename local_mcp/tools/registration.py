"""Where every tool is registered: its scopes, annotations, icon, and whether it is listed.

`graph_tool` registers a Graph tool: it records the delegated scopes the tool needs (for
`local-mcp status --permissions` and the README), sets its annotations, leaves write tools
unlisted unless LOCAL_MCP_ALLOW_WRITES=1 and areas LOCAL_MCP_TOOLSETS leaves out, and gives
its text content the compact rendering (render.py). `local_tool` registers the account tools
(this computer's sign-in) the same way, without Graph scopes. Both publish the output schema
straight from the result model (schemas.py `publish_output`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from mcp.server.mcpserver import MCPServer
from mcp_types import ToolAnnotations

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ToolInfo:
    name: str
    area: str
    scopes: tuple[str, ...]
    write: bool
    description: str
    alternative_scopes: tuple[str, ...] = ()  # asked for instead of `scopes` by some calls


# The tools that find a valid id in each area, named when Graph answers 404 (not found).
ID_FINDERS: dict[str, str] = {
    "mail": "list_mail_folders (folder ids), or list_messages / search_messages (message ids)",
    "files": "list_files or search_files (or search, for a drive_id)",
    "calendar": "list_events (event ids) or list_calendars (calendar ids)",
    "people": "search_people",
    "tasks": "list_task_lists (list ids) or list_tasks (task ids)",
    "contacts": "search_contacts",
    "teams": "list_chats (chat ids), list_teams (team ids) or list_channels (channel ids)",
}

# Every Graph tool ever declared, listed or not (write tools stay unlisted in read-only mode).
DECLARED: dict[str, ToolInfo] = {}


def graph_tool(
    server: MCPServer[Any],
    settings: Any,
    *,
    name: str,
    title: str,
    description: str,
    area: str,
    scopes: Sequence[str],
    write: bool = False,
    destructive: bool = False,
    idempotent: bool = True,
    open_world: bool = True,
    read_only: bool | None = None,
    alternative_scopes: Sequence[str] = (),
) -> Callable[[F], F]:
    """Register a Graph tool with its scopes and annotations; write tools only when writes are allowed.

    `write` is about Microsoft 365 and gates listing; so does `area` (LOCAL_MCP_TOOLSETS). `read_only` overrides the readOnlyHint
    (default: `not write`) for a tool that is always listed but changes something: this computer
    (a download), or, in some configurations, Microsoft 365 (graph_request with writes allowed).
    """
    read_only_hint = (not write) if read_only is None else read_only

    def decorator(fn: F) -> F:
        DECLARED[name] = ToolInfo(name, area, tuple(scopes), write, description, tuple(alternative_scopes))
        if write and not settings.allow_writes:
            return fn
        toolset_enabled = getattr(settings, "toolset_enabled", None)
        if toolset_enabled is not None and not toolset_enabled(area):
            return fn  # LOCAL_MCP_TOOLSETS leaves this area out
        from .render import compact_text

        add_tool(
            server,
            fn,
            compact_text(fn, finder=ID_FINDERS.get(area), name=name),  # text content: a compact rendering, not the JSON again
            name=name,
            title=title,
            description=description,
            icons=_icons(settings, area),
            annotations=ToolAnnotations(
                read_only_hint=read_only_hint,
                destructive_hint=destructive if not read_only_hint else False,
                idempotent_hint=idempotent,
                open_world_hint=open_world,
            ),
        )
        return fn

    return decorator


def local_tool(
    server: MCPServer[Any], settings: Any, *, name: str, title: str, description: str, annotations: ToolAnnotations
) -> Callable[[F], F]:
    """Register a tool that manages this computer's sign-in (account tools): always listed, no Graph scopes."""

    def decorator(fn: F) -> F:
        from .render import compact_text

        add_tool(server, fn, compact_text(fn, name=name), name=name, title=title, description=description,
                 annotations=annotations, icons=_icons(settings, "account"))
        return fn

    return decorator


def _icons(settings: Any, area: str) -> Any:
    """The area's icon when LOCAL_MCP_TOOL_ICONS is on (tools/icons.py), else none."""
    if not getattr(settings, "tool_icons", False):
        return None
    from .icons import area_icons

    return area_icons(area)


def add_tool(server: MCPServer[Any], declared: Callable[..., Any], fn: Callable[..., Any], *, name: str, **options: Any) -> None:
    """`server.add_tool(fn)`, publishing the output schema from the model `declared` returns (schemas.publish_output).

    pydantic's full JSON Schema of a result model is only trimmed away later, and deriving it for
    every tool was a third of the start-up before `initialize` could be answered.
    """
    from .schemas import publish_output, result_model

    model = result_model(declared)
    server.add_tool(fn, name=name, structured_output=False if model is not None else None, **options)
    if model is not None:
        publish_output(server._tool_manager.get_tool(name), model)
