"""Mail shapes: scopes, the fields asked of Graph, result models and their rendering from Graph JSON."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from .._common import PageInfo, iso_utc
from ..plain_text import body_text

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

    def resource_links(self) -> list[Any]:
        from .._download import saved_file_link

        return [saved_file_link(self.path, size=self.size, mime_type=self.content_type, description="an email attachment, saved")]


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


