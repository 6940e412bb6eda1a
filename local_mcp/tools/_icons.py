"""One small icon per tool area (MCP 2025-11-25 `icons`), as self-contained SVG data URIs.

Data URIs need no network and no trust in another host; the shapes are plain strokes
(no script, no external references), drawn on a 24x24 grid.
"""

from __future__ import annotations

from urllib.parse import quote

from mcp_types import Icon

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


def area_icons(area: str) -> list[Icon]:
    """The icon list for the tools of `area` (the account icon for an unknown area).

    Every tool carries one in each `tools/list`, so it is kept small: single quotes and commas
    (nothing to escape), only `<`, `>`, `#` and the spaces between attributes percent-encoded,
    and no `mimeType` (the data URI names it).
    """
    return [Icon(src=_data_uri(_PATHS.get(area, _PATHS["account"])))]


def _data_uri(path: str) -> str:
    svg = (
        "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0,0,24,24' fill='none' stroke='#06c' "
        f"stroke-width='2'><path d='{path.replace(' ', ',')}'/></svg>"
    )
    return "data:image/svg+xml," + quote(svg, safe="/:='.,-")
