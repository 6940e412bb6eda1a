"""OneDrive tools: list, search, read, download and upload the signed-in user's files, one module per job.

- items.py        scopes, fields asked of Graph, FileItem, paths and ids to Graph addresses
- browse.py       list_files, search_files
- drive_paths.py  paths for search hits that OneDrive for Business sends without one
- read.py         get_file (details and text), download_file
- text.py         which files are shown as text, and decoding their bytes
- upload.py       upload_file (one PUT, or an upload session above 4 MB)
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from . import browse, read, upload
from .items import FileItem, drive_path, file_item, item_url
from .read import MAX_CONTENT_BYTES, MAX_DOWNLOAD_BYTES
from .upload import UPLOAD_FRAGMENT_BYTES

__all__ = [
    "MAX_CONTENT_BYTES", "MAX_DOWNLOAD_BYTES", "UPLOAD_FRAGMENT_BYTES",
    "FileItem", "drive_path", "file_item", "item_url", "register",
]


def register(server: MCPServer[Any], settings: Any) -> None:
    for part in (browse, read, upload):  # this order is the tools/list order
        part.register(server, settings)
