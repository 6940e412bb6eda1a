"""Teams chats: list them, read their messages, send one (confirmed by the person first).

Graph docs (microsoft-graph-docs-contrib, api-reference/v1.0/api/):
- chat-list.md: GET /me/chats, `$expand` members and lastMessagePreview, `$top` at most 50, `$orderby`
  only `lastMessagePreview/createdDateTime desc` (the most recent chats first), `$filter` on chatType.
- chat-list-messages.md: GET /chats/{id}/messages (Chat.Read), newest first, `$top` at most 50.
- chat-get.md: GET /chats/{id}?$expand=members, to show the person who will read the message.
- chat-post-messages.md: POST /chats/{id}/messages (ChatMessage.Send), {"body": {"contentType", "content"}}.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import BaseModel, Field

from .. import consent
from .._common import CURSOR_FIELD, DEFAULT_LIMIT, LIMIT_FIELD, ConfirmOnce, PageInfo, clamp_limit, fetch_page, graph_tool, iso_utc, path_id
from .._runtime import run_tool, state_of
from .models import (
    CHAT_ID_FIELD,
    CHAT_READ,
    CHAT_SEND,
    CONFIRM_FIELD,
    TEXT_FIELD,
    SentTeamsMessage,
    TeamsMessage,
    message_of,
    preview,
)

SEND_SCOPES = CHAT_SEND + CHAT_READ  # the chat is read (members) to show the person who gets the message


class Chat(BaseModel):
    id: str
    name: str = Field(description="the topic, or the other members' names")
    kind: str = Field(description="oneOnOne, group or meeting")
    members: list[str] = Field(default_factory=list)
    last_message: str | None = Field(default=None, description="sender: start of the latest message")
    last_activity: str | None = Field(default=None, description="ISO 8601 UTC")
    web_url: str | None = None


class ChatList(BaseModel):
    chats: list[Chat]
    page: PageInfo


class ChatMessages(BaseModel):
    chat_id: str
    messages: list[TeamsMessage] = Field(description="newest first")
    page: PageInfo


def _member_names(chat: dict[str, Any], me: str | None) -> list[str]:
    names = []
    for member in chat.get("members") or ():
        if not isinstance(member, dict):
            continue
        if me and str(member.get("email") or "").lower() == me.lower():
            continue
        names.append(str(member.get("displayName") or member.get("email") or "someone"))
    return names


def chat_of(item: dict[str, Any], me: str | None) -> Chat:
    members = _member_names(item, me)
    last = item.get("lastMessagePreview") if isinstance(item.get("lastMessagePreview"), dict) else None
    line = None
    if last:
        shown = message_of(last)
        line = f"{shown.sender}: {preview(shown.text, 120)}" if shown.sender else preview(shown.text, 120)
    return Chat(
        id=str(item.get("id", "")),
        name=str(item.get("topic") or ", ".join(members) or "(unnamed chat)"),
        kind=str(item.get("chatType") or "group"),
        members=members,
        last_message=line,
        last_activity=iso_utc((last or {}).get("createdDateTime") or item.get("lastUpdatedDateTime")),
        web_url=item.get("webUrl"),
    )


async def signed_in_as(ctx: Context) -> str | None:
    """The signed-in user's address, to leave them out of member lists (None when unknown)."""
    try:
        status = await state_of(ctx).tokens.status()
    except Exception:
        return None
    return getattr(status, "username", None)


def chat_path(chat_id: str) -> str:
    return f"/chats/{path_id(chat_id, field='chat_id')}"


def register(server: MCPServer[Any], settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="list_chats",
        title="List Teams chats",
        description="List your Microsoft Teams chats (one-on-one, group, meeting), most recent first, with members and the latest message.",
        area="teams",
        scopes=CHAT_READ,
    )
    async def list_chats(
        ctx: Context,
        kind: Annotated[Literal["oneOnOne", "group", "meeting"] | None, Field(description="only this kind of chat")] = None,
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
    ) -> ChatList | InputRequiredResult:
        state = state_of(ctx)
        params = {"$expand": "members,lastMessagePreview", "$orderby": "lastMessagePreview/createdDateTime desc"}
        if kind:
            params["$filter"] = f"chatType eq '{kind}'"

        async def body() -> ChatList:
            items, page = await fetch_page(state.graph, "/me/chats", scopes=CHAT_READ, params=params, cursor=cursor, limit=clamp_limit(limit))
            me = await signed_in_as(ctx)
            return ChatList(chats=[chat_of(i, me) for i in items], page=page)

        return await run_tool(ctx, body, consent_scopes=CHAT_READ)

    @graph_tool(
        server,
        settings,
        name="list_chat_messages",
        title="Read a Teams chat",
        description="Read the messages of a Microsoft Teams chat (id from list_chats), newest first, as plain text with mentions as @Name.",
        area="teams",
        scopes=CHAT_READ,
    )
    async def list_chat_messages(
        ctx: Context,
        chat_id: Annotated[str, CHAT_ID_FIELD],
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
    ) -> ChatMessages | InputRequiredResult:
        state = state_of(ctx)
        path = chat_path(chat_id) + "/messages"

        async def body() -> ChatMessages:
            items, page = await fetch_page(state.graph, path, scopes=CHAT_READ, params={}, cursor=cursor, limit=clamp_limit(limit))
            return ChatMessages(chat_id=chat_id.strip(), messages=[message_of(i) for i in items], page=page)

        return await run_tool(ctx, body, consent_scopes=CHAT_READ)

    @graph_tool(
        server,
        settings,
        name="send_chat_message",
        title="Send a Teams chat message",
        description=(
            "Send a plain-text message to an existing Microsoft Teams chat (id from list_chats); the user sees who "
            "will read it and confirms first unless confirm=true (only after the user agreed)."
        ),
        area="teams",
        scopes=SEND_SCOPES,
        write=True,
        destructive=True,  # it reaches other people and cannot be taken back here
        idempotent=False,
    )
    async def send_chat_message(
        ctx: Context,
        chat_id: Annotated[str, CHAT_ID_FIELD],
        text: Annotated[str, TEXT_FIELD],
        confirm: Annotated[bool, CONFIRM_FIELD] = False,
    ) -> SentTeamsMessage | InputRequiredResult:
        state = state_of(ctx)
        if not text.strip():
            raise ToolError("`text` must not be empty.")
        path = chat_path(chat_id)
        gate = ConfirmOnce(ctx, confirmed=confirm)

        async def run() -> SentTeamsMessage | InputRequiredResult:
            await state.tokens.get_token(state.settings.graph_resource, SEND_SCOPES)  # sign in before asking
            raw = await state.graph.get_json(path, scopes=CHAT_READ, params={"$expand": "members"})
            me = await signed_in_as(ctx)
            chat = chat_of(raw, me)
            emails = [str(m["email"]) for m in raw.get("members") or () if isinstance(m, dict) and m.get("email")
                      and str(m["email"]).lower() != (me or "").lower()]
            home = await consent.home_domain(ctx)
            details = {
                "Chat": f"{chat.name} ({chat.kind})",
                "Read by": consent.recipients_line(emails, home) if emails else ", ".join(chat.members) or "the chat's members",
                "Size": consent.size_text(len(text.encode("utf-8"))),
            }
            if (asked := await gate.ask(f"Send a Teams message to {chat.name}: \"{preview(text)}\"", details)) is not None:
                return asked
            payload = {"body": {"contentType": "text", "content": text}}
            response = await state.graph.request("POST", path + "/messages", scopes=CHAT_SEND, json_body=payload, may_duplicate=True)
            made = response.body if isinstance(response.body, dict) else {}
            return SentTeamsMessage(sent=True, id=str(made.get("id", "")), to=chat.name, web_url=made.get("webUrl") or chat.web_url,
                                    message=f"Sent the message to {chat.name}.")

        return await run_tool(ctx, run, consent_scopes=SEND_SCOPES)


__all__ = ["Chat", "ChatList", "ChatMessages", "chat_of", "register"]
