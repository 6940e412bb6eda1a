"""Account tools: whoami, sign_in, sign_out, auth_status."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp_types import InputRequiredResult, ToolAnnotations
from pydantic import BaseModel, Field

from ._common import graph_tool
from ._icons import area_icons
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

    @server.tool(
        name="sign_in",
        title="Sign in",
        description=(
            "Sign in to Microsoft 365 now, or consent to more Graph permissions (scopes such as "
            '"Mail.Read"); use force=true to sign in as a different account.'
        ),
        icons=area_icons("account"),
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True),
    )
    async def sign_in(
        ctx: Context,
        scopes: Annotated[
            list[str] | None,
            Field(description='Delegated Microsoft Graph scopes to consent to, e.g. ["Mail.Read"]; default ["User.Read"]'),
        ] = None,
        force: Annotated[bool, Field(description="ignore the cached sign-in and ask again (switch account)")] = False,
    ) -> SignInResult | InputRequiredResult:
        state = state_of(ctx)
        wanted = [s.strip() for s in (scopes or list(USER_READ)) if s and s.strip()] or list(USER_READ)

        async def body() -> SignInResult:
            await state.tokens.sign_in(state.settings.graph_resource, wanted, force=force)
            status = await state.tokens.status()
            granted = status.granted_scopes.get(state.settings.graph_resource, [])
            return SignInResult(
                username=status.username,
                granted_scopes=granted,
                message=f"Signed in as {status.username}." if status.username else "Signed in.",
            )

        return await run_tool(ctx, body)

    @server.tool(
        name="sign_out",
        title="Sign out",
        description="Sign out: remove the signed-in account and its tokens from this computer's token cache.",
        icons=area_icons("account"),
        annotations=ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=False),
    )
    async def sign_out(ctx: Context) -> SignOutResult:
        async def body() -> SignOutResult:
            removed = await state_of(ctx).tokens.sign_out()
            if removed:
                return SignOutResult(signed_out=True, usernames=removed, message=f"Signed out {', '.join(removed)}.")
            return SignOutResult(signed_out=False, usernames=[], message="Nobody was signed in.")

        return await run_tool(ctx, body)

    @server.tool(
        name="auth_status",
        title="Sign-in status",
        description="Show who is signed in, the authority, the sign-in mode, where the token cache is and whether it is encrypted, and the scopes granted so far (never a token).",
        icons=area_icons("account"),
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
                sign_in_pending_at=status.pending_sign_in.verification_uri if status.pending_sign_in else None,
            )

        return await run_tool(ctx, body)
