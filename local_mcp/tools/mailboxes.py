"""Whose mailbox or calendar a read tool looks at: yours (/me) or one shared with you (/users/{mailbox}).

Graph reaches a mailbox or calendar someone shared with the user (or a shared mailbox the user
has rights on) at /users/{id | userPrincipalName}/..., with the delegated `*.Shared` permissions
(Graph permissions reference: Mail.Read.Shared, Calendars.Read.Shared). Those are asked for only
when a call names a mailbox, never up front.

The value comes from the model and becomes one URL path segment, so it must be a plain UPN
(an email-like name) or an object id (a GUID): nothing that could add segments or a query
('/', '?', '#', '%', '\\'), and no '.' / '..'.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from typing import TypeVar
from urllib.parse import quote

from mcp.server.mcpserver.exceptions import ToolError
from pydantic import Field

from ..errors import GraphError
from ._common import short_text

T = TypeVar("T")

MAIL_READ_SHARED = ("Mail.Read.Shared",)
CALENDARS_READ_SHARED = ("Calendars.Read.Shared",)

_UPN = re.compile(r"^[A-Za-z0-9!$&'*+=^_`{|}~-]+(?:\.[A-Za-z0-9!$&'*+=^_`{|}~-]+)*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+$")
_GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
MAX_MAILBOX_CHARS = 320

MAILBOX_FIELD = Field(  # short: six tools repeat it in tools/list
    description="a shared or colleague's mailbox (email or user id); default: yours"
)


def mailbox_root(mailbox: str | None) -> str:
    """"/me", or "/users/{mailbox}" for a valid UPN or object id (else a ToolError saying what to pass)."""
    if mailbox is None or not mailbox.strip():
        return "/me"
    value = mailbox.strip()
    if len(value) <= MAX_MAILBOX_CHARS and (_UPN.fullmatch(value) or _GUID.fullmatch(value)):
        return "/users/" + quote(value, safe="@")
    raise ToolError(
        f"`mailbox` {short_text(value)!r} is not a mailbox: pass its email address (e.g. sales@contoso.com) "
        "or its user id (a GUID), or leave it out for your own."
    )


def scopes_for(mailbox: str | None, own: tuple[str, ...], shared: tuple[str, ...]) -> tuple[str, ...]:
    """The scopes a call needs: `own` for your mailbox, `shared` for someone else's."""
    return own if mailbox_root(mailbox) == "/me" else shared


def for_mailbox(mailbox: str | None, what: str, operation: Callable[[], Awaitable[T]]) -> Callable[[], Awaitable[T]]:
    """`operation`, with a 403 on someone else's mailbox explained: the scope is there, the rights are not.

    Graph answers 403 ErrorAccessDenied both without the *.Shared scope and without rights on the
    mailbox (permissions reference: the *.Shared permissions reach only what the signed-in user can
    reach). run_tool asks for the scope first when the token lacks it; this says what to do after that.
    """
    if mailbox_root(mailbox) == "/me":
        return operation

    async def guarded() -> T:
        try:
            return await operation()
        except GraphError as exc:
            if exc.status != 403:
                raise
            shown = short_text((mailbox or "").strip(), 80)
            text = (
                f"Microsoft Graph refused to read {what} of {shown} (403{', ' + exc.code if exc.code else ''}). "
                f"The signed-in account has no access to that mailbox: its owner (or, for a shared mailbox, an "
                f"Exchange administrator) must give you rights on it (Full Access or Read permission, or share the "
                f"calendar or folder with you); then try again. Check the address too."
            ) + (f" [request-id {exc.request_id}]" if exc.request_id else "")
            raise GraphError(text, status=exc.status, code=exc.code, request_id=exc.request_id) from exc

    return guarded
