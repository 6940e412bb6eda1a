"""GET /me/calendars for the emulator (api-reference/v1.0/api/user-list-calendars.md).

The user's own default calendar and one that a colleague shared with them (owner: the
colleague, canEdit false), with msgraph-sdk's calendar property names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from . import data
from .graph import CALENDARS_READ, Call, Route, _route
from .web import Response

if TYPE_CHECKING:
    from .graph import GraphApi


def calendars(api: GraphApi) -> list[dict[str, Any]]:
    user = api.emu.user
    colleague, local = data.PEOPLE[0]
    own = {"id": data._outlook_id("calendar", "default"), "name": "Calendar", "color": "auto",
           "isDefaultCalendar": True, "canEdit": True, "canShare": True, "canViewPrivateItems": True,
           "owner": {"name": user.name, "address": user.email}}
    shared = {"id": data._outlook_id("calendar", "shared-" + local), "name": colleague, "color": "lightGreen",
              "isDefaultCalendar": False, "canEdit": False, "canShare": False, "canViewPrivateItems": False,
              "owner": {"name": colleague, "address": f"{local}@{user.domain}"}}
    return [own, shared]


def routes(api: GraphApi) -> list[Route]:
    def list_calendars(call: Call) -> Response:
        return api._collection(calendars(api), call, "calendar", f"users('{api.emu.user.oid}')/calendars")

    return [_route("GET", "/me/calendars", CALENDARS_READ, list_calendars)]
