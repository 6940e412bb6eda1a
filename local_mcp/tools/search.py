"""Search across Microsoft 365 with the Microsoft Search API (POST /search/query).

One entity type per call: Graph cannot interleave messages, events and files in one
request, and each type needs its own permission (Mail.Read, Calendars.Read,
Files.Read.All), so a call asks only for the one its type needs. Graph pages with
from/size; the offset travels in our opaque cursor together with the query it belongs to.
"""

from __future__ import annotations

import html
import re
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import BaseModel, Field

from ._common import CURSOR_FIELD, DEFAULT_LIMIT, LIMIT_BOUNDS, PageInfo, clamp_limit, graph_tool, iso_utc
from .plain_text import truncate
from ._runtime import run_tool, state_of
from . import cursors
from .personal import refuse_for_personal_account

EntityType = Literal["message", "event", "driveItem"]

SCOPES: dict[str, tuple[str, ...]] = {
    "message": ("Mail.Read",),
    "event": ("Calendars.Read",),
    "driveItem": ("Files.Read.All",),
}
# Graph's page size limit for mail and calendar search is 25; files allow more than our cap.
PAGE_LIMIT = {"message": 25, "event": 25, "driveItem": 50}
MAX_SUMMARY_CHARS = 500

_HIGHLIGHT = re.compile(r"</?c\d+>", re.IGNORECASE)
_ELLIPSIS = re.compile(r"<ddd\s*/>", re.IGNORECASE)


class SearchHit(BaseModel):
    type: EntityType
    id: str
    title: str | None = Field(description="a message's or event's subject, a file's name")
    summary: str | None = Field(default=None, description="the matching passage, as Graph summarises it")
    date: str | None = Field(default=None, description="received (message), start (event) or last modified (file); ISO 8601 UTC")
    person: str | None = Field(default=None, description="sender (message), organizer (event) or last editor (file)")
    web_url: str | None = None
    size: int | None = Field(default=None, description="bytes (files only)")
    drive_id: str | None = Field(
        default=None, description="files only: the drive holding it (yours, a colleague's OneDrive or SharePoint); "
        "pass it with `id` as get_file / download_file's drive_id and item_id"
    )


class SearchResult(BaseModel):
    query: str
    entity_type: EntityType
    total: int | None = Field(default=None, description="Graph's estimate of all matches (events, files); null for "
                              "messages, where Graph counts only the hits on the page")
    total_note: str | None = Field(default=None, description="why `total` is missing, when it is")
    hits: list[SearchHit]
    page: PageInfo


def encode_search_cursor(entity_type: str, query: str, offset: int) -> str:
    """The offset of the next page, signed (cursors.py) for this tool, entity type and query."""
    cursor = cursors.sign(f"/search/query?from={offset}", cursors.binding("/search/query", {"t": entity_type, "q": query}))
    return cursor or ""


def decode_search_cursor(cursor: str, entity_type: str, query: str) -> int:
    try:
        relative = cursors.verify(cursor, cursors.binding("/search/query", {"t": entity_type, "q": query}))
    except cursors.CursorMismatch:
        raise ToolError(
            "This cursor belongs to another search (or was changed); pass the same `query` and `entity_type`, "
            "or no cursor."
        ) from None
    try:
        offset = int(relative.rpartition("from=")[2])
    except ValueError:
        raise ToolError("The cursor is not valid; call search again without `cursor` to start over.") from None
    return offset


def clean_summary(text: str | None) -> str | None:
    if not text:
        return None
    plain = html.unescape(_ELLIPSIS.sub(" … ", _HIGHLIGHT.sub("", text)))
    plain = re.sub(r"\s+", " ", plain).strip()
    return truncate(plain, MAX_SUMMARY_CHARS)[0] or None


def _name_of(value: Any) -> str | None:
    if not isinstance(value, dict):
        return None
    if isinstance(email := value.get("emailAddress"), dict):
        return email.get("name") or email.get("address")
    who = found if isinstance(found := value.get("user"), dict) else {}
    return who.get("displayName") or who.get("email")


def hit(entity_type: str, item: dict[str, Any]) -> SearchHit:
    resource = found if isinstance(found := item.get("resource"), dict) else {}
    hit_id = str(resource.get("id") or item.get("hitId") or "")
    summary = clean_summary(item.get("summary"))
    if entity_type == "message":
        return SearchHit(
            type="message", id=hit_id, title=resource.get("subject"),
            summary=summary or clean_summary(resource.get("bodyPreview")),
            date=iso_utc(resource.get("receivedDateTime") or resource.get("sentDateTime")),
            person=_name_of(resource.get("from") or resource.get("sender")), web_url=resource.get("webLink"),
        )
    if entity_type == "event":
        return SearchHit(
            type="event", id=hit_id, title=resource.get("subject"),
            summary=summary or clean_summary(resource.get("bodyPreview")),
            date=iso_utc(resource.get("start")), person=_name_of(resource.get("organizer")),
            web_url=resource.get("webLink"),
        )
    # A file hit's hitId is not a driveItem id (Graph docs, *Search OneDrive and SharePoint content*):
    # only the resource's own id, with its drive, opens the file.
    parent = found if isinstance(found := resource.get("parentReference"), dict) else {}
    return SearchHit(
        type="driveItem", id=str(resource.get("id") or ""), drive_id=parent.get("driveId"),
        title=resource.get("name"), summary=summary,
        date=iso_utc(resource.get("lastModifiedDateTime")),
        person=_name_of(resource.get("lastModifiedBy") or resource.get("createdBy")),
        web_url=resource.get("webUrl"), size=resource.get("size"),
    )


def register(server: MCPServer[Any], settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="search",
        title="Search Microsoft 365",
        description=(
            "Search the signed-in user's Microsoft 365 with Microsoft Search, one kind at a time: email messages "
            "(entity_type=message), calendar events (event) or OneDrive/SharePoint files (driveItem)."
        ),
        area="search",
        scopes=tuple(s for scopes in SCOPES.values() for s in scopes),
    )
    async def search(
        ctx: Context,
        query: Annotated[str, Field(min_length=1, description="what to look for; KQL such as from:megan or filetype:docx works")],
        entity_type: Annotated[
            EntityType, Field(description='what to search: "message" (mail), "event" (calendar) or "driveItem" (files)')
        ] = "message",
        limit: Annotated[
            int, Field(json_schema_extra=LIMIT_BOUNDS, description=f"hits per page (default {DEFAULT_LIMIT}; at most 25 for mail and events, 50 for files)")
        ] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
    ) -> SearchResult | InputRequiredResult:
        state = state_of(ctx)
        words = query.strip()
        if not words:
            raise ToolError("`query` must not be empty.")
        if entity_type not in SCOPES:
            raise ToolError('`entity_type` must be "message", "event" or "driveItem".')
        scopes = SCOPES[entity_type]
        size = clamp_limit(limit, maximum=PAGE_LIMIT[entity_type])
        offset = decode_search_cursor(cursor, entity_type, words) if cursor else 0
        request = {"entityTypes": [entity_type], "query": {"queryString": words}, "from": offset, "size": size}

        async def body() -> SearchResult:
            if entity_type == "message":
                await refuse_for_personal_account(
                    state, scopes, what="Microsoft Search over mail",
                    instead="Use list_messages (with sender or since) to find the messages instead.",
                )
            response = await state.graph.request("POST", "/search/query", scopes=scopes, json_body={"requests": [request]})
            payload = response.body if isinstance(response.body, dict) else {}
            containers = [c for r in payload.get("value") or [] for c in (r.get("hitsContainers") or [])]
            found = [h for c in containers for h in (c.get("hits") or []) if isinstance(h, dict)][:size]
            total = next((c.get("total") for c in containers if isinstance(c.get("total"), int)), None)
            note = None
            if entity_type == "message":  # documented: for messages `total` is the count on the page
                total, note = None, "Microsoft Search does not count all matching messages, only those on this page; use `page.has_more`."
            more = any(c.get("moreResultsAvailable") for c in containers) and bool(found)
            page = PageInfo(has_more=more, cursor=encode_search_cursor(entity_type, words, offset + len(found)) if more else None)
            return SearchResult(
                query=words, entity_type=entity_type, total=total, total_note=note,
                hits=[hit(entity_type, h) for h in found], page=page
            )

        return await run_tool(ctx, body, consent_scopes=scopes)
