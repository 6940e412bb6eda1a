"""get_file and download_file: one OneDrive file's details and text, or a copy on this computer.

Text content is read through `/content`, which Graph answers with a redirect to a
pre-authenticated URL; msgraph's redirect handler drops our token when that URL is on
another host, and open_item_content goes to the downloadUrl directly (see _download.py).
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult, ResourceLink
from pydantic import BaseModel, Field

from .._common import graph_tool, iso_utc
from ..plain_text import html_to_text
from .._download import DOWNLOAD_URL, TooLarge, open_item_content, read_capped, save_stream, saved_file_link
from .._runtime import run_tool, state_of
from ..local_files import looks_secret, secret_note
from .items import DETAIL_FIELDS, DRIVE_ID_FIELD, FILES_READ, FILES_READ_ALL, FileItem, file_item, item_url, megabytes, one_of
from .text import decode_text, is_html, is_text_like

MAX_CONTENT_BYTES = 256 * 1024  # text shown by get_file
MAX_DOWNLOAD_BYTES = 100 * 1024 * 1024  # download_file


class FileDetails(BaseModel):
    file: FileItem
    created: str | None = Field(default=None, description="ISO 8601 UTC")
    modified_by: str | None = None
    content: str | None = Field(default=None, description="the text of a text-like file (HTML as plain text)")
    truncated: bool = Field(default=False, description=f"true when only the first {MAX_CONTENT_BYTES // 1024} KB are in `content`")
    note: str | None = Field(default=None, description="why there is no content, and what to do instead")


class DownloadResult(BaseModel):
    id: str
    name: str
    path: str = Field(description="where the file was saved on this computer")
    size: int = Field(description="bytes written")

    def resource_links(self) -> list[ResourceLink]:
        return [saved_file_link(self.path, size=self.size, mime_type=None, description=f"{self.name}, saved from OneDrive")]


def register(server: MCPServer[Any], settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="get_file",
        title="Read a OneDrive file",
        description=(
            "Get a OneDrive file's details by path or id and, for text-like files (txt, md, csv, json, xml, html, "
            f"code...), its text (up to {MAX_CONTENT_BYTES // 1024} KB); for other files use download_file."
        ),
        area="files",
        scopes=FILES_READ,
    )
    async def get_file(
        ctx: Context,
        path: Annotated[str | None, Field(description="path from the drive's root, e.g. Documents/Notes.txt")] = None,
        item_id: Annotated[str | None, Field(description="the item's id (from list_files, search_files or search)")] = None,
        drive_id: Annotated[str | None, DRIVE_ID_FIELD] = None,
        include_content: Annotated[bool, Field(description="false: details only, without reading the text")] = True,
    ) -> FileDetails | InputRequiredResult:
        state = state_of(ctx)
        one_of(path, item_id)
        base = item_url(path=path, item_id=item_id, drive_id=drive_id)
        scopes = FILES_READ_ALL if drive_id else FILES_READ

        async def body() -> FileDetails:
            meta = await state.graph.get_json(base, scopes=scopes, params={"$select": DETAIL_FIELDS + "," + DOWNLOAD_URL})
            item = file_item(meta)
            modified_by = ((meta.get("lastModifiedBy") or {}).get("user") or {}).get("displayName")
            details = FileDetails(file=item, created=iso_utc(meta.get("createdDateTime")), modified_by=modified_by)
            if item.kind == "folder":
                details.note = "This is a folder; use list_files to see what is inside."
                return details
            if not include_content:
                return details
            if not is_text_like(item.name, item.mime_type):
                details.note = "This is not a text file, so its content is not shown; use download_file to save a copy."
                return details
            if item.size == 0:
                details.content = ""
                return details
            # one byte more than we show, so a short file is never called truncated; the service
            # may ignore the Range, so reading also stops there
            wanted = f"bytes=0-{MAX_CONTENT_BYTES}" if item.size is None or item.size > MAX_CONTENT_BYTES else None
            async with open_item_content(state.graph, base, meta, scopes=scopes, byte_range=wanted) as response:
                data, cut = await read_capped(response.chunks(64 * 1024), MAX_CONTENT_BYTES)
            text = decode_text(data[:MAX_CONTENT_BYTES], cut=cut)
            if text is None:
                details.note = "The file looks binary, so its content is not shown; use download_file to save a copy."
                return details
            if (secret := looks_secret(text)) is not None:
                details.note = secret_note(secret)  # never a token into the model's context
                return details
            if is_html(item.name, item.mime_type):
                text = html_to_text(text)
            details.content, details.truncated = text, cut
            if cut:
                details.note = (
                    f"Only the first {MAX_CONTENT_BYTES // 1024} KB"
                    + (f" of {megabytes(item.size)}" if item.size else "")
                    + " are shown; use download_file for the whole file."
                )
            return details

        return await run_tool(ctx, body, consent_scopes=scopes)

    @graph_tool(
        server,
        settings,
        name="download_file",
        title="Download a OneDrive file",
        description=(
            "Download a OneDrive file (by path or id, up to 100 MB) into this computer's local-mcp download folder "
            "without overwriting anything there; returns the saved file's path and size."
        ),
        area="files",
        scopes=FILES_READ,
        read_only=False,  # it writes a new file on this computer (never over an existing one)
        idempotent=False,
    )
    async def download_file(
        ctx: Context,
        path: Annotated[str | None, Field(description="path from the drive's root, e.g. Documents/Travel policy.pdf")] = None,
        item_id: Annotated[str | None, Field(description="the item's id (from list_files, search_files or search)")] = None,
        drive_id: Annotated[str | None, DRIVE_ID_FIELD] = None,
    ) -> DownloadResult | InputRequiredResult:
        state = state_of(ctx)
        one_of(path, item_id)
        base = item_url(path=path, item_id=item_id, drive_id=drive_id)
        scopes = FILES_READ_ALL if drive_id else FILES_READ

        async def body() -> DownloadResult:
            meta = await state.graph.get_json(base, scopes=scopes, params={"$select": "id,name,size,file,folder,webUrl," + DOWNLOAD_URL})
            item = file_item(meta)
            if item.kind == "folder":
                raise ToolError(f"{item.name or 'This item'} is a folder; download_file saves one file. Use list_files to see its files.")
            if (item.size or 0) > MAX_DOWNLOAD_BYTES:
                raise ToolError(
                    f"{item.name} is {megabytes(item.size or 0)}; download_file saves files up to "
                    f"{MAX_DOWNLOAD_BYTES // (1024 * 1024)} MB. Open it in OneDrive instead: {item.web_url or 'see OneDrive'}"
                )
            folder = state.settings.resolved_download_dir()
            try:
                async with open_item_content(state.graph, base, meta, scopes=scopes) as response:
                    saved, size = await save_stream(folder, item.name, response.chunks(), max_bytes=MAX_DOWNLOAD_BYTES)
            except TooLarge:
                raise ToolError(f"{item.name} is larger than {MAX_DOWNLOAD_BYTES // (1024 * 1024)} MB; nothing was saved.") from None
            return DownloadResult(id=item.id, name=item.name, path=str(saved), size=size)

        return await run_tool(ctx, body, consent_scopes=scopes)
