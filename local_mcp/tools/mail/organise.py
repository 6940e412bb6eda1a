"""Organising mail: drafts (new, reply, forward; with local files attached), sending a draft,
forwarding, moving, flagging / marking read, and deleting (to Deleted Items, never a hard delete).

Graph pages (api-reference/v1.0/api/): user-post-messages, message-createreply,
message-createreplyall, message-createforward, message-send, message-forward, message-move,
message-update, message-post-attachments, attachment-createuploadsession.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import BaseModel, Field

from .. import consent
from .._common import ConfirmOnce, email_addresses, graph_tool, path_id, short_text
from .._runtime import run_tool, state_of
from .models import Address, _quoted_preview, addresses, recipients
from .attach import attach_all, describe, local_attachments

MAIL_READ_WRITE = ("Mail.ReadWrite",)
# Sending a draft or forwarding names the message's subject and people in the question, so it reads it too.
MAIL_SEND_DRAFT = ("Mail.ReadWrite", "Mail.Send")
MAIL_FORWARD = ("Mail.Read", "Mail.Send")
_CHECK_FIELDS = "id,subject,toRecipients,ccRecipients,bccRecipients,isDraft,hasAttachments,parentFolderId"
WELL_KNOWN_FOLDERS = ("inbox", "drafts", "sentitems", "deleteditems", "archive", "junkemail", "outbox")

ATTACHMENTS_FIELD = Field(
    description="absolute paths of files on this computer to attach (only inside the folders the user allowed, "
    "LOCAL_MCP_UPLOAD_DIRS; each up to 150 MB)"
)
CONFIRM_FIELD = Field(description="for clients that cannot ask the user: true only when the user agreed to exactly this")


class Draft(BaseModel):
    id: str = Field(description="the draft's id, for send_draft")
    subject: str | None
    to: list[Address]
    cc: list[Address]
    attachments: list[str] = Field(description="names of the files attached from this computer")
    web_link: str | None = None
    message: str


class SentDraft(BaseModel):
    sent: bool
    id: str
    subject: str | None
    recipients: list[str]
    message: str


class Forwarded(BaseModel):
    forwarded: bool
    id: str
    subject: str | None
    to: list[str]
    message: str


class MessageChange(BaseModel):
    id: str = Field(description="the message's id now (a move gives the message a new id)")
    subject: str | None
    folder_id: str | None = None
    is_read: bool | None = None
    flag: str | None = Field(default=None, description="notFlagged, flagged or complete")
    categories: list[str] | None = None
    importance: str | None = None
    message: str


def _everyone(item: dict[str, Any]) -> list[str]:
    people = (addresses(item.get("toRecipients")) + addresses(item.get("ccRecipients"))
              + addresses(item.get("bccRecipients")))
    return [p.email or p.name or "?" for p in people]


def register(server: MCPServer[Any], settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="create_draft",
        title="Create an email draft",
        description=(
            "Save an email draft in Drafts without sending it: a new message, or a reply / reply-all / forward "
            "draft of a message, with a plain-text body and optionally files from this computer attached; "
            "returns the draft id for send_draft."
        ),
        area="mail",
        scopes=MAIL_READ_WRITE,
        write=True,
        idempotent=False,
    )
    async def create_draft(
        ctx: Context,
        body: Annotated[str, Field(description="the text, plain text (for a reply or forward: the comment above the original)")],
        to: Annotated[list[str] | None, Field(description="recipient email addresses (a reply draft has them already)")] = None,
        subject: Annotated[str | None, Field(description="subject line (a reply or forward keeps the original's)")] = None,
        cc: Annotated[list[str] | None, Field(description="carbon-copy email addresses")] = None,
        bcc: Annotated[list[str] | None, Field(description="blind-copy email addresses")] = None,
        reply_to_message_id: Annotated[str | None, Field(description="make a reply draft of this message")] = None,
        reply_all: Annotated[bool, Field(description="with reply_to_message_id: reply to everyone")] = False,
        forward_message_id: Annotated[str | None, Field(description="make a forward draft of this message")] = None,
        attachments: Annotated[list[str] | None, ATTACHMENTS_FIELD] = None,
        confirm: Annotated[bool, CONFIRM_FIELD] = False,
    ) -> Draft | InputRequiredResult:
        state = state_of(ctx)
        if reply_to_message_id and forward_message_id:
            raise ToolError("Pass reply_to_message_id or forward_message_id, not both.")
        to_list = email_addresses(to, field="to")
        cc_list, bcc_list = email_addresses(cc, field="cc"), email_addresses(bcc, field="bcc")
        files = local_attachments(state.settings, attachments)
        # A draft changes the mailbox (and files leave this computer): the user says yes first; nothing is sent yet.
        gate = ConfirmOnce(ctx, confirmed=confirm)
        message: dict[str, Any] = {}
        if subject is not None and not reply_to_message_id and not forward_message_id:
            message["subject"] = subject
        for key, people in (("toRecipients", to_list), ("ccRecipients", cc_list), ("bccRecipients", bcc_list)):
            if people:
                message[key] = recipients(people)

        async def run() -> Draft | InputRequiredResult:
            await state.tokens.get_token(state.settings.graph_resource, MAIL_READ_WRITE)
            everyone = to_list + cc_list + bcc_list
            details: dict[str, str] = {}
            if everyone:
                details["Recipients (not sent yet)"] = consent.recipients_line(everyone, await consent.home_domain(ctx))
            if subject is not None:
                details["Subject"] = subject
            details["Size"] = consent.size_text(len(body.encode("utf-8")))
            if files:
                details["Files"] = ", ".join(str(f.path) for f in files)
                summary = f"Attach {describe(files)} from this computer to a draft in your mailbox"
            elif reply_to_message_id or forward_message_id:
                summary = f"Save a {'forward' if forward_message_id else 'reply'} draft in your mailbox (nothing is sent)"
            else:
                summary = "Save a draft in your mailbox (nothing is sent)"
            asked = await gate.ask(summary, details)
            if asked is not None:
                return asked
            if reply_to_message_id or forward_message_id:
                source = path_id(reply_to_message_id or forward_message_id or "", field="message_id")
                action = "createForward" if forward_message_id else ("createReplyAll" if reply_all else "createReply")
                payload: dict[str, Any] = {"comment": body}
                if message:
                    payload["message"] = message
                response = await state.graph.request(
                    "POST", f"/me/messages/{source}/{action}", scopes=MAIL_READ_WRITE, json_body=payload, may_duplicate=True
                )
            else:
                message["body"] = {"contentType": "Text", "content": body}
                message.setdefault("subject", "")
                response = await state.graph.request(
                    "POST", "/me/messages", scopes=MAIL_READ_WRITE, json_body=message, may_duplicate=True
                )
            draft = response.body if isinstance(response.body, dict) else {}
            draft_id = str(draft.get("id") or "")
            if files:
                await attach_all(state.graph, f"/me/messages/{path_id(draft_id)}", files)
            return Draft(
                id=draft_id,
                subject=draft.get("subject"),
                to=addresses(draft.get("toRecipients")),
                cc=addresses(draft.get("ccRecipients")),
                attachments=[f.name for f in files],
                web_link=draft.get("webLink"),
                message=f"Draft \"{draft.get('subject') or ''}\" saved in Drafts; nothing was sent. send_draft sends it.",
            )

        return await run_tool(ctx, run, consent_scopes=MAIL_READ_WRITE)

    @graph_tool(
        server,
        settings,
        name="send_draft",
        title="Send an email draft",
        description=(
            "Send an email draft from Drafts (from create_draft or saved in Outlook); the user confirms its "
            "recipients and subject first."
        ),
        area="mail",
        scopes=MAIL_SEND_DRAFT,
        write=True,
        destructive=True,
        idempotent=False,
    )
    async def send_draft(
        ctx: Context,
        message_id: Annotated[str, Field(description="the draft's `id` (from create_draft or list_messages folder=drafts)")],
        confirm: Annotated[bool, CONFIRM_FIELD] = False,
    ) -> SentDraft | InputRequiredResult:
        state = state_of(ctx)
        path = f"/me/messages/{path_id(message_id, field='message_id')}"
        gate = ConfirmOnce(ctx, confirmed=confirm)

        async def run() -> SentDraft | InputRequiredResult:
            await state.tokens.get_token(state.settings.graph_resource, MAIL_SEND_DRAFT)
            draft = await state.graph.get_json(path, scopes=MAIL_SEND_DRAFT, params={"$select": _CHECK_FIELDS})
            if draft.get("isDraft") is False:
                raise ToolError("That message is not a draft (it was sent or received); use forward_message instead.")
            people = _everyone(draft)
            if not people:
                raise ToolError("The draft has no recipients; add them in Outlook or make a new draft with `to`.")
            subject = draft.get("subject")
            extra = " with attachments" if draft.get("hasAttachments") else ""
            if (asked := await gate.ask(f"Send the draft \"{subject}\"{extra} to {', '.join(people)}")) is not None:
                return asked
            await state.graph.request("POST", f"{path}/send", scopes=MAIL_SEND_DRAFT, may_duplicate=True)
            return SentDraft(sent=True, id=str(draft.get("id") or message_id), subject=subject, recipients=people,
                             message=f"Sent \"{subject}\" to {', '.join(people)}.")

        return await run_tool(ctx, run, consent_scopes=MAIL_SEND_DRAFT)

    @graph_tool(
        server,
        settings,
        name="forward_message",
        title="Forward an email",
        description=(
            "Forward an email to the given addresses with a plain-text comment above it (its attachments go "
            "along); the user confirms the recipients first."
        ),
        area="mail",
        scopes=MAIL_FORWARD,
        write=True,
        destructive=True,
        idempotent=False,
    )
    async def forward_message(
        ctx: Context,
        message_id: Annotated[str, Field(description="the `id` of the message to forward")],
        to: Annotated[list[str], Field(min_length=1, description="recipient email addresses")],
        comment: Annotated[str, Field(description="text above the forwarded message, plain text")] = "",
        confirm: Annotated[bool, CONFIRM_FIELD] = False,
    ) -> Forwarded | InputRequiredResult:
        state = state_of(ctx)
        to_list = email_addresses(to, field="to")
        if not to_list:
            raise ToolError("`to` needs at least one email address.")
        path = f"/me/messages/{path_id(message_id, field='message_id')}"
        gate = ConfirmOnce(ctx, confirmed=confirm)

        async def run() -> Forwarded | InputRequiredResult:
            await state.tokens.get_token(state.settings.graph_resource, MAIL_FORWARD)
            original = await state.graph.get_json(path, scopes=MAIL_FORWARD, params={"$select": "id,subject,hasAttachments"})
            subject = original.get("subject")
            note = f": {_quoted_preview(comment)}" if comment.strip() else ""
            if (asked := await gate.ask(f"Forward \"{subject}\" to {', '.join(to_list)}{note}")) is not None:
                return asked
            await state.graph.request(
                "POST", f"{path}/forward", scopes=MAIL_FORWARD,
                json_body={"comment": comment, "toRecipients": recipients(to_list)}, may_duplicate=True,
            )
            return Forwarded(forwarded=True, id=str(original.get("id") or message_id), subject=subject, to=to_list,
                             message=f"Forwarded \"{subject}\" to {', '.join(to_list)}.")

        return await run_tool(ctx, run, consent_scopes=MAIL_FORWARD)

    @graph_tool(
        server,
        settings,
        name="move_message",
        title="Move an email to a folder",
        description=(
            "Move an email to another mail folder (a well-known name such as archive, inbox, junkemail, or a "
            "folder id from list_mail_folders); the user confirms first; returns the message's new id."
        ),
        area="mail",
        scopes=MAIL_READ_WRITE,
        write=True,
        idempotent=False,
    )
    async def move_message(
        ctx: Context,
        message_id: Annotated[str, Field(description="the message `id`")],
        destination: Annotated[str, Field(description=f"folder id, or one of {', '.join(WELL_KNOWN_FOLDERS)}")],
        confirm: Annotated[bool, CONFIRM_FIELD] = False,
    ) -> MessageChange | InputRequiredResult:
        state = state_of(ctx)
        target = destination.strip()
        if target.lower() in WELL_KNOWN_FOLDERS:
            target = target.lower()
        if not target:
            raise ToolError("`destination` is empty; pass a folder id or a name such as archive.")
        path = f"/me/messages/{path_id(message_id, field='message_id')}"
        gate = ConfirmOnce(ctx, confirmed=confirm)

        async def run() -> MessageChange | InputRequiredResult:
            await state.tokens.get_token(state.settings.graph_resource, MAIL_READ_WRITE)
            which = await _the_email(state, path)
            folder = "Deleted Items" if target == "deleteditems" else (target if target in WELL_KNOWN_FOLDERS else "the folder " + short_text(target))
            if (asked := await gate.ask(f"Move {which} to {folder}")) is not None:
                return asked
            return await _move(state, message_id, target, "Moved")

        return await run_tool(ctx, run, consent_scopes=MAIL_READ_WRITE)

    @graph_tool(
        server,
        settings,
        name="delete_message",
        title="Delete an email",
        description=(
            "Delete an email by moving it to Deleted Items (it can be restored from there; never a permanent "
            "delete); the user confirms first."
        ),
        area="mail",
        scopes=MAIL_READ_WRITE,
        write=True,
        destructive=True,
        idempotent=False,
    )
    async def delete_message(
        ctx: Context,
        message_id: Annotated[str, Field(description="the message `id`")],
        confirm: Annotated[bool, CONFIRM_FIELD] = False,
    ) -> MessageChange | InputRequiredResult:
        state = state_of(ctx)
        path = f"/me/messages/{path_id(message_id, field='message_id')}"
        gate = ConfirmOnce(ctx, confirmed=confirm)

        async def run() -> MessageChange | InputRequiredResult:
            await state.tokens.get_token(state.settings.graph_resource, MAIL_READ_WRITE)
            if (asked := await gate.ask(f"Move {await _the_email(state, path)} to Deleted Items")) is not None:
                return asked
            return await _move(state, message_id, "deleteditems", "Moved to Deleted Items")

        return await run_tool(ctx, run, consent_scopes=MAIL_READ_WRITE)

    @graph_tool(
        server,
        settings,
        name="update_message",
        title="Mark, flag or categorise an email",
        description=(
            "Change an email's state: mark read or unread, flag / unflag / mark the flag complete, set its "
            "categories or importance; only the given fields change; the user confirms first."
        ),
        area="mail",
        scopes=MAIL_READ_WRITE,
        write=True,
    )
    async def update_message(
        ctx: Context,
        message_id: Annotated[str, Field(description="the message `id`")],
        is_read: Annotated[bool | None, Field(description="true: mark read; false: mark unread")] = None,
        flag: Annotated[Literal["flagged", "notFlagged", "complete"] | None, Field(description="follow-up flag")] = None,
        categories: Annotated[list[str] | None, Field(description="category names (replaces the list; [] clears it)")] = None,
        importance: Annotated[Literal["low", "normal", "high"] | None, Field(description="importance")] = None,
        confirm: Annotated[bool, CONFIRM_FIELD] = False,
    ) -> MessageChange | InputRequiredResult:
        state = state_of(ctx)
        changes: dict[str, Any] = {}
        if is_read is not None:
            changes["isRead"] = is_read
        if flag is not None:
            changes["flag"] = {"flagStatus": flag}
        if categories is not None:
            changes["categories"] = [c.strip() for c in categories if c and c.strip()]
        if importance is not None:
            changes["importance"] = importance
        if not changes:
            raise ToolError("Nothing to change: pass is_read, flag, categories or importance.")
        path = f"/me/messages/{path_id(message_id, field='message_id')}"
        gate = ConfirmOnce(ctx, confirmed=confirm)

        async def run() -> MessageChange | InputRequiredResult:
            await state.tokens.get_token(state.settings.graph_resource, MAIL_READ_WRITE)
            which = await _the_email(state, path)
            if (asked := await gate.ask(f"Change {which}: {_changes_text(changes)}")) is not None:
                return asked
            response = await state.graph.request("PATCH", path, scopes=MAIL_READ_WRITE, json_body=changes)
            item = response.body if isinstance(response.body, dict) else {}
            return MessageChange(
                id=str(item.get("id") or message_id),
                subject=item.get("subject"),
                folder_id=item.get("parentFolderId"),
                is_read=item.get("isRead"),
                flag=(item.get("flag") or {}).get("flagStatus"),
                categories=item.get("categories"),
                importance=item.get("importance"),
                message="Updated " + ", ".join(sorted(changes)) + ".",
            )

        return await run_tool(ctx, run, consent_scopes=MAIL_READ_WRITE)


async def _the_email(state: Any, path: str) -> str:
    """'the email "Subject" from sender', for a question a person checks at a glance."""
    item = await state.graph.get_json(path, scopes=MAIL_READ_WRITE, params={"$select": "id,subject,from"})
    sender = (addresses([item.get("from")]) or [Address()])[0]
    who = f" from {sender.email or sender.name}" if (sender.email or sender.name) else ""
    return f"the email \"{item.get('subject')}\"{who}"


def _changes_text(changes: dict[str, Any]) -> str:
    words = []
    if "isRead" in changes:
        words.append("mark it read" if changes["isRead"] else "mark it unread")
    if "flag" in changes:
        words.append({"flagged": "flag it", "notFlagged": "remove its flag", "complete": "mark its flag complete"}[changes["flag"]["flagStatus"]])
    if "categories" in changes:
        words.append("set its categories to " + (", ".join(changes["categories"]) or "none"))
    if "importance" in changes:
        words.append(f"set its importance to {changes['importance']}")
    return ", ".join(words)


async def _move(state: Any, message_id: str, destination: str, verb: str) -> MessageChange:
    path = f"/me/messages/{path_id(message_id, field='message_id')}/move"
    response = await state.graph.request(
        "POST", path, scopes=MAIL_READ_WRITE, json_body={"destinationId": destination}, may_duplicate=True
    )
    item = response.body if isinstance(response.body, dict) else {}
    return MessageChange(
        id=str(item.get("id") or ""),
        subject=item.get("subject"),
        folder_id=item.get("parentFolderId"),
        is_read=item.get("isRead"),
        message=f"{verb}: \"{item.get('subject')}\" (its id changed; use the new `id`).",
    )
