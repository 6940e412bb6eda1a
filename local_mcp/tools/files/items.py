"""OneDrive items: scopes, the fields asked of Graph, the FileItem model, and paths and ids to addresses.

Paths are OneDrive paths relative to the drive's root ("Documents/Policies"); ids are
driveItem ids from any of the files tools.
"""

from __future__ import annotations

import re
from typing import Any, Literal
from urllib.parse import quote, unquote

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from .._common import iso_utc, path_id

FILES_READ = ("Files.Read",)
FILES_READ_WRITE = ("Files.ReadWrite",)
# Another person's OneDrive or a SharePoint library (a `search` hit's drive) needs Files.Read.All.
FILES_READ_ALL = ("Files.Read.All",)

ITEM_FIELDS = "id,name,size,lastModifiedDateTime,webUrl,folder,file,parentReference"
DETAIL_FIELDS = ITEM_FIELDS + ",createdDateTime,lastModifiedBy"

DRIVE_ID_FIELD = Field(description="with `item_id`: the drive of a `search` hit (SharePoint, others' OneDrive)")

# Characters OneDrive refuses in names (plus control characters).
_BAD_NAME_CHARS = re.compile(r'[\x00-\x1f"*:<>?|\\]')


class FileItem(BaseModel):
    id: str
    name: str
    kind: Literal["file", "folder"]
    size: int | None = Field(default=None, description="bytes (for a folder: everything inside it)")
    modified: str | None = Field(default=None, description="last modified, ISO 8601 UTC")
    web_url: str | None = Field(default=None, description="opens the item in OneDrive in a browser")
    path: str | None = Field(default=None, description="path from the drive's root, when Graph tells it")
    mime_type: str | None = None
    child_count: int | None = Field(default=None, description="items directly inside a folder")


def drive_path(value: str | None, *, field: str = "path") -> str:
    """A OneDrive path from the root without leading/trailing slashes ("" is the root); refuses `..`."""
    text = (value or "").strip()
    if "\\" in text:
        raise ToolError(f"`{field}` uses forward slashes in OneDrive, e.g. Documents/Policies (got {value!r}).")
    segments = [s for s in text.split("/") if s.strip()]
    for segment in segments:
        if segment.strip() in (".", ".."):
            raise ToolError(f"`{field}` must not contain '.' or '..' segments (got {value!r}).")
        if _BAD_NAME_CHARS.search(segment):
            raise ToolError(f'`{field}` contains a character OneDrive does not allow in names (" * : < > ? | \\) (got {value!r}).')
    return "/".join(s.strip() for s in segments)


def quoted_path(path: str) -> str:
    """A drive path with each segment percent-encoded, for `root:/{path}:` addresses."""
    return "/".join(quote(segment, safe="") for segment in path.split("/"))


def item_url(*, path: str | None = None, item_id: str | None = None, drive_id: str | None = None) -> str:
    """The Graph address of one item: by id (in your drive, or in the drive `drive_id`), by path, or the root."""
    if item_id and drive_id and drive_id.strip():
        return f"/drives/{path_id(drive_id, field='drive_id')}/items/{path_id(item_id, field='item_id')}"
    if drive_id and drive_id.strip():
        raise ToolError("`drive_id` goes with `item_id` (both from a `search` hit), not with `path`.")
    if item_id:
        return f"/me/drive/items/{path_id(item_id, field='item_id')}"
    normalized = drive_path(path)
    return f"/me/drive/root:/{quoted_path(normalized)}:" if normalized else "/me/drive/root"


def one_of(path: str | None, item_id: str | None) -> None:
    if bool(path and path.strip()) == bool(item_id and item_id.strip()):
        raise ToolError("Give exactly one of `path` (e.g. Documents/Notes.txt) or `item_id` (from list_files or search_files).")


def file_item(item: dict[str, Any]) -> FileItem:
    folder = item.get("folder") if isinstance(item.get("folder"), dict) else None
    file = item.get("file") if isinstance(item.get("file"), dict) else None
    name = str(item.get("name") or "")
    path = None
    parent = item.get("parentReference") if isinstance(item.get("parentReference"), dict) else {}
    parent_path = parent.get("path") if parent else None
    if isinstance(parent_path, str) and ":" in parent_path:
        parent_folder = unquote(parent_path.split(":", 1)[1]).strip("/")
        path = f"{parent_folder}/{name}" if parent_folder else name
    elif "root" in item:
        path = ""
    return FileItem(
        id=str(item.get("id", "")),
        name=name,
        kind="folder" if folder is not None or "root" in item else "file",
        size=item.get("size"),
        modified=iso_utc(item.get("lastModifiedDateTime")),
        web_url=item.get("webUrl"),
        path=path,
        mime_type=file.get("mimeType") if file else None,
        child_count=folder.get("childCount") if folder else None,
    )


def megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"
