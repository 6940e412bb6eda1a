"""Mail tools (Outlook through Microsoft Graph)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import BaseModel, Field

from . import consent
from ._common import (
    CURSOR_FIELD,
    DEFAULT_LIMIT,
    LIMIT_FIELD,
    ConfirmOnce,
    PageInfo,
    body_text,
    clamp_limit,
    email_addresses,
    fetch_page,
    graph_datetime,
    graph_tool,
    iso_utc,
    odata_quote,
    parse_when,
    path_id,
)
from ._download import TooLarge, item_attachment_extension, save_stream
from ._runtime import run_tool, state_of
from .mail_attach import MAIL_READ_WRITE, describe, local_attachments, reply_with_attachments, send_with_attachments

MAIL_READ = ("Mail.Read",)
MAIL_SEND = ("Mail.Send",)
# A reply names the original's subject and people in its confirmation, so it reads the message too.
MAIL_REPLY = ("Mail.Read", "Mail.Send")
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
_LIST_FIELDS = "id,subject,from,receivedDateTime,isRead,hasAttachments,bodyPreview,webLink"
_DETAIL_FIELDS = (
    "id,subject,from,toRecipients,ccRecipients,bccRecipients,receivedDateTime,sentDateTime,"
    "body,hasAttachments,importance,isRead,conversationId,webLink"
)
_ATTACHMENT_FIELDS = "id,name,size,contentType,isInline"
_FOLDER_FIELDS = "id,displayName,parentFolderId,childFolderCount,unreadItemCount,totalItemCount"
_REPLY_FIELDS = "id,subject,from,replyTo,toRecipients,ccRecipients"
# Exchange answers 400 InefficientFilter unless every $orderby property leads $filter, in order
# (Graph docs, List messages); so the filter always starts with receivedDateTime.
_EVER = "1900-01-01T00:00:00Z"
# Mail without a folder (/me/messages) also returns Teams chats, whose subject is "IM" (Graph known issue).
TEAMS_CHAT_SUBJECT = "IM"
ATTACHMENTS_FIELD = Field(
    description="absolute paths of files on this computer to attach (only inside the folders the user allowed, "
    "LOCAL_MCP_UPLOAD_DIRS; each up to 150 MB); needs Mail.ReadWrite too"
)


class Address(BaseModel):
    name: str | None = None
    email: str | None = None


class MessageSummary(BaseModel):
    id: str
    subject: str | None
    sender: Address | None = Field(description="who sent it")
    received: str | None = Field(description="ISO 8601, UTC")
    is_read: bool | None
    has_attachments: bool | None
    preview: str | None = Field(description="the first ~255 characters of the body")
    web_link: str | None = None


class MessageList(BaseModel):
    messages: list[MessageSummary]
    page: PageInfo


class AttachmentInfo(BaseModel):
    id: str = Field(description="pass it to download_attachment")
    name: str | None
    size: int | None = Field(description="bytes")
    content_type: str | None
    is_inline: bool | None = Field(default=None, description="an image shown inside the body")


class MessageDetails(BaseModel):
    id: str
    subject: str | None
    sender: Address | None = Field(description="who sent it")
    to: list[Address]
    cc: list[Address]
    bcc: list[Address] = Field(description="only known for messages you sent")
    received: str | None = Field(description="ISO 8601, UTC")
    sent: str | None = Field(description="ISO 8601, UTC")
    importance: str | None
    is_read: bool | None
    conversation_id: str | None
    web_link: str | None
    body: str = Field(description="the body as plain text (HTML converted)")
    truncated: bool = Field(description="true when `body` was cut to keep it short")
    attachments: list[AttachmentInfo]


class MailFolder(BaseModel):
    id: str
    name: str | None
    unread_count: int | None
    total_count: int | None
    child_folder_count: int | None


class MailFolderList(BaseModel):
    folders: list[MailFolder]
    page: PageInfo


class SavedAttachment(BaseModel):
    path: str = Field(description="where the file was saved on this computer")
    name: str | None
    size: int = Field(description="bytes written")
    content_type: str | None


class SentMail(BaseModel):
    sent: bool
    to: list[str]
    cc: list[str]
    bcc: list[str]
    subject: str
    message: str


class SentReply(BaseModel):
    sent: bool
    reply_all: bool
    in_reply_to: str = Field(description="id of the message replied to")
    subject: str | None
    recipients: list[str] = Field(description="who the reply goes to (Outlook leaves you out of a reply-all)")
    message: str


def address(value: Any) -> Address | None:
    email = (value or {}).get("emailAddress") if isinstance(value, dict) else None
    if not email:
        return None
    return Address(name=email.get("name"), email=email.get("address"))


def addresses(values: Any) -> list[Address]:
    return [a for a in (address(v) for v in values or ()) if a is not None]


def recipients(emails: list[str]) -> list[dict[str, Any]]:
    return [{"emailAddress": {"address": email}} for email in emails]


def _who(people: list[Address]) -> str:
    return ", ".join(p.email or p.name or "?" for p in people) or "nobody"


def _unique(people: list[Address]) -> list[Address]:
    seen: set[str] = set()
    out = []
    for person in people:
        key = (person.email or person.name or "").lower()
        if key not in seen:
            seen.add(key)
            out.append(person)
    return out


def _quoted_preview(text: str, size: int = 300) -> str:
    flat = " ".join(text.split())
    return f'"{flat[:size]}{" …" if len(flat) > size else ""}"'


def summary(item: dict[str, Any]) -> MessageSummary:
    return MessageSummary(
        id=str(item.get("id", "")),
        subject=item.get("subject"),
        sender=address(item.get("from")),
        received=iso_utc(item.get("receivedDateTime")),
        is_read=item.get("isRead"),
        has_attachments=item.get("hasAttachments"),
        preview=item.get("bodyPreview"),
        web_link=item.get("webLink"),
    )


def details(item: dict[str, Any], attachments: list[dict[str, Any]]) -> MessageDetails:
    text, cut = body_text(item.get("body"))
    return MessageDetails(
        id=str(item.get("id", "")),
        subject=item.get("subject"),
        sender=address(item.get("from")),
        to=addresses(item.get("toRecipients")),
        cc=addresses(item.get("ccRecipients")),
        bcc=addresses(item.get("bccRecipients")),
        received=iso_utc(item.get("receivedDateTime")),
        sent=iso_utc(item.get("sentDateTime")),
        importance=item.get("importance"),
        is_read=item.get("isRead"),
        conversation_id=item.get("conversationId"),
        web_link=item.get("webLink"),
        body=text,
        truncated=cut,
        attachments=[
            AttachmentInfo(
                id=str(a.get("id", "")),
                name=a.get("name"),
                size=a.get("size"),
                content_type=a.get("contentType"),
                is_inline=a.get("isInline"),
            )
            for a in attachments
        ],
    )


async def _message_page(
    graph: Any, path: str, params: dict[str, Any], cursor: str | None, limit: int
) -> MessageList:
    items, page = await fetch_page(graph, path, scopes=MAIL_READ, params=params, cursor=cursor, limit=clamp_limit(limit))
    if path == "/me/messages":  # no folder: leave out the Teams chats Graph mixes in
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
            "folder (inbox, sentitems, drafts, archive, or a folder id); returns summaries and a cursor for more."
        ),
        area="mail",
        scopes=MAIL_READ,
    )
    async def list_messages(
        ctx: Context,
        folder: Annotated[
            str | None, Field(description="well-known folder name (inbox, sentitems, drafts, archive, deleteditems) or a folder id; default: all mail (Teams chats left out)")
        ] = None,
        unread_only: Annotated[bool, Field(description="only unread messages")] = False,
        sender: Annotated[str | None, Field(description="only messages from this email address")] = None,
        since: Annotated[str | None, Field(description="only messages received at or after this ISO 8601 date/time")] = None,
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
    ) -> MessageList | InputRequiredResult:
        state = state_of(ctx)
        start = graph_datetime(parse_when(since, field="since")) if since else _EVER
        filters = [f"receivedDateTime ge {start}"]  # first, matching $orderby (InefficientFilter otherwise)
        if unread_only:
            filters.append("isRead eq false")
        if sender:
            filters.append(f"from/emailAddress/address eq {odata_quote(sender.strip())}")
        params: dict[str, Any] = {"$select": _LIST_FIELDS, "$orderby": "receivedDateTime desc"}
        if unread_only or sender or since:
            params["$filter"] = " and ".join(filters)
        path = f"/me/mailFolders/{path_id(folder, field='folder')}/messages" if folder else "/me/messages"
        return await run_tool(
            ctx, lambda: _message_page(state.graph, path, params, cursor, limit), consent_scopes=MAIL_READ
        )

    @graph_tool(
        server,
        settings,
        name="search_messages",
        title="Search mail",
        description=(
            "Search email by free text (words in the subject, body or sender, or Outlook search terms such as "
            "from:megan subject:budget), optionally in one folder; returns summaries and a cursor for more."
        ),
        area="mail",
        scopes=MAIL_READ,
    )
    async def search_messages(
        ctx: Context,
        query: Annotated[str, Field(min_length=1, description="what to look for, e.g. 'falcon launch' or 'from:megan@contoso.com'")],
        folder: Annotated[str | None, Field(description="well-known folder name or folder id; default: all mail (Teams chats left out)")] = None,
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
    ) -> MessageList | InputRequiredResult:
        state = state_of(ctx)
        text = " ".join(query.split())
        if not text:
            raise ToolError("`query` is empty; say what to look for.")
        # $search takes one quoted KQL string; Graph allows no $orderby or $filter with it.
        params = {"$search": '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"', "$select": _LIST_FIELDS}
        path = f"/me/mailFolders/{path_id(folder, field='folder')}/messages" if folder else "/me/messages"
        return await run_tool(
            ctx, lambda: _message_page(state.graph, path, params, cursor, limit), consent_scopes=MAIL_READ
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
    )
    async def get_message(
        ctx: Context,
        message_id: Annotated[str, Field(description="the message `id` from list_messages or search_messages")],
    ) -> MessageDetails | InputRequiredResult:
        state = state_of(ctx)
        path = f"/me/messages/{path_id(message_id, field='message_id')}"

        async def body() -> MessageDetails:
            item = await state.graph.get_json(path, scopes=MAIL_READ, params={"$select": _DETAIL_FIELDS})
            attachments: list[dict[str, Any]] = []
            if item.get("hasAttachments"):
                listed = await state.graph.get_json(
                    path + "/attachments", scopes=MAIL_READ, params={"$select": _ATTACHMENT_FIELDS}
                )
                attachments = list(listed.get("value") or [])
            return details(item, attachments)

        return await run_tool(ctx, body, consent_scopes=MAIL_READ)

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
    )
    async def list_mail_folders(
        ctx: Context,
        parent_folder: Annotated[
            str | None, Field(description="list the subfolders of this folder (id or well-known name); default: top level")
        ] = None,
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
    ) -> MailFolderList | InputRequiredResult:
        state = state_of(ctx)
        path = (
            f"/me/mailFolders/{path_id(parent_folder, field='parent_folder')}/childFolders"
            if parent_folder
            else "/me/mailFolders"
        )

        async def body() -> MailFolderList:
            items, page = await fetch_page(
                state.graph,
                path,
                scopes=MAIL_READ,
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

        return await run_tool(ctx, body, consent_scopes=MAIL_READ)

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
        read_only=False,  # it writes a file on this computer (never over another one)
        idempotent=False,
    )
    async def download_attachment(
        ctx: Context,
        message_id: Annotated[str, Field(description="the message `id`")],
        attachment_id: Annotated[str, Field(description="an attachment `id` from get_message")],
    ) -> SavedAttachment | InputRequiredResult:
        state = state_of(ctx)
        path = (
            f"/me/messages/{path_id(message_id, field='message_id')}"
            f"/attachments/{path_id(attachment_id, field='attachment_id')}"
        )

        async def body() -> SavedAttachment:
            meta = await state.graph.get_json(path, scopes=MAIL_READ, params={"$select": _ATTACHMENT_FIELDS})
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
                async with state.graph.stream("GET", path + "/$value", scopes=MAIL_READ, headers={"Accept": "*/*"}) as response:
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

        return await run_tool(ctx, body, consent_scopes=MAIL_READ)

    @graph_tool(
        server,
        settings,
        name="send_message",
        title="Send an email",
        description=(
            "Send a plain-text email from the user's mailbox to the given addresses; the user confirms the "
            "recipients and subject first unless confirm=true (only after the user agreed)."
        ),
        area="mail",
        scopes=MAIL_SEND,
        write=True,
        destructive=True,
        idempotent=False,
    )
    async def send_message(
        ctx: Context,
        to: Annotated[list[str], Field(min_length=1, description="recipient email addresses")],
        subject: Annotated[str, Field(description="subject line")],
        body: Annotated[str, Field(description="the message, plain text")],
        cc: Annotated[list[str] | None, Field(description="carbon-copy email addresses")] = None,
        bcc: Annotated[list[str] | None, Field(description="blind-copy email addresses")] = None,
        confirm: Annotated[
            bool, Field(description="true only when the user has already agreed to send exactly this; skips the question")
        ] = False,
        attachments: Annotated[list[str] | None, ATTACHMENTS_FIELD] = None,
    ) -> SentMail | InputRequiredResult:
        state = state_of(ctx)
        files = local_attachments(state.settings, attachments)
        send_scopes = MAIL_SEND + MAIL_READ_WRITE if files else MAIL_SEND
        to_list = email_addresses(to, field="to")
        cc_list, bcc_list = email_addresses(cc, field="cc"), email_addresses(bcc, field="bcc")
        if not to_list:
            raise ToolError("`to` needs at least one email address.")
        copies = "".join(
            f" ({label}: {', '.join(people)})" for label, people in (("cc", cc_list), ("bcc", bcc_list)) if people
        )
        summary_text = (
            f"Send an email to {', '.join(to_list)}{copies} with the subject \"{subject}\": {_quoted_preview(body)}"
        ) + (f" (attached from this computer: {describe(files)})" if files else "")
        gate = ConfirmOnce(ctx, confirmed=confirm)
        payload: dict[str, Any] = {
            "message": {
                "subject": subject,
                "body": {"contentType": "Text", "content": body},
                "toRecipients": recipients(to_list),
                "ccRecipients": recipients(cc_list),
                "bccRecipients": recipients(bcc_list),
            },
            "saveToSentItems": True,
        }

        async def run() -> SentMail | InputRequiredResult:
            # Sign in (or consent to Mail.Send) before asking, so the question is not asked in vain.
            await state.tokens.get_token(state.settings.graph_resource, send_scopes)
            home = await consent.home_domain(ctx)
            details = {
                "Recipients": consent.recipients_line(to_list + cc_list + bcc_list, home),
                "Subject": subject,
                "Size": consent.size_text(len(body.encode("utf-8"))),
            }
            if files:
                details["Attachments"] = ", ".join(str(f.path) for f in files)
            if (asked := await gate.ask(summary_text, details)) is not None:
                return asked
            if files:  # a draft, its attachments (upload session above 3 MB), then send
                await send_with_attachments(state.graph, payload["message"], files)
            else:
                await state.graph.request("POST", "/me/sendMail", scopes=MAIL_SEND, json_body=payload, may_duplicate=True)
            return SentMail(
                sent=True,
                to=to_list,
                cc=cc_list,
                bcc=bcc_list,
                subject=subject,
                message=f"Sent \"{subject}\" to {', '.join(to_list + cc_list + bcc_list)}.",
            )

        return await run_tool(ctx, run, consent_scopes=send_scopes)

    @graph_tool(
        server,
        settings,
        name="reply_to_message",
        title="Reply to an email",
        description=(
            "Reply to an email (or reply to all) with a plain-text comment above the quoted original; the user "
            "confirms who receives it first unless confirm=true (only after the user agreed)."
        ),
        area="mail",
        scopes=MAIL_REPLY,
        write=True,
        destructive=True,
        idempotent=False,
    )
    async def reply_to_message(
        ctx: Context,
        message_id: Annotated[str, Field(description="the `id` of the message to answer")],
        comment: Annotated[str, Field(description="the reply text, plain text")],
        reply_all: Annotated[bool, Field(description="also reply to everyone on To and Cc")] = False,
        confirm: Annotated[
            bool, Field(description="true only when the user has already agreed to send exactly this; skips the question")
        ] = False,
        attachments: Annotated[list[str] | None, ATTACHMENTS_FIELD] = None,
    ) -> SentReply | InputRequiredResult:
        state = state_of(ctx)
        files = local_attachments(state.settings, attachments)
        reply_scopes = MAIL_REPLY + MAIL_READ_WRITE if files else MAIL_REPLY
        path = f"/me/messages/{path_id(message_id, field='message_id')}"
        gate = ConfirmOnce(ctx, confirmed=confirm)

        async def run() -> SentReply | InputRequiredResult:
            await state.tokens.get_token(state.settings.graph_resource, reply_scopes)
            original = await state.graph.get_json(path, scopes=MAIL_REPLY, params={"$select": _REPLY_FIELDS})
            people = addresses(original.get("replyTo")) or [a for a in [address(original.get("from"))] if a]
            if reply_all:
                people += addresses(original.get("toRecipients")) + addresses(original.get("ccRecipients"))
            unique = _unique(people)
            subject = original.get("subject")
            what = "Reply to all" if reply_all else "Reply"
            home = await consent.home_domain(ctx)
            asked = await gate.ask(
                f"{what} to \"{subject}\", sending to {_who(unique)}: {_quoted_preview(comment)}",
                {"Recipients": consent.recipients_line([p.email for p in unique if p.email], home), "Subject": str(subject)}
                | ({"Attachments": ", ".join(str(f.path) for f in files)} if files else {}),
            )
            if asked is not None:
                return asked
            action = "replyAll" if reply_all else "reply"
            if files:  # a reply draft, its attachments, then send
                await reply_with_attachments(state.graph, path, action, comment, files)
            else:
                await state.graph.request(
                    "POST", f"{path}/{action}", scopes=MAIL_REPLY, json_body={"comment": comment}, may_duplicate=True
                )
            return SentReply(
                sent=True,
                reply_all=reply_all,
                in_reply_to=str(original.get("id") or message_id),
                subject=subject,
                recipients=[p.email or p.name or "" for p in unique],
                message=f"{what} sent for \"{subject}\".",
            )

        return await run_tool(ctx, run, consent_scopes=reply_scopes)


def _too_big(name: str, size: int) -> str:
    limit = MAX_ATTACHMENT_BYTES // (1024 * 1024)
    return (
        f"{name!r} is {size / (1024 * 1024):.1f} MB, over the {limit} MB this tool saves; "
        "open the message in Outlook to save it."
    )
