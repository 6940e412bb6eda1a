"""Saving downloads on this computer: streamed to a temporary name, renamed when complete.

A download is written chunk by chunk into `.<name>.<random>.part` in the download folder
(created 0600, never over anything), so memory stays flat whatever the file's size and a
half-written file never carries the final name. When the last byte is in, the final name is
chosen without overwriting anything ("report.pdf", then "report (2).pdf", ...) and the
temporary file is renamed to it. On any failure, a size cap included, it is deleted.

`save_stream` reads an async iterator of chunks and stops reading as soon as the cap is
passed, so a service that ignores a Range, or a file larger than its metadata said, costs
at most one chunk beyond the cap.
"""

from __future__ import annotations

import contextlib
import mimetypes
import os
import secrets
from collections.abc import AsyncIterable, Callable
from pathlib import Path
from typing import Any

import anyio
from mcp_types import ResourceLink


class TooLarge(Exception):
    """The content passed the cap; nothing was saved."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"more than {limit} bytes")
        self.limit = limit


class PendingFile:
    """A file being written under a temporary name in `folder`; `commit()` gives it its name."""

    def __init__(self, folder: Path, name: str) -> None:
        from ._common import fit_name, safe_file_name

        folder.mkdir(parents=True, exist_ok=True)
        self.folder = folder
        self.name = safe_file_name(name)
        self.size = 0
        while True:
            temp = folder / f".{fit_name(self.name, 80)}.{secrets.token_hex(4)}.part"
            try:
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
                break
            except FileExistsError:
                continue
        self.temp = temp
        self._handle: Any = os.fdopen(fd, "wb")

    def write(self, data: bytes) -> None:
        self._handle.write(data)
        self.size += len(data)

    def commit(self) -> Path:
        """Close, then rename to the first free name among name, "name (2)", ...; returns the path."""
        self._handle.flush()
        os.fsync(self._handle.fileno())  # on disk before it gets the real name, even if the power fails
        self._handle.close()
        stem, dot, ext = self.name.rpartition(".")
        if not dot:
            stem, ext = self.name, ""
        candidate, counter = self.folder / self.name, 1
        while True:
            try:
                # Reserve the name with O_EXCL (never overwrite, even if another download races us
                # to it), then move the complete file over our own empty placeholder.
                os.close(os.open(candidate, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
                break
            except FileExistsError:
                counter += 1
                candidate = self.folder / (f"{stem} ({counter}).{ext}" if ext else f"{stem} ({counter})")
        try:
            os.replace(self.temp, candidate)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(candidate)
            self.discard()
            raise
        return candidate

    def discard(self) -> None:
        with contextlib.suppress(OSError):
            self._handle.close()
        with contextlib.suppress(OSError):
            os.unlink(self.temp)


def save_bytes(folder: Path, name: str | None, data: bytes) -> Path:
    """Write `data` under a temporary name, then rename it to a free name in `folder`."""
    pending = PendingFile(folder, name or "")
    try:
        pending.write(data)
    except BaseException:
        pending.discard()
        raise
    return pending.commit()


async def save_stream(
    folder: Path,
    name: str | None,
    chunks: AsyncIterable[bytes],
    *,
    max_bytes: int,
    name_from_start: Callable[[bytes], str] | None = None,
) -> tuple[Path, int]:
    """Write chunks as they arrive; raise TooLarge (nothing kept) once more than `max_bytes` came.

    `name_from_start`, when given, picks the final name from the first bytes (e.g. by signature).
    """
    pending = await anyio.to_thread.run_sync(PendingFile, folder, name or "")
    try:
        async for chunk in chunks:
            if name_from_start is not None and pending.size == 0 and chunk:
                from ._common import safe_file_name

                pending.name = safe_file_name(name_from_start(chunk))
                name_from_start = None
            if pending.size + len(chunk) > max_bytes:
                raise TooLarge(max_bytes)  # stop reading here: the rest stays on the wire
            await anyio.to_thread.run_sync(pending.write, chunk)
        if name_from_start is not None:  # an empty body
            from ._common import safe_file_name

            pending.name = safe_file_name(name_from_start(b""))
        path = await anyio.to_thread.run_sync(pending.commit)
    except BaseException:
        pending.discard()
        raise
    return path, pending.size


async def read_capped(chunks: AsyncIterable[bytes], limit: int) -> tuple[bytes, bool]:
    """The first `limit` bytes of a stream, and whether there was more (reading stops there)."""
    buffer = bytearray()
    async for chunk in chunks:
        buffer += chunk
        if len(buffer) > limit:
            return bytes(buffer[:limit]), True
    return bytes(buffer), False


DOWNLOAD_URL = "@microsoft.graph.downloadUrl"

# An item attachment's $value is a contact as vCard, an event as iCalendar, or a message as MIME
# (Graph docs, "Get attachment": "Get the raw contents of a file or item attachment").
_ITEM_TYPES = {
    "text/vcard": ".vcf", "text/x-vcard": ".vcf", "text/directory": ".vcf",
    "text/calendar": ".ics", "application/ics": ".ics",
    "message/rfc822": ".eml",
}


def item_attachment_extension(content_type: str | None, start: bytes) -> str:
    """.vcf, .ics or .eml for an attached Outlook item, from its content type or else its first bytes."""
    media = (content_type or "").split(";", 1)[0].strip().lower()
    if media in _ITEM_TYPES:
        return _ITEM_TYPES[media]
    head = start.lstrip(b"\xef\xbb\xbf \t\r\n")[:32].upper()
    if head.startswith(b"BEGIN:VCARD"):
        return ".vcf"
    if head.startswith(b"BEGIN:VCALENDAR"):
        return ".ics"
    return ".eml"


def open_item_content(
    graph: Any, item_address: str, meta: dict[str, Any], *, scopes: tuple[str, ...], byte_range: str | None = None
) -> Any:
    """Stream a driveItem's bytes: from its pre-authenticated downloadUrl when Graph gave one.

    Graph answers `/content` with a 302 to that same URL; a Range is honoured there (the
    redirect may drop or ignore it), so it goes straight to the URL, without our token.
    Without a downloadUrl in `meta`, `/content` is streamed through Graph's pipeline.
    """
    headers = {"Range": byte_range} if byte_range else {}
    url = meta.get(DOWNLOAD_URL)
    if isinstance(url, str) and url:
        return graph.stream_pre_authenticated(url, headers=headers)
    return graph.stream("GET", f"{item_address}/content", scopes=scopes, headers={"Accept": "*/*", **headers})


def saved_file_link(path: str, *, size: int | None, mime_type: str | None, description: str) -> ResourceLink:
    """An MCP ResourceLink to a file this server saved: its `file://` URI, name, type and size.

    A client can open or attach it without parsing the text; the structured result keeps the
    plain path as before.
    """
    saved = Path(path)
    return ResourceLink(
        type="resource_link",
        uri=saved.absolute().as_uri(),
        name=saved.name,
        description=description,
        mime_type=mime_type or mimetypes.guess_type(saved.name)[0],
        size=size,
    )
