"""Paths for OneDrive search results, which OneDrive for Business sends without `parentReference.path`.

Graph docs (*driveItem: search*, and the driveItem resource's parentReference): search results on
OneDrive for Business and SharePoint carry the parent's id but no path. Rather than promise a path
we cannot give, each distinct parent is read once (`GET /me/drive/items/{parent-id}`, whose own
parentReference.path is set outside search) and its path given to all its children; at most
MAX_PARENTS parents per page, the rest keep `path: null`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, unquote

import anyio

from ...errors import GraphError

MAX_PARENTS = 10


def _folder_path(parent: dict[str, Any]) -> str | None:
    """A folder's own path from the drive's root ("" for the root), from its metadata."""
    if "root" in parent:
        return ""
    reference = parent.get("parentReference") if isinstance(parent.get("parentReference"), dict) else {}
    above = reference.get("path") if reference else None
    if not isinstance(above, str) or ":" not in above:
        return None
    folder = unquote(above.split(":", 1)[1]).strip("/")
    name = str(parent.get("name") or "")
    return f"{folder}/{name}" if folder else name


async def fill_paths(graph: Any, items: Sequence[dict[str, Any]], files: Sequence[Any], scopes: Sequence[str]) -> None:
    """Set `path` on each of `files` (FileItem, built from `items`) that lacks one, one read per parent."""
    wanted: dict[str, list[Any]] = {}
    for raw, entry in zip(items, files):
        reference = raw.get("parentReference") if isinstance(raw.get("parentReference"), dict) else {}
        parent_id = reference.get("id") if reference else None
        if entry.path is None and isinstance(parent_id, str) and parent_id:
            wanted.setdefault(parent_id, []).append(entry)
    found: dict[str, str | None] = {}

    async def resolve(parent_id: str) -> None:
        try:
            parent = await graph.get_json(
                f"/me/drive/items/{quote(parent_id, safe='')}", scopes=scopes, params={"$select": "id,name,parentReference,root"}
            )
        except GraphError:  # a parent we may not read (shared with us): leave the path unknown
            return
        found[parent_id] = _folder_path(parent)

    async with anyio.create_task_group() as group:
        for parent_id in list(wanted)[:MAX_PARENTS]:
            group.start_soon(resolve, parent_id)
    for parent_id, entries in wanted.items():
        folder = found.get(parent_id)
        if folder is None:
            continue
        for entry in entries:
            entry.path = f"{folder}/{entry.name}" if folder else entry.name
