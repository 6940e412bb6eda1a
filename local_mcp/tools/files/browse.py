"""list_files and search_files: folders and matches in the signed-in user's OneDrive."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import BaseModel, Field

from .._common import CURSOR_FIELD, DEFAULT_LIMIT, LIMIT_FIELD, PageInfo, clamp_limit, fetch_page, graph_tool, odata_quote
from .._runtime import run_tool, state_of
from .drive_paths import fill_paths
from .items import FILES_READ, ITEM_FIELDS, FileItem, drive_path, file_item, item_url


class FileList(BaseModel):
    folder: str = Field(description="the folder listed: a path from the drive's root, or an id")
    files: list[FileItem]
    page: PageInfo


class FileSearchResult(BaseModel):
    query: str
    files: list[FileItem]
    page: PageInfo


def register(server: MCPServer[Any], settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="list_files",
        title="List OneDrive files",
        description=(
            "List the files and folders in a OneDrive folder (by path such as Documents/Policies, or by id; default: "
            "the root) with name, id, size, last modified date, kind and web link."
        ),
        area="files",
        scopes=FILES_READ,
    )
    async def list_files(
        ctx: Context,
        folder: Annotated[str | None, Field(description="folder path from the drive's root, e.g. Documents/Policies; default: the root")] = None,
        folder_id: Annotated[str | None, Field(description="a folder's id instead of its path")] = None,
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
    ) -> FileList | InputRequiredResult:
        state = state_of(ctx)
        if folder and folder.strip() and folder_id and folder_id.strip():
            raise ToolError("Give `folder` (a path) or `folder_id`, not both.")
        if folder_id and folder_id.strip():
            base, shown = item_url(item_id=folder_id), folder_id.strip()
        else:
            normalized = drive_path(folder, field="folder")
            base, shown = item_url(path=normalized), "/" + normalized

        async def body() -> FileList:
            items, page = await fetch_page(
                state.graph, base + "/children", scopes=FILES_READ, params={"$select": ITEM_FIELDS},
                cursor=cursor, limit=clamp_limit(limit),
            )
            return FileList(folder=shown, files=[file_item(i) for i in items], page=page)

        return await run_tool(ctx, body, consent_scopes=FILES_READ)

    @graph_tool(
        server,
        settings,
        name="search_files",
        title="Search OneDrive",
        description=(
            "Search the signed-in user's OneDrive for files and folders whose name or content matches the words "
            "given, with id, size, date, web link and, when known, the path."
        ),
        area="files",
        scopes=FILES_READ,
    )
    async def search_files(
        ctx: Context,
        query: Annotated[str, Field(min_length=1, description="words to look for, e.g. budget 2025")],
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
    ) -> FileSearchResult | InputRequiredResult:
        state = state_of(ctx)
        words = query.strip()
        if not words:
            raise ToolError("`query` must not be empty.")
        # search(q='...'): an OData string literal inside the path, so quote it for both.
        literal = quote(odata_quote(words), safe="'")
        path = f"/me/drive/root/search(q={literal})"

        async def body() -> FileSearchResult:
            items, page = await fetch_page(
                state.graph, path, scopes=FILES_READ, params={"$select": ITEM_FIELDS},
                cursor=cursor, limit=clamp_limit(limit),
            )
            found = [file_item(i) for i in items]
            await fill_paths(state.graph, items, found, FILES_READ)  # OneDrive for Business sends no path
            return FileSearchResult(query=words, files=found, page=page)

        return await run_tool(ctx, body, consent_scopes=FILES_READ)
