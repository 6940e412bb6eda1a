"""Attach files from this computer to a draft message (create_draft, send_message, reply_to_message).

Microsoft's rule (*attachment: createUploadSession*, api-reference/v1.0/api/attachment-createuploadsession.md):
a file under 3 MB is one POST on the message's `attachments` (a fileAttachment with
`contentBytes`); from 3 MB to 150 MB it goes through an upload session, whose `uploadUrl`
carries its own authorization and takes ranges of at most 4 MB, in order. Files are read only
from the folders the user allowed (LOCAL_MCP_UPLOAD_DIRS, see local_files.py).
"""

from __future__ import annotations

import base64
import mimetypes
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from ...errors import GraphError
from ..local_files import read_limited, resolve_upload_path

SIMPLE_ATTACHMENT_BYTES = 3 * 1024 * 1024  # under this: one POST with contentBytes
MAX_ATTACHMENT_BYTES = 150 * 1024 * 1024  # upload sessions take files up to 150 MB
MAX_FILES = 10
FRAGMENT_BYTES = 10 * 320 * 1024  # 3.125 MiB: under the 4 MB a range may hold
MAIL_READ_WRITE = ("Mail.ReadWrite",)


@dataclass(frozen=True)
class LocalAttachment:
    path: Path
    name: str
    size: int
    content_type: str


def local_attachments(settings: Any, paths: Sequence[str] | None) -> list[LocalAttachment]:
    """Check every path before anything is sent: allowed folder, ordinary file, at most 150 MB."""
    given = [p for p in paths or () if p and p.strip()]
    if len(given) > MAX_FILES:
        raise ToolError(f"At most {MAX_FILES} attachments per message (got {len(given)}).")
    found = []
    for raw in given:
        path = resolve_upload_path(settings, raw.strip())
        size = path.stat().st_size
        if size > MAX_ATTACHMENT_BYTES:
            raise ToolError(
                f"{path.name} is {size / (1024 * 1024):.1f} MB; Outlook attachments are at most 150 MB "
                "(share a OneDrive link instead: upload_file)."
            )
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        found.append(LocalAttachment(path, path.name, size, kind))
    return found


def describe(files: Sequence[LocalAttachment]) -> str:
    return ", ".join(f"{f.name} ({f.size / 1024:.0f} KB)" for f in files)


async def attach_all(graph: Any, message_path: str, files: Sequence[LocalAttachment]) -> None:
    """Attach each file to the draft at `message_path` (/me/messages/{id})."""
    for item in files:
        if item.size < SIMPLE_ATTACHMENT_BYTES:
            data = read_limited(item.path, SIMPLE_ATTACHMENT_BYTES)
            await graph.request(
                "POST",
                f"{message_path}/attachments",
                scopes=MAIL_READ_WRITE,
                json_body={
                    "@odata.type": "#microsoft.graph.fileAttachment",
                    "name": item.name,
                    "contentType": item.content_type,
                    "contentBytes": base64.b64encode(data).decode("ascii"),
                },
                may_duplicate=True,
            )
        else:
            await _upload_in_session(graph, message_path, item)


async def _upload_in_session(graph: Any, message_path: str, item: LocalAttachment) -> None:
    session = await graph.request(
        "POST",
        f"{message_path}/attachments/createUploadSession",
        scopes=MAIL_READ_WRITE,
        json_body={"AttachmentItem": {"attachmentType": "file", "name": item.name, "size": item.size,
                                      "contentType": item.content_type}},
    )
    upload_url = (session.body or {}).get("uploadUrl") if isinstance(session.body, dict) else None
    if not upload_url:
        raise GraphError("POST createUploadSession: Graph returned no uploadUrl; try again.", retryable=True)
    data = read_limited(item.path, MAX_ATTACHMENT_BYTES)
    if len(data) != item.size:
        raise ToolError(f"{item.name} changed while it was being attached; try again.")
    finished = False
    try:
        for start in range(0, len(data), FRAGMENT_BYTES):
            chunk = data[start : start + FRAGMENT_BYTES]
            end = start + len(chunk) - 1
            await graph.send_pre_authenticated(
                "PUT",
                upload_url,
                content=chunk,
                headers={"Content-Range": f"bytes {start}-{end}/{len(data)}", "Content-Type": "application/octet-stream"},
            )
        finished = True
    finally:
        if not finished:
            try:  # best effort: do not leave a half-uploaded session behind
                await graph.send_pre_authenticated("DELETE", upload_url)
            except Exception:
                pass


async def send_with_attachments(graph: Any, message: dict[str, Any], files: Sequence[LocalAttachment]) -> None:
    """send_message with files: a draft (POST /me/messages), its attachments, then POST .../send."""
    response = await graph.request("POST", "/me/messages", scopes=MAIL_READ_WRITE, json_body=message, may_duplicate=True)
    await _attach_and_send(graph, response, files)


async def reply_with_attachments(
    graph: Any, message_path: str, action: str, comment: str, files: Sequence[LocalAttachment]
) -> None:
    """reply_to_message with files: createReply / createReplyAll, its attachments, then POST .../send."""
    create = "createReplyAll" if action == "replyAll" else "createReply"
    response = await graph.request(
        "POST", f"{message_path}/{create}", scopes=MAIL_READ_WRITE, json_body={"comment": comment}, may_duplicate=True
    )
    await _attach_and_send(graph, response, files)


async def _attach_and_send(graph: Any, created: Any, files: Sequence[LocalAttachment]) -> None:
    from urllib.parse import quote

    draft_id = str((created.body or {}).get("id") or "") if isinstance(created.body, dict) else ""
    if not draft_id:
        raise GraphError("Graph created no draft to attach the files to; nothing was sent. Try again.")
    path = f"/me/messages/{quote(draft_id, safe='')}"
    await attach_all(graph, path, files)
    await graph.request("POST", f"{path}/send", scopes=("Mail.Send",), may_duplicate=True)
