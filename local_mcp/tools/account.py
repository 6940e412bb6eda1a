"""Account tools: whoami, sign_in, sign_out, auth_status, list_accounts, switch_account."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult, ToolAnnotations
from pydantic import BaseModel, Field

from ..errors import AuthError
from ._common import graph_tool, local_tool
from ._runtime import run_tool, state_of

USER_READ = ("User.Read",)
_PROFILE_FIELDS = "id,displayName,mail,userPrincipalName,jobTitle"


class Profile(BaseModel):
    greeting: str = Field(description='"Hello, <name> (<email>)"')
    display_name: str | None
    email: str | None = Field(description="mail, or the user principal name when there is no mailbox")
    user_principal_name: str | None
    id: str
    job_title: str | None = None


class SignInResult(BaseModel):
    username: str | None
    granted_scopes: list[str] = Field(description="Graph scopes granted to this app so far")
    message: str


class AccountInfo(BaseModel):
    username: str
    home_account_id: str = Field(description="MSAL's account id (<object id>.<tenant id>); switch_account accepts it")
    tenant_id: str
    kind: str = Field(description='"work or school", or "personal" (a Microsoft account such as outlook.com)')
    active: bool = Field(description="the account the next calls use")
    granted_scopes: list[str] = Field(description="Graph scopes granted to this account so far")


class AccountList(BaseModel):
    accounts: list[AccountInfo]
    active: str | None = Field(description="username of the active account")
    message: str


class SwitchResult(BaseModel):
    account: AccountInfo
    ready: bool = Field(description="a token for it came silently from the cache; false: the next call asks to sign in")
    message: str


class SignOutResult(BaseModel):
    signed_out: bool
    usernames: list[str]
    message: str


class CacheStatus(BaseModel):
    backend: str | None = Field(description="where the tokens are kept: dpapi, keychain, libsecret, secretstorage or plaintext")
    location: str | None = Field(default=None, description="the file, or the keyring item and collection, holding the tokens")
    path: str | None = Field(description="the cache file; with a keyring backend, the empty signal file next to the lock")
    encrypted: bool | None
    problem: str | None = Field(default=None, description="why the cache cannot be used, and how to fix it")
    notice: str | None = Field(default=None, description="e.g. a corrupt cache was set aside and a new sign-in is needed")


class AuthStatusResult(BaseModel):
    signed_in: bool
    username: str | None
    authority: str
    graph_url: str
    auth_mode: str = Field(description="configured mode: auto, broker, browser or device_code")
    effective_auth_mode: str = Field(description="the flow a sign-in would use now")
    cache: CacheStatus
    granted_scopes: dict[str, list[str]] = Field(description="resource -> scopes granted so far")
    account_kind: str | None = Field(default=None, description='the active account: "work or school" or "personal"')
    tenant_id: str | None = Field(default=None, description="the active account's home tenant")
    accounts_remembered: int = Field(default=0, description="how many accounts are signed in (see list_accounts)")
    sign_in_pending_at: str | None = Field(
        default=None, description="verification URL of a device-code sign-in waiting for the user"
    )


def register(server: MCPServer, settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="whoami",
        title="Who am I",
        description="Show the signed-in Microsoft 365 user's profile (name, email, id) and greet them; signs in if needed.",
        area="account",
        scopes=USER_READ,
    )
    async def whoami(ctx: Context) -> Profile | InputRequiredResult:
        async def body() -> Profile:
            me = await state_of(ctx).graph.get_json("/me", scopes=USER_READ, params={"$select": _PROFILE_FIELDS})
            name = me.get("displayName") or me.get("userPrincipalName") or "there"
            email = me.get("mail") or me.get("userPrincipalName")
            return Profile(
                greeting=f"Hello, {name} ({email})" if email else f"Hello, {name}",
                display_name=me.get("displayName"),
                email=email,
                user_principal_name=me.get("userPrincipalName"),
                id=str(me.get("id", "")),
                job_title=me.get("jobTitle"),
            )

        return await run_tool(ctx, body, consent_scopes=USER_READ)

    @local_tool(
        server,
        settings,
        name="sign_in",
        title="Sign in",
        description=(
            "Sign in to Microsoft 365 now, or consent to more Graph permissions (scopes such as "
            '"Mail.Read"); add=true adds another account (work, personal, other tenant), which the user picks '
            "and which becomes the active one."
        ),
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True),
    )
    async def sign_in(
        ctx: Context,
        scopes: Annotated[
            list[str] | None,
            Field(description='Delegated Microsoft Graph scopes to consent to, e.g. ["Mail.Read"]; default ["User.Read"]'),
        ] = None,
        force: Annotated[bool, Field(description="same as add: sign in another account, keeping the others")] = False,
        add: Annotated[bool, Field(description="add another account (no cached sign-in, the user picks one)")] = False,
    ) -> SignInResult | InputRequiredResult:
        state = state_of(ctx)
        wanted = [s.strip() for s in (scopes or list(USER_READ)) if s and s.strip()] or list(USER_READ)
        if not state.settings.allow_writes:
            from .graph_request import is_write_scope

            writing = [scope for scope in wanted if is_write_scope(scope)]
            if writing:  # read-only mode never asks for, or caches, a permission to send or change
                raise ToolError(
                    f"{writing[0]} is a write permission, and writes are off, so local-mcp never asks for it. The user "
                    "can allow writes by starting local-mcp with LOCAL_MCP_ALLOW_WRITES=1."
                )

        async def body() -> SignInResult:
            await state.tokens.sign_in(state.settings.graph_resource, wanted, add=add or force)
            status = await state.tokens.status()
            granted = status.granted_scopes.get(state.settings.graph_resource, [])
            message = f"Signed in as {status.username}." if status.username else "Signed in."
            if status.account_count > 1:
                message += f" It is the active account; {status.account_count} accounts are signed in (list_accounts)."
            return SignInResult(username=status.username, granted_scopes=granted, message=message)

        return await run_tool(ctx, body)

    @local_tool(
        server,
        settings,
        name="sign_out",
        title="Sign out",
        description=(
            "Sign out: remove one account (default: the active one) and its tokens from this computer's token "
            "cache; other accounts stay signed in."
        ),
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    async def sign_out(
        ctx: Context,
        account: Annotated[
            str | None, Field(description="username or home account id of the account to sign out; default the active one")
        ] = None,
    ) -> SignOutResult:
        async def body() -> SignOutResult:
            tokens = state_of(ctx).tokens
            removed = await tokens.sign_out(account.strip() if account and account.strip() else None)
            if removed:
                left = await tokens.list_accounts()
                rest = f" Still signed in: {', '.join(a.username for a in left)}." if left else ""
                return SignOutResult(signed_out=True, usernames=removed, message=f"Signed out {', '.join(removed)}.{rest}")
            return SignOutResult(signed_out=False, usernames=[], message="Nobody was signed in.")

        return await run_tool(ctx, body)

    @local_tool(
        server,
        settings,
        name="auth_status",
        title="Sign-in status",
        description="Show who is signed in, the authority, the sign-in mode, where the token cache is and whether it is encrypted, and the scopes granted so far (never a token).",
        annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False),
    )
    async def auth_status(ctx: Context) -> AuthStatusResult:
        async def body() -> AuthStatusResult:
            state = state_of(ctx)
            status = await state.tokens.status()
            return AuthStatusResult(
                signed_in=status.signed_in,
                username=status.username,
                authority=status.authority,
                graph_url=state.settings.graph_url,
                auth_mode=status.auth_mode,
                effective_auth_mode=status.effective_auth_mode,
                cache=CacheStatus(
                    backend=status.cache_backend,
                    location=status.cache_location,
                    path=status.cache_path,
                    encrypted=status.cache_encrypted,
                    problem=status.cache_problem,
                    notice=status.cache_notice,
                ),
                granted_scopes=status.granted_scopes,
                account_kind=status.account_kind,
                tenant_id=status.tenant_id,
                accounts_remembered=status.account_count,
                sign_in_pending_at=status.pending_sign_in.verification_uri if status.pending_sign_in else None,
            )

        return await run_tool(ctx, body)

    def _info(summary: Any, resource: str) -> AccountInfo:
        return AccountInfo(
            username=summary.username,
            home_account_id=summary.home_account_id,
            tenant_id=summary.tenant_id,
            kind=summary.kind,
            active=summary.active,
            granted_scopes=summary.granted_scopes.get(resource, []),
        )

    @local_tool(
        server,
        settings,
        name="list_accounts",
        title="List accounts",
        description="List the Microsoft accounts signed in on this computer, which one is active, and each one's tenant and kind (work or personal). No network call.",
        annotations=ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False),
    )
    async def list_accounts(ctx: Context) -> AccountList:
        async def body() -> AccountList:
            state = state_of(ctx)
            accounts = [_info(a, state.settings.graph_resource) for a in await state.tokens.list_accounts()]
            active = next((a.username for a in accounts if a.active), None)
            if not accounts:
                message = "Nobody is signed in. Call sign_in."
            else:
                message = f"{len(accounts)} account(s); active: {active}. Use switch_account to change it."
            return AccountList(accounts=accounts, active=active, message=message)

        return await run_tool(ctx, body)

    @local_tool(
        server,
        settings,
        name="switch_account",
        title="Switch account",
        description="Make another signed-in account (username or home account id, see list_accounts) the active one for the next calls, without signing in again.",
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=False),
    )
    async def switch_account(
        ctx: Context,
        account: Annotated[str, Field(description="username (e.g. adele@contoso.com) or home account id")],
    ) -> SwitchResult:
        async def body() -> SwitchResult:
            state = state_of(ctx)
            summary = await state.tokens.switch_account(account)
            info = _info(summary, state.settings.graph_resource)
            try:  # silently: from the cache (or a refresh), never a sign-in
                await state.tokens.get_token(state.settings.graph_resource, info.granted_scopes or list(USER_READ), interactive=False)
            except AuthError as exc:
                return SwitchResult(account=info, ready=False, message=f"Switched to {info.username}, but {exc}")
            return SwitchResult(account=info, ready=True, message=f"Switched to {info.username} ({info.kind}).")

        return await run_tool(ctx, body)
