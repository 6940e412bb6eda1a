"""One small icon per tool area (MCP 2025-11-25 `icons`), when LOCAL_MCP_TOOL_ICONS is on.

Each icon is a self-contained SVG in a `data:` URI with Base64-encoded image data (the form the
specification names for inline icons): no network, no trust in another host. The shapes are
plain strokes on a 24x24 grid (no script, no external reference, no text), in a mid grey that
reads on light and dark backgrounds.

Off by default: an icon on each of the 33 default tools adds ~10 KB to every `tools/list`, more
than the room left under the 24 KB budget of the default tool set (tests/test_schemas.py).
Models never see icons; clients that draw them (tool pickers) do.
"""

from __future__ import annotations

import base64
from functools import cache

from mcp_types import Icon

# One path per area (account is the person; graph the raw API).
_PATHS: dict[str, str] = {
    "account": "M12 12a4 4 0 1 0 0-8 4 4 0 0 0 0 8zM4 21a8 8 0 0 1 16 0",
    "mail": "M3 5h18v14H3zM3 6l9 7 9-7",
    "calendar": "M4 5h16v15H4zM4 10h16M8 3v4M16 3v4",
    "files": "M6 3h8l4 4v14H6zM14 3v4h4",
    "people": "M9 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM3 20a6 6 0 0 1 12 0M16 11a3 3 0 1 0 0-6M18 20a6 6 0 0 0-3-5",
    "search": "M10 17a7 7 0 1 0 0-14 7 7 0 0 0 0 14zM15 15l6 6",
    "tasks": "M4 6l2 2 4-4M12 6h8M4 13l2 2 4-4M12 13h8M12 20h8",
    "contacts": "M5 3h14v18H5zM12 11a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM8 17a4 4 0 0 1 8 0",
    "teams": "M4 5h16v11H9l-5 4zM8 9h8M8 12h5",
    "graph": "M5 12a2 2 0 1 0 0 .1M19 5a2 2 0 1 0 0 .1M19 19a2 2 0 1 0 0 .1M7 11l10-5M7 13l10 5",
}
AREAS: tuple[str, ...] = tuple(_PATHS)


@cache
def area_icons(area: str) -> list[Icon]:
    """The icon list for the tools of `area` (the account icon for an unknown area)."""
    svg = (
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="#808080" '
        f'stroke-width="2"><path d="{_PATHS.get(area, _PATHS["account"])}"/></svg>'
    )
    src = "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode("ascii")
    return [Icon(src=src, mime_type="image/svg+xml", sizes=["any"])]
