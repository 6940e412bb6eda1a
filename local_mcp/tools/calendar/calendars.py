"""Listing calendars: the user's own and those shared with them.

Graph page: api-reference/v1.0/api/user-list-calendars.md (GET /me/calendars lists the user's
calendars, including calendars other people shared with them and the user accepted;
GET /users/{id | userPrincipalName}/calendars those of a mailbox shared with the user,
with Calendars.Read.Shared).
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import InputRequiredResult
from pydantic import BaseModel, Field

from .._common import CURSOR_FIELD, DEFAULT_LIMIT, LIMIT_FIELD, PageInfo, clamp_limit, fetch_page, graph_tool
from .._runtime import run_tool, state_of
from ..mailboxes import CALENDARS_READ_SHARED, MAILBOX_FIELD, for_mailbox, mailbox_root, scopes_for

CALENDARS_READ = ("Calendars.Read",)
_CALENDAR_FIELDS = "id,name,color,isDefaultCalendar,canEdit,owner"


class CalendarInfo(BaseModel):
    id: str = Field(description="the calendar id")
    name: str | None
    owner: str | None = Field(description="the owner's email address")
    owner_name: str | None = None
    is_default: bool | None = Field(description="the user's own default calendar")
    shared_with_me: bool = Field(description="owned by someone else and shared with the user")
    can_edit: bool | None
    color: str | None = None


class CalendarList(BaseModel):
    calendars: list[CalendarInfo]
    page: PageInfo


def register(server: MCPServer[Any], settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="list_calendars",
        title="List calendars",
        description=(
            "List the user's Outlook calendars, their own and those other people shared with them, with ids, "
            "owners and whether the user can edit them."
        ),
        area="calendar",
        scopes=CALENDARS_READ,
        alternative_scopes=CALENDARS_READ_SHARED,
    )
    async def list_calendars(
        ctx: Context,
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
        mailbox: Annotated[str | None, MAILBOX_FIELD] = None,
    ) -> CalendarList | InputRequiredResult:
        state = state_of(ctx)
        root, scopes = mailbox_root(mailbox), scopes_for(mailbox, CALENDARS_READ, CALENDARS_READ_SHARED)

        async def body() -> CalendarList:
            items, page = await fetch_page(
                state.graph, f"{root}/calendars", scopes=scopes, params={"$select": _CALENDAR_FIELDS},
                cursor=cursor, limit=clamp_limit(limit),
            )
            me = await _my_address(state) if root == "/me" else (mailbox or "").strip().lower()
            return CalendarList(calendars=[_calendar(item, me) for item in items], page=page)

        return await run_tool(ctx, for_mailbox(mailbox, "the calendars", body), consent_scopes=scopes)


async def _my_address(state: Any) -> str | None:
    """The signed-in user's address (from the token cache's account record; no Graph call)."""
    try:
        status = await state.tokens.status()
    except Exception:
        return None
    return (status.username or "").lower() or None


def _calendar(item: dict[str, Any], me: str | None) -> CalendarInfo:
    owner = item.get("owner") if isinstance(item.get("owner"), dict) else {}
    address = (owner or {}).get("address")
    shared = bool(address and me and address.lower() != me and not item.get("isDefaultCalendar"))
    return CalendarInfo(
        id=str(item.get("id", "")),
        name=item.get("name"),
        owner=address,
        owner_name=(owner or {}).get("name"),
        is_default=item.get("isDefaultCalendar"),
        shared_with_me=shared,
        can_edit=item.get("canEdit"),
        color=item.get("color"),
    )
