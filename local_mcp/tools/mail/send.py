"""Sending mail: a new message, or a reply (optionally with files from this computer)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import Field

from .. import consent
from .._common import ConfirmOnce, email_addresses, graph_tool, path_id
from .._runtime import run_tool, state_of
from .attach import MAIL_READ_WRITE, describe, local_attachments, reply_with_attachments, send_with_attachments
from .models import (
    _REPLY_FIELDS,
    ATTACHMENTS_FIELD,
    MAIL_READ,
    MAIL_REPLY,
    MAIL_SEND,
    SentMail,
    SentReply,
    _quoted_preview,
    _unique,
    _who,
    address,
    addresses,
    recipients,
)


def register(server: MCPServer[Any], settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="send_message",
        title="Send an email",
        description=(
            "Send a plain-text email from the user's mailbox to the given addresses; the user confirms the "
            "recipients and subject first."
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
            "confirms who receives it first."
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
