"""upload_file: a file from this computer into OneDrive, in one PUT or through an upload session.

Uploads of up to 4 MB are one PUT. Bigger files go through an upload session: Graph
hands out an `uploadUrl` that carries its own authorization, and the file is sent to it
in 320 KiB-aligned fragments without our token (GraphClient.send_pre_authenticated).
msgraph-core's LargeFileUploadTask is not used: it needs the SDK's typed models and
it logs and skips a fragment that fails instead of reporting the failure.
"""

from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import BaseModel, Field

from ...errors import GraphError
from .._common import ConfirmOnce, graph_tool
from .._runtime import run_tool, state_of
from ..local_files import open_regular, read_limited, resolve_upload_path, upload_details
from .items import FILES_READ_WRITE, FileItem, drive_path, file_item, megabytes, quoted_path

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 250 * 1024 * 1024  # upload_file
SIMPLE_UPLOAD_MAX_BYTES = 4 * 1024 * 1024  # Graph's limit for a single PUT .../content
UPLOAD_FRAGMENT_BYTES = 2 * 320 * 1024  # multiples of 320 KiB; peak RSS grows ~25x the fragment (bench)
UPLOAD_ATTEMPTS = 3  # per fragment, on throttling, 5xx or network errors
UPLOAD_RETRY_SECONDS = 2.0  # first wait before trying a fragment again; doubles each time


class UploadResult(BaseModel):
    file: FileItem
    method: Literal["simple", "upload_session"] = Field(description="one PUT (up to 4 MB) or an upload session")
    conflict: Literal["fail", "replace"]


def register(server: MCPServer[Any], settings: Any) -> None:
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
            raise ToolError(f"{source.name} is {megabytes(size)}; upload_file uploads files up to {MAX_UPLOAD_BYTES // (1024 * 1024)} MB.")
        target_name = (name or source.name).strip()
        if "/" in target_name or not drive_path(target_name, field="name"):
            raise ToolError(f"`name` must be a plain file name without slashes (got {target_name!r}).")
        target = "/".join(p for p in (drive_path(folder, field="folder"), target_name) if p)
        address = f"/me/drive/root:/{quoted_path(target)}:"
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
        with open_regular(source) as handle:  # no symlink swapped in since the check
            while True:
                await anyio.to_thread.run_sync(handle.seek, start)
                # never past the size the user was shown (a file that grows is cut there, not read on)
                window = memoryview(buffer)[: max(0, min(UPLOAD_FRAGMENT_BYTES, size - start))]
                count = await anyio.to_thread.run_sync(handle.readinto, window)
                chunk = bytes(window[:count])
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
