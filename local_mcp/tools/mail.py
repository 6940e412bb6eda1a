"""Mail tools (Outlook through Microsoft Graph)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import InputRequiredResult
from pydantic import BaseModel, Field

from ._common import (
    DEFAULT_LIMIT,
    PageInfo,
    clamp_limit,
    fetch_page,
    graph_datetime,
    graph_tool,
    iso_utc,
    odata_quote,
    parse_when,
)
from ._runtime import run_tool, state_of

MAIL_READ = ("Mail.Read",)
_LIST_FIELDS = "id,subject,from,receivedDateTime,isRead,hasAttachments,bodyPreview,webLink"


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


def address(value: Any) -> Address | None:
    email = (value or {}).get("emailAddress") if isinstance(value, dict) else None
    if not email:
        return None
    return Address(name=email.get("name"), email=email.get("address"))


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
            str | None, Field(description="well-known folder name (inbox, sentitems, drafts, archive, deleteditems) or a folder id; default: all mail")
        ] = None,
        unread_only: Annotated[bool, Field(description="only unread messages")] = False,
        sender: Annotated[str | None, Field(description="only messages from this email address")] = None,
        since: Annotated[str | None, Field(description="only messages received at or after this ISO 8601 date/time")] = None,
        limit: Annotated[int, Field(ge=1, description=f"messages per page (default {DEFAULT_LIMIT}, at most 50)")] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, Field(description="`page.cursor` from a previous call, for the next page")] = None,
    ) -> MessageList | InputRequiredResult:
        state = state_of(ctx)
        filters = []
        if unread_only:
            filters.append("isRead eq false")
        if sender:
            filters.append(f"from/emailAddress/address eq {odata_quote(sender.strip())}")
        if since:
            filters.append(f"receivedDateTime ge {graph_datetime(parse_when(since, field='since'))}")
        params: dict[str, Any] = {"$select": _LIST_FIELDS, "$orderby": "receivedDateTime desc"}
        if filters:
            params["$filter"] = " and ".join(filters)
        path = f"/me/mailFolders/{folder.strip()}/messages" if folder else "/me/messages"

        async def body() -> MessageList:
            items, page = await fetch_page(
                state.graph, path, scopes=MAIL_READ, params=params, cursor=cursor, limit=clamp_limit(limit)
            )
            return MessageList(messages=[summary(item) for item in items], page=page)

        return await run_tool(ctx, body, consent_scopes=MAIL_READ)
