"""What Microsoft Graph does not offer personal Microsoft accounts (outlook.com, hotmail.com, live.com).

Graph documents these as unsupported for Microsoft accounts: `getSchedule` (so find_free_time),
message search in the Microsoft Search API, and a user's `/manager`. A tool that needs one says so
up front instead of passing on a puzzling error.

A personal account is recognised by its tenant, 9188040d-6c67-4c5b-b112-36a304b66dad: the `tid`
of the access token when it is a JWT (Microsoft-account tokens are often opaque), else the home
tenant of the signed-in account; an authority of `consumers` (or that tenant) admits nothing else.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from mcp.server.mcpserver.exceptions import ToolError

MSA_TENANT = "9188040d-6c67-4c5b-b112-36a304b66dad"
PERSONAL_HINT = "personal Microsoft accounts (outlook.com, hotmail.com, live.com)"


def token_tenant(token: str) -> str | None:
    """The `tid` claim of a JWT access token (read, not verified), or None for an opaque token."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except ValueError:
        return None
    tid = payload.get("tid") if isinstance(payload, dict) else None
    return str(tid) if tid else None


async def is_personal_account(state: Any, scopes: Sequence[str]) -> bool:
    """Is the signed-in account a personal Microsoft account? (Signs in if needed, like the tool would.)"""
    access = await state.tokens.get_token(state.settings.graph_resource, scopes)
    segments = [s for s in urlsplit(state.settings.authority).path.split("/") if s]
    if segments and segments[0].lower() in (MSA_TENANT, "consumers"):  # only Microsoft accounts sign in there
        return True
    tenant = token_tenant(getattr(access, "token", "") or "")
    if tenant is None:
        home = getattr(state.tokens, "home_tenant", None)
        tenant = await home() if home is not None else None
    return (tenant or "").lower() == MSA_TENANT


async def refuse_for_personal_account(state: Any, scopes: Sequence[str], *, what: str, instead: str) -> None:
    """ToolError when the account is personal: `what` is not offered there; `instead` is the next step."""
    if await is_personal_account(state, scopes):
        raise ToolError(f"{what} is not available for {PERSONAL_HINT}: Microsoft Graph does not support it for them. {instead}")
