"""What the Teams tools share: scopes, result models, message text (HTML stripped, mentions named), paging.

Graph docs (microsoft-graph-docs-contrib, api-reference/v1.0/):
- resources/chatmessage.md: `body` is an itemBody (text or html); a mention is `<at id="N">…</at>` in the
  body with the matching `mentions[N]` entry ({id, mentionText, mentioned: {user|application|…}});
  an attachment is `<attachment id="…"></attachment>` with its `attachments` entry; a system event has
  an `eventDetail` (an `…EventMessageDetail` type) and the body `<systemEventMessage/>`.
- user-list-joinedteams.md and channel-list.md take no `$top`: those lists come whole, and are paged here.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel, Field

from .. import cursors
from .._common import PageInfo, iso_utc
from ..plain_text import html_to_text, truncate

CHAT_READ = ("Chat.Read",)
CHAT_SEND = ("ChatMessage.Send",)
TEAMS_READ = ("Team.ReadBasic.All",)
CHANNELS_READ = ("Channel.ReadBasic.All",)
CHANNEL_MESSAGES_READ = ("ChannelMessage.Read.All",)  # admin consent only
CHANNEL_SEND = ("ChannelMessage.Send",)

CONFIRM_FIELD = Field(description="for clients that cannot ask the user: true only when the user agreed to exactly this")
CHAT_ID_FIELD = Field(description="the chat's `id` from list_chats")
TEAM_ID_FIELD = Field(description="the team's `id` from list_teams")
CHANNEL_ID_FIELD = Field(description="the channel's `id` from list_channels")
TEXT_FIELD = Field(min_length=1, description="the message, plain text")

_MENTION = re.compile(r"<at\b[^>]*?\bid=[\"']?(\d+)[\"']?[^>]*>(.*?)</at>", re.I | re.S)
_ATTACHMENT = re.compile(r"<attachment\b[^>]*?\bid=[\"']?([^\"'\s>]+)[\"']?[^>]*>\s*</attachment>", re.I)
_EVENT_TYPE = re.compile(r"([A-Z]?[a-z]+|[A-Z]+(?![a-z]))")


class TeamsMessage(BaseModel):
    id: str
    sent: str | None = Field(default=None, description="ISO 8601 UTC")
    sender: str | None = None
    text: str = Field(description="the message as plain text; mentions as @Name")
    subject: str | None = None
    mentions: list[str] = Field(default_factory=list, description="names of the people mentioned")
    attachments: list[str] = Field(default_factory=list)
    kind: str = Field(default="message", description="message, or event (someone joined, the chat was renamed …)")
    edited: bool = False


class SentTeamsMessage(BaseModel):
    sent: bool
    id: str
    to: str = Field(description="the chat, or the team and channel")
    web_url: str | None = None
    message: str


def person_name(identity: Any) -> str | None:
    """The display name in an identitySet ({user|application|device|conversation: {displayName}})."""
    if not isinstance(identity, Mapping):
        return None
    for key in ("user", "application", "device", "conversation"):
        entry = identity.get(key)
        if isinstance(entry, Mapping) and entry.get("displayName"):
            return str(entry["displayName"])
    return None


def _event_text(detail: Mapping[str, Any]) -> str:
    """"#microsoft.graph.membersAddedEventMessageDetail" -> "(event: members added)"."""
    kind = str(detail.get("@odata.type") or "").rpartition(".")[2].removesuffix("EventMessageDetail")
    words = " ".join(w.lower() for w in _EVENT_TYPE.findall(kind)) or "system event"
    who = person_name(detail.get("initiator"))
    return f"(event: {words}{' by ' + who if who else ''})"


def message_of(item: Mapping[str, Any]) -> TeamsMessage:
    """A chatMessage as text: HTML stripped, each <at> mention as @Name, attachments by name."""
    mentions: dict[str, str] = {}
    for entry in item.get("mentions") or ():
        if isinstance(entry, Mapping):
            name = person_name(entry.get("mentioned")) or str(entry.get("mentionText") or "")
            mentions[str(entry.get("id"))] = name
    attachments = {str(a.get("id")): str(a.get("name") or a.get("contentType") or "attachment")
                   for a in item.get("attachments") or () if isinstance(a, Mapping)}
    raw_body = item.get("body")
    body: Mapping[str, Any] = raw_body if isinstance(raw_body, Mapping) else {}
    content = str(body.get("content") or "")
    detail = item.get("eventDetail")
    if isinstance(detail, Mapping) and detail:
        text, kind = _event_text(detail), "event"
    elif item.get("deletedDateTime"):
        text, kind = "(deleted)", "message"
    elif str(body.get("contentType") or "").lower() == "html":
        marked = _MENTION.sub(lambda m: "@" + html.escape(mentions.get(m[1]) or html_to_text(m[2])), content)
        marked = _ATTACHMENT.sub(lambda m: f" [attachment: {html.escape(attachments.get(m[1], 'attachment'))}] ", marked)
        text, kind = html_to_text(marked), "message"
    else:
        text, kind = content.strip(), "message"
    return TeamsMessage(
        id=str(item.get("id", "")),
        sent=iso_utc(item.get("createdDateTime")),
        sender=person_name(item.get("from")),
        text=truncate(text)[0],
        subject=item.get("subject") or None,
        mentions=[n for n in dict.fromkeys(mentions.values()) if n],
        attachments=list(attachments.values()),
        kind=kind,
        edited=bool(item.get("lastEditedDateTime")),
    )


def preview(text: str, keep: int = 200) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= keep else one_line[:keep] + "…"


# ----- lists Graph sends whole (joinedTeams, channels): paged here -------------------------------------


def offset_page(items: Sequence[Any], path: str, *, cursor: str | None, limit: int) -> tuple[list[Any], PageInfo]:
    """`limit` items from the offset a cursor of this tool and `path` carries (signed like Graph's links)."""
    bound = cursors.binding(path, None)
    start = 0
    if cursor:
        relative = cursors.verify(cursor, bound)
        _, _, offset = relative.partition("?offset=")
        start = int(offset) if offset.isdigit() else 0
    page = list(items[start:start + limit])
    more = start + limit < len(items)
    next_cursor = cursors.sign(f"{path}?offset={start + limit}", bound) if more else None
    return page, PageInfo(has_more=more, cursor=next_cursor)
