"""Reading mail: list, search, read one message, list folders, save an attachment."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import Field

from .._common import (
    CURSOR_FIELD,
    DEFAULT_LIMIT,
    LIMIT_FIELD,
    clamp_limit,
    fetch_page,
    graph_datetime,
    graph_tool,
    odata_quote,
    parse_when,
    path_id,
)
from .._download import TooLarge, item_attachment_extension, save_stream
from .._runtime import run_tool, state_of
from ..mailboxes import MAIL_READ_SHARED, MAILBOX_FIELD, for_mailbox, mailbox_root, scopes_for
from .models import (
    _ATTACHMENT_FIELDS,
    _DETAIL_FIELDS,
    _EVER,
    _FOLDER_FIELDS,
    _LIST_FIELDS,
    MAIL_READ,
    MAX_ATTACHMENT_BYTES,
    TEAMS_CHAT_SUBJECT,
    MailFolder,
    MailFolderList,
    MessageDetails,
    MessageList,
    SavedAttachment,
    details,
    summary,
)


async def _message_page(
    graph: Any, path: str, params: dict[str, Any], cursor: str | None, limit: int, scopes: tuple[str, ...], *,
    all_mail: bool,
) -> MessageList:
    items, page = await fetch_page(graph, path, scopes=scopes, params=params, cursor=cursor, limit=clamp_limit(limit))
    if all_mail:  # no folder: leave out the Teams chats Graph mixes in
        items = [item for item in items if item.get("subject") != TEAMS_CHAT_SUBJECT]
    return MessageList(messages=[summary(item) for item in items], page=page)


def register(server: MCPServer[Any], settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="list_messages",
        title="List mail",
        description=(
            "List email messages, newest first, optionally only unread, from one sender, since a date, or in one "
            "folder (inbox, sentitems, drafts, archive, or a folder id)."
        ),
        area="mail",
        scopes=MAIL_READ,
        alternative_scopes=MAIL_READ_SHARED,
    )
    async def list_messages(
        ctx: Context,
        folder: Annotated[
            str | None, Field(description="inbox, sentitems, drafts, archive, deleteditems or a folder id; default: all mail but Teams chats")
        ] = None,
        unread_only: Annotated[bool, Field(description="only unread messages")] = False,
        sender: Annotated[str | None, Field(description="only messages from this email address")] = None,
        since: Annotated[str | None, Field(description="only messages received at or after this ISO 8601 date/time")] = None,
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
        mailbox: Annotated[str | None, MAILBOX_FIELD] = None,
    ) -> MessageList | InputRequiredResult:
        state = state_of(ctx)
        root, scopes = mailbox_root(mailbox), scopes_for(mailbox, MAIL_READ, MAIL_READ_SHARED)
        start = graph_datetime(parse_when(since, field="since")) if since else _EVER
        filters = [f"receivedDateTime ge {start}"]  # first, matching $orderby (InefficientFilter otherwise)
        if unread_only:
            filters.append("isRead eq false")
        if sender:
            filters.append(f"from/emailAddress/address eq {odata_quote(sender.strip())}")
        params: dict[str, Any] = {"$select": _LIST_FIELDS, "$orderby": "receivedDateTime desc"}
        if unread_only or sender or since:
            params["$filter"] = " and ".join(filters)
        path = f"{root}/mailFolders/{path_id(folder, field='folder')}/messages" if folder else f"{root}/messages"
        return await run_tool(
            ctx, for_mailbox(mailbox, "the mail", lambda: _message_page(state.graph, path, params, cursor, limit, scopes, all_mail=not folder)),
            consent_scopes=scopes,
        )

    @graph_tool(
        server,
        settings,
        name="search_messages",
        title="Search mail",
        description=(
            "Search email by free text (words in the subject, body or sender, or Outlook search terms such as "
            "from:megan subject:budget), optionally in one folder."
        ),
        area="mail",
        scopes=MAIL_READ,
        alternative_scopes=MAIL_READ_SHARED,
    )
    async def search_messages(
        ctx: Context,
        query: Annotated[str, Field(min_length=1, description="what to look for, e.g. 'falcon launch' or 'from:megan@contoso.com'")],
        folder: Annotated[str | None, Field(description="well-known folder name or folder id; default: all mail (Teams chats left out)")] = None,
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
        mailbox: Annotated[str | None, MAILBOX_FIELD] = None,
    ) -> MessageList | InputRequiredResult:
        state = state_of(ctx)
        root, scopes = mailbox_root(mailbox), scopes_for(mailbox, MAIL_READ, MAIL_READ_SHARED)
        text = " ".join(query.split())
        if not text:
            raise ToolError("`query` is empty; say what to look for.")
        # $search takes one quoted KQL string; Graph allows no $orderby or $filter with it.
        params = {"$search": '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"', "$select": _LIST_FIELDS}
        path = f"{root}/mailFolders/{path_id(folder, field='folder')}/messages" if folder else f"{root}/messages"
        return await run_tool(
            ctx, for_mailbox(mailbox, "the mail", lambda: _message_page(state.graph, path, params, cursor, limit, scopes, all_mail=not folder)),
            consent_scopes=scopes,
        )

    @graph_tool(
        server,
        settings,
        name="get_message",
        title="Read an email",
        description=(
            "Read one email by id: sender, recipients, dates, the body as plain text (long bodies are cut, "
            "`truncated` says so) and its attachments (ids for download_attachment)."
        ),
        area="mail",
        scopes=MAIL_READ,
        alternative_scopes=MAIL_READ_SHARED,
    )
    async def get_message(
        ctx: Context,
        message_id: Annotated[str, Field(description="the message `id` from list_messages or search_messages")],
        mailbox: Annotated[str | None, MAILBOX_FIELD] = None,
    ) -> MessageDetails | InputRequiredResult:
        state = state_of(ctx)
        scopes = scopes_for(mailbox, MAIL_READ, MAIL_READ_SHARED)
        path = f"{mailbox_root(mailbox)}/messages/{path_id(message_id, field='message_id')}"

        async def body() -> MessageDetails:
            item = await state.graph.get_json(path, scopes=scopes, params={"$select": _DETAIL_FIELDS})
            attachments: list[dict[str, Any]] = []
            if item.get("hasAttachments"):
                listed = await state.graph.get_json(
                    path + "/attachments", scopes=scopes, params={"$select": _ATTACHMENT_FIELDS}
                )
                attachments = list(listed.get("value") or [])
            return details(item, attachments)

        return await run_tool(ctx, for_mailbox(mailbox, "the mail", body), consent_scopes=scopes)

    @graph_tool(
        server,
        settings,
        name="list_mail_folders",
        title="List mail folders",
        description=(
            "List mail folders with their ids and unread/total message counts (top level, or the subfolders "
            "of one folder); use a folder id with list_messages or search_messages."
        ),
        area="mail",
        scopes=MAIL_READ,
        alternative_scopes=MAIL_READ_SHARED,
    )
    async def list_mail_folders(
        ctx: Context,
        parent_folder: Annotated[
            str | None, Field(description="list the subfolders of this folder (id or well-known name); default: top level")
        ] = None,
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
        mailbox: Annotated[str | None, MAILBOX_FIELD] = None,
    ) -> MailFolderList | InputRequiredResult:
        state = state_of(ctx)
        root, scopes = mailbox_root(mailbox), scopes_for(mailbox, MAIL_READ, MAIL_READ_SHARED)
        path = (
            f"{root}/mailFolders/{path_id(parent_folder, field='parent_folder')}/childFolders"
            if parent_folder
            else f"{root}/mailFolders"
        )

        async def body() -> MailFolderList:
            items, page = await fetch_page(
                state.graph,
                path,
                scopes=scopes,
                params={"$select": _FOLDER_FIELDS},
                cursor=cursor,
                limit=clamp_limit(limit),
            )
            folders = [
                MailFolder(
                    id=str(f.get("id", "")),
                    name=f.get("displayName"),
                    unread_count=f.get("unreadItemCount"),
                    total_count=f.get("totalItemCount"),
                    child_folder_count=f.get("childFolderCount"),
                )
                for f in items
            ]
            return MailFolderList(folders=folders, page=page)

        return await run_tool(ctx, for_mailbox(mailbox, "the mail", body), consent_scopes=scopes)

    @graph_tool(
        server,
        settings,
        name="download_attachment",
        title="Save an attachment",
        description=(
            "Save one email attachment to the download folder on this computer and return its local path and "
            f"size (files up to {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MB; the content is not returned)."
        ),
        area="mail",
        scopes=MAIL_READ,
        alternative_scopes=MAIL_READ_SHARED,
        read_only=False,  # it writes a file on this computer (never over another one)
        idempotent=False,
    )
    async def download_attachment(
        ctx: Context,
        message_id: Annotated[str, Field(description="the message `id`")],
        attachment_id: Annotated[str, Field(description="an attachment `id` from get_message")],
        mailbox: Annotated[str | None, MAILBOX_FIELD] = None,
    ) -> SavedAttachment | InputRequiredResult:
        state = state_of(ctx)
        scopes = scopes_for(mailbox, MAIL_READ, MAIL_READ_SHARED)
        path = (
            f"{mailbox_root(mailbox)}/messages/{path_id(message_id, field='message_id')}"
            f"/attachments/{path_id(attachment_id, field='attachment_id')}"
        )

        async def body() -> SavedAttachment:
            meta = await state.graph.get_json(path, scopes=scopes, params={"$select": _ATTACHMENT_FIELDS})
            kind = str(meta.get("@odata.type") or "#microsoft.graph.fileAttachment")
            name = meta.get("name") or "attachment"
            if kind.endswith("referenceAttachment"):
                raise ToolError(
                    f"{name!r} is a link to a file in the cloud, not a copy in the message; open it from the "
                    "message in Outlook (or with the file tools)."
                )
            size = int(meta.get("size") or 0)
            if size > MAX_ATTACHMENT_BYTES:
                raise ToolError(_too_big(name, size))
            item_attachment = kind.endswith("itemAttachment")
            folder = state.settings.resolved_download_dir()
            try:
                # $value is the raw file (or, for an attached item, its vCard, iCalendar or MIME text)
                async with state.graph.stream("GET", path + "/$value", scopes=scopes, headers={"Accept": "*/*"}) as response:
                    content_type = response.headers.get("content-type")

                    def named(first: bytes) -> str:
                        ext = item_attachment_extension(content_type, first)
                        return name if name.lower().endswith(ext) else name + ext

                    saved, size = await save_stream(
                        folder, name, response.chunks(), max_bytes=MAX_ATTACHMENT_BYTES,
                        name_from_start=named if item_attachment else None,
                    )
            except TooLarge:
                raise ToolError(_too_big(name, MAX_ATTACHMENT_BYTES + 1)) from None
            return SavedAttachment(path=str(saved), name=saved.name, size=size, content_type=meta.get("contentType"))

        return await run_tool(ctx, for_mailbox(mailbox, "an attachment", body), consent_scopes=scopes)


def _too_big(name: str, size: int) -> str:
    limit = MAX_ATTACHMENT_BYTES // (1024 * 1024)
    return (
        f"{name!r} is {size / (1024 * 1024):.1f} MB, over the {limit} MB this tool saves; "
        "open the message in Outlook to save it."
    )
