"""OneDrive tools: list, search, read, download and upload the signed-in user's files.

Paths are OneDrive paths relative to the drive's root ("Documents/Policies"); ids are
driveItem ids from any of these tools. Text content is read through `/content`, which
Graph answers with a redirect to a pre-authenticated URL; msgraph's redirect handler
drops our token when that URL is on another host.

Uploads of up to 4 MB are one PUT. Bigger files go through an upload session: Graph
hands out an `uploadUrl` that carries its own authorization, and the file is sent to it
in 320 KiB-aligned fragments without our token (GraphClient.send_pre_authenticated).
msgraph-core's LargeFileUploadTask is not used: it needs the SDK's typed models and
it logs and skips a fragment that fails instead of reporting the failure.
"""

from __future__ import annotations

import logging
import mimetypes
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import quote, unquote

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import BaseModel, Field

from ..errors import GraphError
from ._common import (
    CURSOR_FIELD,
    DEFAULT_LIMIT,
    ConfirmOnce,
    LIMIT_FIELD,
    PageInfo,
    clamp_limit,
    fetch_page,
    graph_tool,
    html_to_text,
    iso_utc,
    odata_quote,
    path_id,
)
from ._download import DOWNLOAD_URL, TooLarge, open_item_content, read_capped, save_stream
from ._runtime import run_tool, state_of
from .drive_paths import fill_paths
from .local_files import looks_secret, read_limited, resolve_upload_path, secret_note, upload_details

logger = logging.getLogger(__name__)

FILES_READ = ("Files.Read",)
FILES_READ_WRITE = ("Files.ReadWrite",)

MAX_CONTENT_BYTES = 256 * 1024  # text shown by get_file
MAX_DOWNLOAD_BYTES = 100 * 1024 * 1024  # download_file
MAX_UPLOAD_BYTES = 250 * 1024 * 1024  # upload_file
SIMPLE_UPLOAD_MAX_BYTES = 4 * 1024 * 1024  # Graph's limit for a single PUT .../content
UPLOAD_FRAGMENT_BYTES = 2 * 320 * 1024  # multiples of 320 KiB; peak RSS grows ~25x the fragment (bench)
UPLOAD_ATTEMPTS = 3  # per fragment, on throttling, 5xx or network errors
UPLOAD_RETRY_SECONDS = 2.0  # first wait before trying a fragment again; doubles each time

_ITEM_FIELDS = "id,name,size,lastModifiedDateTime,webUrl,folder,file,parentReference"
_DETAIL_FIELDS = _ITEM_FIELDS + ",createdDateTime,lastModifiedBy"

_TEXT_EXTENSIONS = frozenset(
    """txt text md markdown rst csv tsv json jsonl ndjson xml yaml yml toml ini cfg conf log properties env
    tex srt vtt svg html htm xhtml css scss less js mjs cjs ts tsx jsx py pyi ipynb java kt kts scala c h cc cpp
    hpp cs fs vb go rs rb php pl swift m mm r sql sh bash zsh ps1 psm1 bat cmd lua dart gradle groovy
    dockerfile makefile gitignore editorconfig""".split()
)
_HTML_EXTENSIONS = frozenset({"html", "htm", "xhtml"})
_TEXT_MIME = re.compile(r"^(text/.*|application/(json|xml|javascript|x-sh|sql|x-yaml|yaml|toml)|.*\+(json|xml))$")
# Characters OneDrive refuses in names (plus control characters).
_BAD_NAME_CHARS = re.compile(r'[\x00-\x1f"*:<>?|\\]')


# ----- models ------------------------------------------------------------------------------------


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


class FileList(BaseModel):
    folder: str = Field(description="the folder listed: a path from the drive's root, or an id")
    files: list[FileItem]
    page: PageInfo


class FileSearchResult(BaseModel):
    query: str
    files: list[FileItem]
    page: PageInfo


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


class UploadResult(BaseModel):
    file: FileItem
    method: Literal["simple", "upload_session"] = Field(description="one PUT (up to 4 MB) or an upload session")
    conflict: Literal["fail", "replace"]


# ----- paths, ids, items ----------------------------------------------------------------------------


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


def _quoted(path: str) -> str:
    return "/".join(quote(segment, safe="") for segment in path.split("/"))


def item_url(*, path: str | None = None, item_id: str | None = None, drive_id: str | None = None) -> str:
    """The Graph address of one item: by id (in your drive, or in the drive `drive_id`), by path, or the root."""
    if item_id and drive_id and drive_id.strip():
        return f"/drives/{quote(drive_id.strip(), safe='')}/items/{quote(item_id.strip(), safe='')}"
    if drive_id and drive_id.strip():
        raise ToolError("`drive_id` goes with `item_id` (both from a `search` hit), not with `path`.")
    if item_id:
        return f"/me/drive/items/{path_id(item_id, field='item_id')}"
    normalized = drive_path(path)
    return f"/me/drive/root:/{_quoted(normalized)}:" if normalized else "/me/drive/root"


# Another person's OneDrive or a SharePoint library (a `search` hit's drive) needs Files.Read.All.
FILES_READ_ALL = ("Files.Read.All",)
DRIVE_ID_FIELD = Field(description="the drive's id, from a `search` hit (a file in SharePoint or someone else's OneDrive); with `item_id`")


def _one_of(path: str | None, item_id: str | None) -> None:
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


def is_text_like(name: str, mime_type: str | None) -> bool:
    lowered = name.lower()
    ext = lowered.rsplit(".", 1)[-1] if "." in lowered else lowered
    return ext in _TEXT_EXTENSIONS or bool(mime_type and _TEXT_MIME.match(mime_type.lower()))


def decode_text(data: bytes, *, cut: bool) -> str | None:
    """Bytes of a text file as str; None when they look binary. `cut`: the bytes end mid-file."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        if cut and len(data) % 2:
            data = data[:-1]
        return data.decode("utf-16", "replace")
    if b"\x00" in data[:8192]:
        return None
    text = data.decode("utf-8", "replace")
    return text.rstrip("\ufffd") if cut else text  # a cut may end inside a character


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


# ----- tools -------------------------------------------------------------------------------------


def register(server: MCPServer[Any], settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="list_files",
        title="List OneDrive files",
        description=(
            "List the files and folders in a OneDrive folder (by path such as Documents/Policies, or by id; default: "
            "the root) with name, id, size, last modified date, kind and web link; returns a cursor for more."
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
                state.graph, base + "/children", scopes=FILES_READ, params={"$select": _ITEM_FIELDS},
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
            "given; returns matches with id, size, date, web link and, when it can be found, the path, and a cursor for more."
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
                state.graph, path, scopes=FILES_READ, params={"$select": _ITEM_FIELDS},
                cursor=cursor, limit=clamp_limit(limit),
            )
            found = [file_item(i) for i in items]
            await fill_paths(state.graph, items, found, FILES_READ)  # OneDrive for Business sends no path
            return FileSearchResult(query=words, files=found, page=page)

        return await run_tool(ctx, body, consent_scopes=FILES_READ)

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
        _one_of(path, item_id)
        base = item_url(path=path, item_id=item_id, drive_id=drive_id)
        scopes = FILES_READ_ALL if drive_id else FILES_READ

        async def body() -> FileDetails:
            meta = await state.graph.get_json(base, scopes=scopes, params={"$select": _DETAIL_FIELDS + "," + DOWNLOAD_URL})
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
                data, more = await read_capped(response.chunks(64 * 1024), MAX_CONTENT_BYTES)
            cut = more
            text = decode_text(data[:MAX_CONTENT_BYTES], cut=cut)
            if text is None:
                details.note = "The file looks binary, so its content is not shown; use download_file to save a copy."
                return details
            if (secret := looks_secret(text)) is not None:
                details.note = secret_note(secret)  # never a token into the model's context
                return details
            ext = item.name.lower().rsplit(".", 1)[-1]
            if ext in _HTML_EXTENSIONS or (item.mime_type or "").lower() == "text/html":
                text = html_to_text(text)
            details.content, details.truncated = text, cut
            if cut:
                details.note = (
                    f"Only the first {MAX_CONTENT_BYTES // 1024} KB"
                    + (f" of {_megabytes(item.size)}" if item.size else "")
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
        _one_of(path, item_id)
        base = item_url(path=path, item_id=item_id, drive_id=drive_id)
        scopes = FILES_READ_ALL if drive_id else FILES_READ

        async def body() -> DownloadResult:
            meta = await state.graph.get_json(base, scopes=scopes, params={"$select": "id,name,size,file,folder,webUrl," + DOWNLOAD_URL})
            item = file_item(meta)
            if item.kind == "folder":
                raise ToolError(f"{item.name or 'This item'} is a folder; download_file saves one file. Use list_files to see its files.")
            if (item.size or 0) > MAX_DOWNLOAD_BYTES:
                raise ToolError(
                    f"{item.name} is {_megabytes(item.size or 0)}; download_file saves files up to "
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

    @graph_tool(
        server,
        settings,
        name="upload_file",
        title="Upload a file to OneDrive",
        description=(
            "Upload a file from this computer to a OneDrive folder (up to 250 MB); fails if a file of that name "
            'exists unless conflict="replace", which overwrites it.'
        ),
        area="files",
        scopes=FILES_READ_WRITE,
        write=True,
        destructive=True,  # conflict="replace" overwrites an existing file
        idempotent=False,
    )
    async def upload_file(
        ctx: Context,
        local_path: Annotated[str, Field(min_length=1, description="absolute path of the file on this computer")],
        folder: Annotated[str | None, Field(description="OneDrive folder path from the root, e.g. Documents/Reports; default: the root; created if missing")] = None,
        name: Annotated[str | None, Field(description="name in OneDrive; default: the local file's name")] = None,
        conflict: Annotated[
            Literal["fail", "replace"], Field(description='"fail" (default) leaves an existing file alone; "replace" overwrites it')
        ] = "fail",
        confirm: Annotated[
            bool, Field(description="for clients that cannot ask the user: true only when the user agreed to exactly this")
        ] = False,
    ) -> UploadResult | InputRequiredResult:
        state = state_of(ctx)
        source = resolve_upload_path(state.settings, local_path)  # allowed folders only, see local_files.py
        size = source.stat().st_size
        if size > MAX_UPLOAD_BYTES:
            raise ToolError(f"{source.name} is {_megabytes(size)}; upload_file uploads files up to {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
        target_name = (name or source.name).strip()
        if "/" in target_name or not drive_path(target_name, field="name"):
            raise ToolError(f"`name` must be a plain file name without slashes (got {target_name!r}).")
        target = "/".join(p for p in (drive_path(folder, field="folder"), target_name) if p)
        address = f"/me/drive/root:/{_quoted(target)}:"
        content_type = mimetypes.guess_type(target_name)[0] or "application/octet-stream"

        gate = ConfirmOnce(ctx, confirmed=confirm)

        async def body() -> UploadResult | InputRequiredResult:
            await state.tokens.get_token(state.settings.graph_resource, FILES_READ_WRITE)  # sign in before asking
            asked = await gate.ask(f"Upload {source} to OneDrive /{target}", upload_details(source, target, size, conflict))
            if asked is not None:
                return asked
            try:
                if size <= SIMPLE_UPLOAD_MAX_BYTES:
                    data = await anyio.to_thread.run_sync(read_limited, source, SIMPLE_UPLOAD_MAX_BYTES)
                    response = await state.graph.request(
                        "PUT", f"{address}/content?@microsoft.graph.conflictBehavior={conflict}",
                        scopes=FILES_READ_WRITE, content=data, content_type=content_type,
                    )
                    return UploadResult(file=file_item(response.body or {}), method="simple", conflict=conflict)
                item = await _upload_in_session(ctx, state.graph, address, source, size, target_name, conflict)
                return UploadResult(file=file_item(item), method="upload_session", conflict=conflict)
            except GraphError as exc:
                if exc.status == 409:
                    raise ToolError(
                        f'OneDrive already has /{target}; nothing was uploaded. Call again with conflict="replace" '
                        "to overwrite it, or choose another `name`."
                    ) from exc
                raise

        return await run_tool(ctx, body, consent_scopes=FILES_READ_WRITE)


async def _upload_in_session(
    ctx: Context, graph: Any, address: str, source: Path, size: int, name: str, conflict: str
) -> dict[str, Any]:
    """createUploadSession, then PUT the file to its uploadUrl fragment by fragment (without our token)."""
    session = await graph.request(
        "POST", f"{address}/createUploadSession", scopes=FILES_READ_WRITE,
        json_body={"item": {"@microsoft.graph.conflictBehavior": conflict, "name": name}},
    )
    upload_url = (session.body or {}).get("uploadUrl") if isinstance(session.body, dict) else None
    if not upload_url:
        raise GraphError("POST createUploadSession: Graph returned no uploadUrl; try again.", retryable=True)
    start = 0
    # One buffer for every fragment, filled in a worker thread: a fresh 3.2 MB bytes object per
    # read, allocated in the worker's malloc arena, made the process keep ~80 MB on a 200 MB upload.
    buffer = bytearray(UPLOAD_FRAGMENT_BYTES)
    try:
        with source.open("rb") as handle:
            while True:
                await anyio.to_thread.run_sync(handle.seek, start)
                count = await anyio.to_thread.run_sync(handle.readinto, buffer)
                chunk = bytes(memoryview(buffer)[:count])
                if not chunk:
                    raise GraphError(f"The upload of {name} stopped at byte {start} of {size}; try again.")
                end = start + len(chunk) - 1
                response = await _put_fragment(graph, upload_url, chunk, f"bytes {start}-{end}/{size}")
                await ctx.report_progress(end + 1, size, f"Uploading {name}")
                if response.status in (200, 201):
                    return response.body if isinstance(response.body, dict) else {}
                start = _next_start(response.body, end + 1)
                if start >= size:
                    raise GraphError(f"The upload of {name} did not complete (Graph still expects bytes); try again.")
    except Exception:
        try:  # best effort: do not leave a half-uploaded session behind
            await graph.send_pre_authenticated("DELETE", upload_url)
        except GraphError:
            logger.debug("Could not cancel the upload session of %s; it expires by itself", name)
        raise


async def _put_fragment(graph: Any, url: str, chunk: bytes, content_range: str) -> Any:
    for attempt in range(1, UPLOAD_ATTEMPTS + 1):
        try:
            return await graph.send_pre_authenticated(
                "PUT", url, content=chunk, headers={"Content-Range": content_range, "Content-Type": "application/octet-stream"}
            )
        except GraphError as exc:
            if not exc.retryable or attempt == UPLOAD_ATTEMPTS:
                raise
            await anyio.sleep(min(UPLOAD_RETRY_SECONDS * 2 ** (attempt - 1), 10.0))
    raise AssertionError("unreachable")


def _next_start(body: Any, fallback: int) -> int:
    ranges = body.get("nextExpectedRanges") if isinstance(body, dict) else None
    if ranges:
        first = str(ranges[0]).split("-", 1)[0]
        if first.isdigit():
            return int(first)
    return fallback
