"""The azure-core credential that msgraph-sdk asks for tokens: a thin bridge to TokenProvider.

msgraph's authentication provider asks with a fixed scope list; the scopes a
Graph call really needs are set per call by GraphClient in `call_scopes`, so each
tool gets a token with only its own delegated permissions (incremental consent).
"""

from __future__ import annotations

import contextvars
from typing import Any

from ..auth.tokens import TokenProvider

call_scopes: contextvars.ContextVar[tuple[str, ...] | None] = contextvars.ContextVar(
    "local_mcp_graph_call_scopes", default=None
)
# The token GraphClient already acquired for this call: msgraph's pipeline reuses it
# instead of asking again (which, near expiry, would mean a second refresh).
call_token: contextvars.ContextVar[Any] = contextvars.ContextVar("local_mcp_graph_call_token", default=None)


class ProviderCredential:
    """Implements azure-core's AsyncTokenCredential protocol on top of TokenProvider."""

    def __init__(self, tokens: TokenProvider, resource: str) -> None:
        self._tokens = tokens
        self._resource = resource

    async def get_token(
        self,
        *scopes: str,
        claims: str | None = None,
        tenant_id: str | None = None,
        enable_cae: bool = False,
        **kwargs: Any,
    ) -> Any:
        from azure.core.credentials import AccessToken

        held = call_token.get()
        if held is not None and not claims:
            return AccessToken(held.token, int(held.expires_on))
        wanted = call_scopes.get()
        if wanted is None:  # not called through GraphClient: use what msgraph asked for
            wanted = tuple(s for s in scopes if not s.endswith("/.default"))
        token = await self._tokens.get_token(self._resource, wanted, claims=claims or None)
        return AccessToken(token.token, int(token.expires_on))

    async def close(self) -> None:
        return None

    async def __aenter__(self) -> ProviderCredential:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        return None
