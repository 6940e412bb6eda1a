"""Teams and channels: the teams you belong to, their channels, channel posts, and posting (confirmed first).

Graph docs (microsoft-graph-docs-contrib, api-reference/v1.0/api/):
- user-list-joinedteams.md: GET /me/joinedTeams (Team.ReadBasic.All), no query parameters; id, displayName
  and description only.
- team-get.md: GET /teams/{id} (Team.ReadBasic.All), to name the team in the confirmation question.
- channel-list.md / channel-get.md: GET /teams/{id}/channels[/{id}] (Channel.ReadBasic.All); `$select`, no `$top`.
- channel-list-messages.md: GET /teams/{id}/channels/{id}/messages, delegated ChannelMessage.Read.All only,
  which needs an administrator's consent; `$top` at most 50; top-level posts without their replies.
- channel-post-messages.md: POST /teams/{id}/channels/{id}/messages (ChannelMessage.Send); only `body` is required.
"""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp_types import InputRequiredResult
from pydantic import BaseModel, Field

from ...errors import GraphError, SignInFailedError
from .. import consent
from .._common import CURSOR_FIELD, DEFAULT_LIMIT, LIMIT_FIELD, ConfirmOnce, PageInfo, clamp_limit, fetch_page, graph_tool, path_id
from .._runtime import run_tool, state_of
from .models import (
    CHANNEL_ID_FIELD,
    CHANNEL_MESSAGES_READ,
    CHANNEL_SEND,
    CHANNELS_READ,
    CONFIRM_FIELD,
    TEAM_ID_FIELD,
    TEAMS_READ,
    TEXT_FIELD,
    SentTeamsMessage,
    TeamsMessage,
    message_of,
    offset_page,
    preview,
)

SEND_SCOPES = CHANNEL_SEND + TEAMS_READ + CHANNELS_READ  # team and channel are read to name them in the question
MAX_PAGES = 20  # joinedTeams and channels come whole; a next link is followed at most this often


class Team(BaseModel):
    id: str
    name: str
    description: str | None = None


class TeamList(BaseModel):
    teams: list[Team]
    page: PageInfo


class Channel(BaseModel):
    id: str
    name: str
    description: str | None = None
    membership: str | None = Field(default=None, description="standard, private or shared")
    web_url: str | None = None


class ChannelList(BaseModel):
    team_id: str
    channels: list[Channel]
    page: PageInfo


class ChannelMessages(BaseModel):
    team_id: str
    channel_id: str
    messages: list[TeamsMessage] = Field(description="top-level posts, newest first, without replies")
    page: PageInfo


def admin_consent_note(settings: Any, said: str = "") -> str:
    """What to do when ChannelMessage.Read.All is missing: only an administrator can grant it (the link once)."""
    from ...auth.msal_errors import admin_consent_url

    scope = f"{settings.graph_resource}/{CHANNEL_MESSAGES_READ[0]}"
    link = admin_consent_url(str(getattr(settings, "authority", "") or ""), str(getattr(settings, "client_id", "") or ""), scopes=[scope])
    return (
        f" Reading channel messages needs {CHANNEL_MESSAGES_READ[0]}, which needs admin consent: a user cannot grant it. "
        "Ask a Microsoft 365 administrator of your organisation to consent for this app"
        + ("." if link in said else f": {link}")
    )


async def whole_list(graph: Any, path: str, scopes: tuple[str, ...], params: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Every item of a collection Graph sends without `$top` (following a next link if one comes)."""
    response = await graph.request("GET", path, scopes=scopes, params=params)
    items: list[dict[str, Any]] = []
    for _ in range(MAX_PAGES):
        body = response.body if isinstance(response.body, dict) else {}
        items += [i for i in body.get("value") or () if isinstance(i, dict)]
        link = body.get("@odata.nextLink")
        if not isinstance(link, str) or not link.startswith(graph.settings.graph_url):
            break
        response = await graph.request("GET", link, scopes=scopes)
    return items


def _team_path(team_id: str) -> str:
    return f"/teams/{path_id(team_id, field='team_id')}"


def _channel_path(team_id: str, channel_id: str) -> str:
    return f"{_team_path(team_id)}/channels/{path_id(channel_id, field='channel_id')}"


def channel_of(item: dict[str, Any]) -> Channel:
    return Channel(id=str(item.get("id", "")), name=str(item.get("displayName") or ""), description=item.get("description") or None,
                   membership=item.get("membershipType"), web_url=item.get("webUrl"))


def register(server: MCPServer[Any], settings: Any) -> None:
    @graph_tool(
        server,
        settings,
        name="list_teams",
        title="List my Teams teams",
        description="List the Microsoft Teams teams you are a member of (id, name, description); pass a team's id to list_channels.",
        area="teams",
        scopes=TEAMS_READ,
    )
    async def list_teams(
        ctx: Context,
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
    ) -> TeamList | InputRequiredResult:
        state = state_of(ctx)

        async def body() -> TeamList:
            items = await whole_list(state.graph, "/me/joinedTeams", TEAMS_READ)
            page, info = offset_page(items, "/me/joinedTeams", cursor=cursor, limit=clamp_limit(limit))
            teams = [Team(id=str(t.get("id", "")), name=str(t.get("displayName") or ""), description=t.get("description") or None) for t in page]
            return TeamList(teams=teams, page=info)

        return await run_tool(ctx, body, consent_scopes=TEAMS_READ)

    @graph_tool(
        server,
        settings,
        name="list_channels",
        title="List a team's channels",
        description="List the channels of a Microsoft Teams team (team id from list_teams): id, name, description, standard/private/shared.",
        area="teams",
        scopes=CHANNELS_READ,
    )
    async def list_channels(
        ctx: Context,
        team_id: Annotated[str, TEAM_ID_FIELD],
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
    ) -> ChannelList | InputRequiredResult:
        state = state_of(ctx)
        path = _team_path(team_id) + "/channels"

        async def body() -> ChannelList:
            select = {"$select": "id,displayName,description,membershipType,webUrl"}
            items = await whole_list(state.graph, path, CHANNELS_READ, select)
            page, info = offset_page(items, path, cursor=cursor, limit=clamp_limit(limit))
            return ChannelList(team_id=team_id.strip(), channels=[channel_of(c) for c in page], page=info)

        return await run_tool(ctx, body, consent_scopes=CHANNELS_READ)

    @graph_tool(
        server,
        settings,
        name="list_channel_messages",
        title="Read a Teams channel",
        description=(
            "Read the posts of a Microsoft Teams channel (ids from list_teams and list_channels), newest first, as plain "
            "text with mentions as @Name; needs ChannelMessage.Read.All, which an administrator must consent to."
        ),
        area="teams",
        scopes=CHANNEL_MESSAGES_READ,
    )
    async def list_channel_messages(
        ctx: Context,
        team_id: Annotated[str, TEAM_ID_FIELD],
        channel_id: Annotated[str, CHANNEL_ID_FIELD],
        limit: Annotated[int, LIMIT_FIELD] = DEFAULT_LIMIT,
        cursor: Annotated[str | None, CURSOR_FIELD] = None,
    ) -> ChannelMessages | InputRequiredResult:
        state = state_of(ctx)
        path = _channel_path(team_id, channel_id) + "/messages"

        async def body() -> ChannelMessages:
            try:
                items, page = await fetch_page(state.graph, path, scopes=CHANNEL_MESSAGES_READ, params={}, cursor=cursor, limit=clamp_limit(limit))
            except GraphError as exc:
                if exc.status != 403:
                    raise
                raise GraphError(str(exc) + admin_consent_note(state.settings, str(exc)), status=exc.status, code=exc.code,
                                 request_id=exc.request_id) from exc
            except SignInFailedError as exc:
                raise SignInFailedError(str(exc) + admin_consent_note(state.settings, str(exc)), error=exc.error, codes=exc.codes) from exc
            return ChannelMessages(team_id=team_id.strip(), channel_id=channel_id.strip(), messages=[message_of(i) for i in items], page=page)

        return await run_tool(ctx, body, consent_scopes=CHANNEL_MESSAGES_READ)

    @graph_tool(
        server,
        settings,
        name="send_channel_message",
        title="Post in a Teams channel",
        description=(
            "Post a plain-text message (optionally with a subject) in a Microsoft Teams channel, seen by everyone in "
            "it; the user sees the team and channel and confirms first unless confirm=true (only after the user agreed)."
        ),
        area="teams",
        scopes=SEND_SCOPES,
        write=True,
        destructive=True,  # it reaches other people and cannot be taken back here
        idempotent=False,
    )
    async def send_channel_message(
        ctx: Context,
        team_id: Annotated[str, TEAM_ID_FIELD],
        channel_id: Annotated[str, CHANNEL_ID_FIELD],
        text: Annotated[str, TEXT_FIELD],
        subject: Annotated[str | None, Field(description="a subject line for the post")] = None,
        confirm: Annotated[bool, CONFIRM_FIELD] = False,
    ) -> SentTeamsMessage | InputRequiredResult:
        state = state_of(ctx)
        if not text.strip():
            raise ToolError("`text` must not be empty.")
        channel_path = _channel_path(team_id, channel_id)
        gate = ConfirmOnce(ctx, confirmed=confirm)

        async def run() -> SentTeamsMessage | InputRequiredResult:
            await state.tokens.get_token(state.settings.graph_resource, SEND_SCOPES)  # sign in before asking
            team = await state.graph.get_json(_team_path(team_id), scopes=TEAMS_READ, params={"$select": "id,displayName"})
            channel = channel_of(await state.graph.get_json(channel_path, scopes=CHANNELS_READ,
                                                            params={"$select": "id,displayName,membershipType,webUrl"}))
            where = f"{team.get('displayName') or team_id} > {channel.name}"
            details = {"Team": str(team.get("displayName") or team_id), "Channel": f"{channel.name} ({channel.membership or 'standard'}: "
                       "everyone in the channel sees it)", "Size": consent.size_text(len(text.encode("utf-8")))}
            if subject and subject.strip():
                details["Subject"] = subject.strip()
            if (asked := await gate.ask(f"Post in the Teams channel {where}: \"{preview(text)}\"", details)) is not None:
                return asked
            payload: dict[str, Any] = {"body": {"contentType": "text", "content": text}}
            if subject and subject.strip():
                payload["subject"] = subject.strip()
            response = await state.graph.request("POST", channel_path + "/messages", scopes=CHANNEL_SEND, json_body=payload, may_duplicate=True)
            made = response.body if isinstance(response.body, dict) else {}
            return SentTeamsMessage(sent=True, id=str(made.get("id", "")), to=where, web_url=made.get("webUrl"),
                                    message=f"Posted the message in {where}.")

        return await run_tool(ctx, run, consent_scopes=SEND_SCOPES)
